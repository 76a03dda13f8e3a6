"""Sensors and schedules, evaluated against a real (temporary) Dagster instance and real catalogs.

The jobs and the `catalog` resource are stand-ins with the real names and partitions: the sensors
reference jobs by name and the resource by key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Engine, select

from metadata_pipeline.catalog import Tenant, add_repository, cached_engine, session_scope
from metadata_pipeline.catalog.models import WebhookEvent
from metadata_pipeline.defs import automation
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
from metadata_pipeline_tests.conftest import GitRemote
from metadata_pipeline_tests.webhooks.helpers import (
    METADATA_URL,
    PIPELINE_MESSAGE,
    commit,
    deliver,
    github_push,
    register_repositories,
)


class StandInCatalog(dg.ConfigurableResource):
    """The one method the sensors use of the code location's `catalog` resource."""

    catalog_url: str

    def engine(self) -> Engine:
        return cached_engine(self.catalog_url)


@dg.op
def _noop() -> None:
    return None


@dg.job(name=EXTRACT_JOB, partitions_def=repository_partitions)
def _extract_job() -> None:
    _noop()


@dg.job(name=PULL_JOB)
def _pull_job() -> None:
    _noop()


@dg.job(name=FULL_REFRESH_JOB)
def _full_refresh_job() -> None:
    _noop()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as temp_instance:
        yield temp_instance


@pytest.fixture
def defs(catalog_url: str) -> dg.Definitions:
    stand_ins = dg.Definitions(
        jobs=[_extract_job, _pull_job, _full_refresh_job],
        resources={"catalog": StandInCatalog(catalog_url=catalog_url)},
    )
    return dg.Definitions.merge(automation.defs, stand_ins)


def _tick(
    sensor: dg.SensorDefinition, instance: dg.DagsterInstance, defs: dg.Definitions, cursor: str | None
) -> dg.SensorResult:
    def context() -> dg.SensorEvaluationContext:
        # As the code server builds it: the definitions' resources, the repository to resolve jobs
        # in, and an instance reference so partition keys can be checked against the instance.
        return dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            cursor=cursor,
            definitions=defs,
            resources=defs.resources,
        )

    with context() as first:
        result = sensor(first)
    assert isinstance(result, dg.SensorResult)
    with context() as second:  # what the daemon does: the requests must resolve against the job
        sensor.evaluate_tick(second)
    return result


def test_definitions_load_and_everything_starts_stopped(defs: dg.Definitions) -> None:
    dg.Definitions.validate_loadable(defs)
    assert {s.name for s in automation.sensors} == {
        "webhook_sensor",
        "metadata_repo_webhook_sensor",
        "poll_sensor",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.STOPPED for s in automation.sensors)
    assert {s.name for s in automation.schedules} == {"hourly_sync_schedule", "nightly_full_refresh_schedule"}
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in automation.schedules)


