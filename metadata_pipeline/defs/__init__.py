"""The Dagster layer: assets, resources, checks, jobs, sensors and schedules over the core."""
