"""Tests of the lineage package."""