def test_webhook_sensor_requests_one_extraction_per_delivery(
    catalog_engine: Engine, tenant: Tenant, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    register_repositories(catalog_engine, tenant)
    deliver(catalog_engine, github_push(after="1" * 40), "d-1")
    deliver(catalog_engine, github_push(commits=[commit(message=PIPELINE_MESSAGE)]), "d-ours")
    deliver(catalog_engine, github_push(ref="refs/heads/feature"), "d-feature")
    deliver(catalog_engine, github_push(after="2" * 40), "d-2")

    result = _tick(automation.webhook_sensor, instance, defs, cursor=None)
    assert [r.run_key for r in result.run_requests] == ["d-1", "d-2"]
    first = result.run_requests[0]
    assert (first.job_name, first.partition_key) == (EXTRACT_JOB, "shop")
    assert first.tags == {TRIGGER_TAG: "webhook", REPOSITORY_TAG: "shop", DELIVERY_TAG: "d-1"}
    assert result.dynamic_partitions_requests == [repository_partitions.build_add_request(["shop"])]
    assert result.cursor == "4"
    with session_scope(catalog_engine) as session:
        statuses = {
            r.delivery_id: r.status
            for r in session.execute(select(WebhookEvent.delivery_id, WebhookEvent.status))
        }
    assert statuses == {"d-1": "dispatched", "d-ours": "skipped", "d-feature": "skipped", "d-2": "dispatched"}

    assert _tick(automation.webhook_sensor, instance, defs, cursor="4").run_requests == []
    # A reset cursor re-reads everything, with the same run keys: Dagster launches nothing twice.
    again = _tick(automation.webhook_sensor, instance, defs, cursor=None)
    assert [r.run_key for r in again.run_requests] == ["d-1", "d-2"]


def test_webhook_sensor_reads_in_batches(
    catalog_engine: Engine,
    tenant: Tenant,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register_repositories(catalog_engine, tenant)
    for i in range(5):
        deliver(catalog_engine, github_push(), f"d-{i}")
    monkeypatch.setattr(automation, "WEBHOOK_BATCH_SIZE", 2)
    cursor, keys = None, []
    for _ in range(3):
        result = _tick(automation.webhook_sensor, instance, defs, cursor)
        cursor, keys = result.cursor, keys + [r.run_key for r in result.run_requests]
    assert keys == [f"d-{i}" for i in range(5)] and cursor == "5"


def test_metadata_repository_push_requests_a_pull_but_not_for_the_pipelines_own(
    catalog_engine: Engine, tenant: Tenant, instance: dg.DagsterInstance, defs: dg.Definitions
) -> None:
    register_repositories(catalog_engine, tenant)
    human = github_push(
        clone_url=METADATA_URL, full_name="acme/metadata", commits=[commit(message="Describe orders")]
    )
    ours = github_push(
        clone_url=METADATA_URL, full_name="acme/metadata", commits=[commit(message=PIPELINE_MESSAGE)]
    )
    deliver(catalog_engine, human, "m-human")
    deliver(catalog_engine, ours, "m-ours")

    result = _tick(automation.metadata_repo_webhook_sensor, instance, defs, cursor=None)
    [request] = result.run_requests
    assert (request.run_key, request.job_name, request.partition_key) == ("m-human", PULL_JOB, None)
    assert request.tags == {TRIGGER_TAG: "webhook", WORKSPACE_TAG: "main", DELIVERY_TAG: "m-human"}
    assert result.cursor == "2"
    # The extraction sensor sees the same deliveries and requests nothing for them.
    assert _tick(automation.webhook_sensor, instance, defs, cursor=None).run_requests == []


def test_poll_sensor_fires_for_a_moved_head_and_never_twice_for_the_same_one(
    catalog_engine: Engine,
    tenant: Tenant,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    git_remote: GitRemote,
) -> None:
    first = git_remote.commit_files({"models/a.sql": "select 1"})
    with session_scope(catalog_engine) as session:
        add_repository(session, tenant, "shop", git_remote.url, branch="main")

    initial = _tick(automation.poll_sensor, instance, defs, cursor=None)
    [request] = initial.run_requests
    assert (request.run_key, request.job_name, request.partition_key) == (
        f"poll:shop:{first}",
        EXTRACT_JOB,
        "shop",
    )
    assert request.tags == {TRIGGER_TAG: "poll", REPOSITORY_TAG: "shop"}
    assert initial.dynamic_partitions_requests == [repository_partitions.build_add_request(["shop"])]

    quiet = _tick(automation.poll_sensor, instance, defs, cursor=initial.cursor)
    assert quiet.run_requests == [] and quiet.cursor == initial.cursor

    second = git_remote.commit_files({"models/a.sql": "select 2"})
    moved = _tick(automation.poll_sensor, instance, defs, cursor=initial.cursor)
    assert [r.run_key for r in moved.run_requests] == [f"poll:shop:{second}"]
    assert _tick(automation.poll_sensor, instance, defs, cursor=moved.cursor).run_requests == []
    # Even from a reset cursor the run key is the same, so the daemon would not launch it again.
    assert [r.run_key for r in _tick(automation.poll_sensor, instance, defs, None).run_requests] == [
        f"poll:shop:{second}"
    ]


def test_poll_sensor_leaves_webhook_announced_heads_to_the_webhook_sensor(
    catalog_engine: Engine,
    tenant: Tenant,
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    git_remote: GitRemote,
) -> None:
    head = git_remote.commit_files({"a.sql": "select 1"})
    with session_scope(catalog_engine) as session:
        add_repository(session, tenant, "shop", git_remote.url, branch="main")
    deliver(catalog_engine, github_push(clone_url=git_remote.url, full_name="local/shop", after=head))
    result = _tick(automation.poll_sensor, instance, defs, cursor=None)
    assert result.run_requests == [] and head in (result.cursor or "")


def test_hourly_schedule_requests_each_active_repository(
    catalog_engine: Engine, tenant: Tenant, instance: dg.DagsterInstance, catalog_url: str
) -> None:
    register_repositories(catalog_engine, tenant)
    [hourly, nightly] = automation.schedules
    tick = datetime(2025, 1, 1, 3, tzinfo=UTC)
    with dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=tick,
        resources={"catalog": StandInCatalog(catalog_url=catalog_url)},
    ) as context:
        requests = hourly(context)
    assert [(r.partition_key, r.run_key) for r in requests] == [
        ("lake", f"schedule:lake:{tick.isoformat()}"),
        ("shop", f"schedule:shop:{tick.isoformat()}"),
    ]
    assert requests[0].tags == {TRIGGER_TAG: "schedule", REPOSITORY_TAG: "lake"}
    assert set(instance.get_dynamic_partitions(repository_partitions.name)) == {"lake", "shop"}
    assert (hourly.job_name, nightly.job_name) == (EXTRACT_JOB, FULL_REFRESH_JOB)


def test_cron_strings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [s.cron_schedule for s in automation.build_schedules()] == ["0 * * * *", "0 2 * * *"]
    monkeypatch.setenv(automation.SYNC_CRON_ENV, "*/15 * * * *")
    monkeypatch.setenv(automation.FULL_REFRESH_CRON_ENV, "30 1 * * 0")
    assert [s.cron_schedule for s in automation.build_schedules()] == ["*/15 * * * *", "30 1 * * 0"]
