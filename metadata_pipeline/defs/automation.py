"""Sensors and schedules that start pipeline runs: webhook deliveries, branch-head polling, cron.

A thin skin over `metadata_pipeline.webhooks`: the sensors read plain data from the catalog and
turn it into run requests. Jobs are referenced by name (see `names.py`); the catalog comes from the
`catalog` resource. Everything starts STOPPED, Dagster's convention: an operator turns it on.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from typing import Protocol

import dagster as dg
from sqlalchemy import Engine

from metadata_pipeline.catalog import session_scope
from metadata_pipeline.defs.names import (
    DELIVERY_TAG,
    EXTRACT_JOB,
    FULL_REFRESH_JOB,
    PULL_JOB,
    REPOSITORY_TAG,
    TRIGGER_TAG,
    WORKSPACE_TAG,
    repository_partitions,
)
from metadata_pipeline.webhooks import (
    DISPATCHED,
    SKIPPED,
    Action,
    HeadChange,
    StoredEvent,
    mark_events,
    new_events,
    plan_event,
    poll_heads,
    poll_targets,
)

SYNC_CRON_ENV = "METADATA_PIPELINE_SYNC_CRON"
DEFAULT_SYNC_CRON = "0 * * * *"
FULL_REFRESH_CRON_ENV = "METADATA_PIPELINE_FULL_REFRESH_CRON"
DEFAULT_FULL_REFRESH_CRON = "0 2 * * *"
WEBHOOK_SENSOR_INTERVAL_SECONDS = 30
POLL_SENSOR_INTERVAL_SECONDS = 300
# Deliveries read per tick: bounds one evaluation's time; the next tick continues from the cursor.
WEBHOOK_BATCH_SIZE = 200


class _Catalog(Protocol):
    """What these sensors need of the `catalog` resource (defs/resources.CatalogResource).

    Typed structurally, so this module does not import the resource and, through it, the pipeline.
    """

    def engine(self) -> Engine: ...


# Dagster injects the resource whose key matches the parameter name (`catalog`).
Catalog = dg.ResourceParam[_Catalog]


# -- helpers ---------------------------------------------------------------------------------------


def _sequence_cursor(cursor: str | None) -> int:
    return int(cursor) if cursor and cursor.isdigit() else 0


def _heads_cursor(cursor: str | None) -> dict[str, str]:
    try:
        value = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _new_partitions(instance: dg.DagsterInstance, keys: Iterable[str]) -> list[str]:
    """Repository partitions not registered yet: a run request may only name an existing one."""
    return sorted({k for k in keys if not instance.has_dynamic_partition(repository_partitions.name, k)})


def _partition_requests(
    instance: dg.DagsterInstance, keys: Iterable[str]
) -> list[dg.AddDynamicPartitionsRequest]:
    new = _new_partitions(instance, keys)
    return [repository_partitions.build_add_request(new)] if new else []


def _extract_request(event: StoredEvent, action: Action) -> dg.RunRequest:
    assert action.repository is not None
    return dg.RunRequest(
        run_key=event.delivery_id,
        job_name=EXTRACT_JOB,
        partition_key=action.repository,
        tags={TRIGGER_TAG: "webhook", REPOSITORY_TAG: action.repository, DELIVERY_TAG: event.delivery_id},
    )


def _pull_request(event: StoredEvent, action: Action) -> dg.RunRequest:
    assert action.workspace is not None
    return dg.RunRequest(
        run_key=event.delivery_id,
        job_name=PULL_JOB,
        tags={TRIGGER_TAG: "webhook", WORKSPACE_TAG: action.workspace, DELIVERY_TAG: event.delivery_id},
    )


def _poll_request(change: HeadChange) -> dg.RunRequest:
    return dg.RunRequest(
        # Stable per head: a cursor reset or a re-evaluation never launches a second run for it.
        run_key=f"poll:{change.connection}:{change.new_sha}",
        job_name=EXTRACT_JOB,
        partition_key=change.connection,
        tags={TRIGGER_TAG: "poll", REPOSITORY_TAG: change.connection},
    )


def _statuses(planned: list[tuple[StoredEvent, Action]], kind: str) -> dict[uuid.UUID, str]:
    """What a sensor records on the deliveries: its own dispatches, and (extract sensor only, so
    they are written once) the skips."""
    statuses = {event.event_id: DISPATCHED for event, action in planned if action.kind == kind}
    if kind == "extract":
        statuses |= {event.event_id: SKIPPED for event, action in planned if action.kind == "skip"}
    return statuses


def _webhook_tick(context: dg.SensorEvaluationContext, catalog: _Catalog, kind: str) -> dg.SensorResult:
    """Plan the deliveries past the cursor and request runs for those of `kind` (extract or pull).

    Run keys are delivery ids, so re-reading deliveries after a cursor reset launches nothing twice.
    """
    with session_scope(catalog.engine()) as session:
        events = new_events(session, _sequence_cursor(context.cursor), limit=WEBHOOK_BATCH_SIZE)
        planned = [(event, plan_event(event)) for event in events]
        mark_events(session, _statuses(planned, kind))
    if not events:
        return dg.SensorResult(skip_reason="no new webhook deliveries", cursor=context.cursor)
    cursor = str(events[-1].sequence)
    mine = [(event, action) for event, action in planned if action.kind == kind]
    if kind == "extract":
        for event, action in planned:
            if action.kind == "skip":
                context.log.info(
                    f"delivery {event.delivery_id} ({event.repository}) skipped: {action.reason}"
                )
        requests = [_extract_request(event, action) for event, action in mine]
        partitions = _partition_requests(
            context.instance, [r.partition_key for r in requests if r.partition_key]
        )
    else:
        requests, partitions = [_pull_request(event, action) for event, action in mine], []
    if not requests:
        return dg.SensorResult(skip_reason=f"{len(events)} deliveries, none to {kind}", cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor, dynamic_partitions_requests=partitions)


# -- sensors ---------------------------------------------------------------------------------------


@dg.sensor(
    name="webhook_sensor",
    job_name=EXTRACT_JOB,
    minimum_interval_seconds=WEBHOOK_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Extract a dbt repository when a stored push webhook says its followed branch moved.",
)
def webhook_sensor(context: dg.SensorEvaluationContext, catalog: Catalog) -> dg.SensorResult:
    return _webhook_tick(context, catalog, "extract")


@dg.sensor(
    name="metadata_repo_webhook_sensor",
    job_name=PULL_JOB,
    minimum_interval_seconds=WEBHOOK_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Pull a workspace's metadata YAML when a stored push webhook says its branch moved.",
)
def metadata_repo_webhook_sensor(context: dg.SensorEvaluationContext, catalog: Catalog) -> dg.SensorResult:
    # A separate sensor because a sensor naming jobs by name can target only one of them.
    return _webhook_tick(context, catalog, "pull")


@dg.sensor(
    name="poll_sensor",
    job_name=EXTRACT_JOB,
    minimum_interval_seconds=POLL_SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Poll each repository's branch head with git ls-remote; extract when it moved.",
)
def poll_sensor(context: dg.SensorEvaluationContext, catalog: Catalog) -> dg.SensorResult:
    known = _heads_cursor(context.cursor)
    with session_scope(catalog.engine()) as session:
        changes = poll_heads(session, known=known)
    cursor = json.dumps({**known, **{str(c.connection_id): c.new_sha for c in changes}}, sort_keys=True)
    # Heads a webhook delivery already announced are left to webhook_sensor, only remembered here.
    fresh = [c for c in changes if not c.covered_by_webhook]
    if not fresh:
        return dg.SensorResult(skip_reason="no branch head moved", cursor=cursor)
    return dg.SensorResult(
        run_requests=[_poll_request(c) for c in fresh],
        cursor=cursor,
        dynamic_partitions_requests=_partition_requests(context.instance, [c.connection for c in fresh]),
    )


# -- schedules -------------------------------------------------------------------------------------


def _hourly_sync(
    context: dg.ScheduleEvaluationContext, catalog: Catalog
) -> Sequence[dg.RunRequest] | dg.SkipReason:
    """One incremental extraction per active repository."""
    with session_scope(catalog.engine()) as session:
        names = [t.name for t in poll_targets(session)]
    if not names:
        return dg.SkipReason("no active repositories")
    # Schedules cannot return partition requests the way sensors do: register missing ones directly.
    new = _new_partitions(context.instance, names)
    if new:
        context.instance.add_dynamic_partitions(repository_partitions.name, new)
    tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
    return [
        dg.RunRequest(
            run_key=f"schedule:{name}:{tick}",
            partition_key=name,
            tags={TRIGGER_TAG: "schedule", REPOSITORY_TAG: name},
        )
        for name in names
    ]


def build_schedules() -> list[dg.ScheduleDefinition]:
    """The schedules, with cron strings read from the environment when called."""
    hourly = dg.schedule(
        name="hourly_sync_schedule",
        cron_schedule=os.environ.get(SYNC_CRON_ENV) or DEFAULT_SYNC_CRON,
        job_name=EXTRACT_JOB,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Incremental extraction of every active repository.",
    )(_hourly_sync)
    nightly = dg.ScheduleDefinition(
        name="nightly_full_refresh_schedule",
        cron_schedule=os.environ.get(FULL_REFRESH_CRON_ENV) or DEFAULT_FULL_REFRESH_CRON,
        job_name=FULL_REFRESH_JOB,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        tags={TRIGGER_TAG: "schedule"},
        description="Full refresh of the whole catalog.",
    )
    return [hourly, nightly]


sensors: list[dg.SensorDefinition] = [webhook_sensor, metadata_repo_webhook_sensor, poll_sensor]
schedules: list[dg.ScheduleDefinition] = build_schedules()
defs = dg.Definitions(sensors=sensors, schedules=schedules)
