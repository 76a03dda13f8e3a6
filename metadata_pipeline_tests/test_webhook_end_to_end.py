"""Issue #7 acceptance: a push to a dbt repository reaches the catalog through the webhook path.

Start the receiver, push a commit to a local bare repository, send the webhook a real GitHub-style
payload signed with the secret, evaluate the sensor, execute the requested run in process, and see
the changed model in the catalog. Everything is real except the daemon: git, HTTP (uvicorn on
loopback), the catalog (SQLite and PostgreSQL), the Dagster instance and the code location's job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from metadata_pipeline import pipeline
from metadata_pipeline.catalog import Tenant, add_repository, session_scope
from metadata_pipeline.catalog.models import Column, Connection, Dataset, ExtractionJob, Lineage, WebhookEvent
from metadata_pipeline.defs.automation import webhook_sensor
from metadata_pipeline.defs.names import (
    DELIVERY_TAG,
    EXTRACT_JOB,
    REPOSITORY_TAG,
    TRIGGER_TAG,
    repository_partitions,
)
from metadata_pipeline.demo import bundled_example, copy_example
from metadata_pipeline.settings import Settings
from metadata_pipeline.webhooks import GLOBAL_SECRET_ENV, create_app, sign_github
from metadata_pipeline_tests.conftest import GitRemote, git
from metadata_pipeline_tests.webhooks.helpers import running_server

SECRET_ENV = "SHOP_WEBHOOK_SECRET"
SECRET = "e2e-shop-webhook-secret"
REPOSITORY = "shop"
FULL_NAME = "acme/shop"
MODEL_ID = "model.shop.fct_orders"
MODEL_SQL = "models/marts/fct_orders.sql"
MODEL_YML = "models/marts/_marts.yml"
OLD_DESCRIPTION = "Order fact table, built incrementally on updated_at."
NEW_DESCRIPTION = "One row per order, built incrementally on updated_at; flags large orders."
NEW_COLUMN = "is_large_order"
NEW_COLUMN_DESCRIPTION = "True when the captured amount is at least 100.00."
ANCHOR_SQL = "    coalesce(history.customer_order_number = 1, false) as is_first_order,\n"
NEW_SQL_LINE = f"    orders.paid_amount_cents >= 10000 as {NEW_COLUMN},\n"
ANCHOR_YML = (
    "      - name: is_first_order\n        description: True for the customer's first non-cancelled order.\n"
)
PIPELINE_TRAILER = "Metadata-Pipeline-Commit: true"


# -- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, catalog_url: str) -> Settings:
    """The code location's configuration, as under `dagster dev`; only the repository's own secret."""
    monkeypatch.setenv("METADATA_PIPELINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("METADATA_PIPELINE_CATALOG_URL", catalog_url)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.delenv(GLOBAL_SECRET_ENV, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the offline enricher: no network
    return Settings.from_env()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as temp_instance:
        yield temp_instance


@pytest.fixture
def receiver(catalog_engine: Engine, environment: Settings) -> Iterator[httpx.Client]:
    """The webhook receiver served by a real uvicorn on a free loopback port."""
    with running_server(create_app(catalog_engine)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            yield client


# -- git and GitHub -------------------------------------------------------------------------------


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"expected exactly one {old!r}"
    return text.replace(old, new)


def add_large_order_column(work: Path) -> None:
    """A developer's change to fct_orders: a new column and a new description, in the SQL, the
    properties YAML and the committed artifacts (as `dbt docs generate` leaves them)."""
    sql = work / MODEL_SQL
    sql.write_text(_replace_once(sql.read_text(), ANCHOR_SQL, ANCHOR_SQL + NEW_SQL_LINE))
    yml = work / MODEL_YML
    text = _replace_once(yml.read_text(), OLD_DESCRIPTION, NEW_DESCRIPTION)
    yml.write_text(
        _replace_once(
            text,
            ANCHOR_YML,
            ANCHOR_YML + f"      - name: {NEW_COLUMN}\n        description: {NEW_COLUMN_DESCRIPTION}\n",
        )
    )

    manifest_path = work / "target" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    node = manifest["nodes"][MODEL_ID]
    assert node["description"] == OLD_DESCRIPTION
    node["description"] = NEW_DESCRIPTION
    node["raw_code"] = _replace_once(node["raw_code"], ANCHOR_SQL, ANCHOR_SQL + NEW_SQL_LINE)
    node["compiled_code"] = _replace_once(node["compiled_code"], ANCHOR_SQL, ANCHOR_SQL + NEW_SQL_LINE)
    template = node["columns"]["is_first_order"]
    columns = {}
    for name, column in node["columns"].items():
        columns[name] = column
        if name == "is_first_order":
            columns[NEW_COLUMN] = {**template, "name": NEW_COLUMN, "description": NEW_COLUMN_DESCRIPTION}
    node["columns"] = columns
    manifest_path.write_text(json.dumps(manifest, indent=2))

    catalog_path = work / "target" / "catalog.json"
    catalog = json.loads(catalog_path.read_text())
    warehouse = catalog["nodes"][MODEL_ID]["columns"]
    position = warehouse["is_first_order"]["index"] + 1
    for column in warehouse.values():
        if column["index"] >= position:
            column["index"] += 1
    warehouse[NEW_COLUMN] = {"type": "BOOLEAN", "index": position, "name": NEW_COLUMN, "comment": None}
    catalog_path.write_text(json.dumps(catalog, indent=2))


def _commit_json(work: Path, sha: str, clone_url: str) -> dict[str, Any]:
    """A commit as GitHub lists it in a push payload, read from the repository."""
    fields = git("show", "-s", "--format=%T%x00%an%x00%ae%x00%cn%x00%ce%x00%cI%x00%B", sha, cwd=work)
    tree, author, author_email, committer, committer_email, timestamp, message = fields.split("\x00", 6)
    changes: dict[str, list[str]] = {"A": [], "M": [], "D": []}
    for line in git("diff-tree", "--no-commit-id", "--name-status", "-r", sha, cwd=work).splitlines():
        status, path = line.split("\t", 1)
        changes[status[0]].append(path)
    return {
        "id": sha,
        "tree_id": tree,
        "distinct": True,
        "message": message.strip(),
        "timestamp": timestamp,
        "url": f"{Path(clone_url).as_uri()}/commit/{sha}",
        "author": {"name": author, "email": author_email, "username": "test"},
        "committer": {"name": committer, "email": committer_email, "username": "test"},
        "added": changes["A"],
        "removed": changes["D"],
        "modified": changes["M"],
    }


def github_push_payload(remote: GitRemote, before: str, after: str) -> dict[str, Any]:
    """GitHub's `push` payload for `before..after` on the remote's branch, built from real git data.

    The repository URLs are the registered one (the bare repository's path) and its file:// URL,
    which the receiver's URL matching normalizes to the same key.
    """
    shas = git("rev-list", "--reverse", f"{before}..{after}", cwd=remote.work).split()
    clone_url = remote.url
    commits = [_commit_json(remote.work, sha, clone_url) for sha in shas]
    return {
        "ref": f"refs/heads/{remote.branch}",
        "before": before,
        "after": after,
        "base_ref": None,
        "created": False,
        "deleted": False,
        "forced": False,
        "compare": f"{remote.bare.as_uri()}/compare/{before[:12]}...{after[:12]}",
        "commits": commits,
        "head_commit": commits[-1],
        "repository": {
            "id": 7,
            "name": "shop",
            "full_name": FULL_NAME,
            "private": True,
            "owner": {"name": "acme", "login": "acme"},
            "html_url": remote.bare.as_uri(),
            "clone_url": clone_url,
            "default_branch": remote.branch,
            "master_branch": remote.branch,
        },
        "pusher": {"name": "test", "email": "test@example.com"},
        "sender": {"login": "test", "type": "User"},
    }


def post_push(client: httpx.Client, payload: dict[str, Any], delivery_id: str) -> httpx.Response:
    body = json.dumps(payload).encode()  # signed byte for byte as sent
    return client.post(
        "/webhooks/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/e2e",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Hook-ID": "7",
            "X-Hub-Signature-256": sign_github(body, SECRET),
        },
    )


# -- Dagster ---------------------------------------------------------------------------------------


def evaluate_webhook_sensor(
    instance: dg.DagsterInstance, defs: dg.Definitions, cursor: str | None
) -> dg.SensorResult:
    """One tick of webhook_sensor, with the context the code server builds for the daemon."""

    def context() -> dg.SensorEvaluationContext:
        return dg.build_sensor_context(
            instance=instance,
            instance_ref=instance.get_ref(),
            cursor=cursor,
            definitions=defs,
            resources=defs.resources,
        )

    with context() as ctx:
        result = webhook_sensor(ctx)
    assert isinstance(result, dg.SensorResult)
    with context() as ctx:  # the daemon's path: the requests must resolve against the real job
        webhook_sensor.evaluate_tick(ctx)
    return result


def runs_for_key(instance: dg.DagsterInstance, run_key: str) -> list[dg.DagsterRun]:
    """The runs the sensor daemon finds for a run key before launching (it skips when there is one)."""
    return instance.get_runs(
        filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: webhook_sensor.name})
    )


# -- catalog ---------------------------------------------------------------------------------------


def model_state(engine: Engine) -> tuple[str | None, dict[str, str | None]]:
    with session_scope(engine) as session:
        dataset = session.scalar(select(Dataset).where(Dataset.unique_id == MODEL_ID))
        assert dataset is not None
        columns = session.execute(
            select(Column.name, Column.description).where(Column.dataset_id == dataset.dataset_id)
        ).all()
        return dataset.description, {c.name: c.description for c in columns}


def upstream_of_new_column(engine: Engine) -> set[tuple[str, str]]:
    """(dataset, column) pairs feeding fct_orders.is_large_order directly."""
    up_dataset, up_column, down_column = aliased(Dataset), aliased(Column), aliased(Column)
    with session_scope(engine) as session:
        rows = session.execute(
            select(up_dataset.name, up_column.name)
            .select_from(Lineage)
            .join(down_column, down_column.column_id == Lineage.downstream_column_id)
            .join(Dataset, Dataset.dataset_id == Lineage.downstream_dataset_id)
            .join(up_column, up_column.column_id == Lineage.upstream_column_id)
            .join(up_dataset, up_dataset.dataset_id == Lineage.upstream_dataset_id)
            .where(
                Dataset.unique_id == MODEL_ID,
                down_column.name == NEW_COLUMN,
                Lineage.lineage_type == "direct",
            )
        ).all()
        return {(r[0], r[1]) for r in rows}


def delivery_statuses(engine: Engine) -> dict[str, str]:
    with session_scope(engine) as session:
        return dict(session.execute(select(WebhookEvent.delivery_id, WebhookEvent.status)).tuples().all())


# -- the test --------------------------------------------------------------------------------------


def test_signed_push_webhook_reaches_the_catalog_through_sensor_and_job(
    environment: Settings,
    catalog_engine: Engine,
    tenant: Tenant,
    git_remote: GitRemote,
    instance: dg.DagsterInstance,
    receiver: httpx.Client,
) -> None:
    from metadata_pipeline.definitions import build_definitions

    defs = build_definitions()

    # 1. The bundled example published to a bare repository, registered, extracted once.
    copy_example(bundled_example(), git_remote.work)
    first_sha = git_remote.commit_all("Publish the shop example")
    with session_scope(catalog_engine) as session:
        add_repository(
            session, tenant, REPOSITORY, git_remote.url, provider="github", webhook_secret_env=SECRET_ENV
        )
    [initial] = pipeline.run_repositories(environment, catalog_engine, [REPOSITORY], trigger="manual")
    assert initial.status in ("success", "partial"), initial.summary()
    description, columns = model_state(catalog_engine)
    assert description == OLD_DESCRIPTION and NEW_COLUMN not in columns

    # 2. A developer's change, committed and pushed with real git.
    add_large_order_column(git_remote.work)
    change_sha = git_remote.commit_all("Flag large orders in fct_orders")
    assert git("rev-parse", git_remote.branch, cwd=git_remote.bare) == change_sha

    # 3. GitHub's delivery of that push, signed with the repository's secret, over real HTTP.
    payload = github_push_payload(git_remote, first_sha, change_sha)
    assert sorted(payload["head_commit"]["modified"]) == sorted(
        [MODEL_YML, MODEL_SQL, "target/catalog.json", "target/manifest.json"]
    )
    delivery_id = str(uuid.uuid4())
    accepted = post_push(receiver, payload, delivery_id)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"status": "accepted", "delivery_id": delivery_id, "sequence": 1}

    # 4. The sensor turns the stored delivery into one run request for the repository's partition.
    tick = evaluate_webhook_sensor(instance, defs, cursor=None)
    [request] = tick.run_requests
    assert request.run_key == delivery_id
    assert (request.job_name, request.partition_key) == (EXTRACT_JOB, REPOSITORY)
    assert request.tags == {TRIGGER_TAG: "webhook", REPOSITORY_TAG: REPOSITORY, DELIVERY_TAG: delivery_id}
    assert tick.dynamic_partitions_requests == [repository_partitions.build_add_request([REPOSITORY])]
    assert tick.cursor == "1"
    assert delivery_statuses(catalog_engine) == {delivery_id: "dispatched"}
    for partitions in tick.dynamic_partitions_requests:
        assert isinstance(partitions, dg.AddDynamicPartitionsRequest)
        instance.add_dynamic_partitions(partitions.partitions_def_name, list(partitions.partition_keys))

    # 5. The requested run, executed in process with the tags the daemon would launch it with.
    job = defs.resolve_job_def(EXTRACT_JOB)
    result = job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        tags={**request.tags, RUN_KEY_TAG: request.run_key, SENSOR_NAME_TAG: webhook_sensor.name},
    )
    assert result.success
    assert "catalog_datasets" in {
        e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
    }

    description, columns = model_state(catalog_engine)
    assert description == NEW_DESCRIPTION
    assert columns[NEW_COLUMN] == NEW_COLUMN_DESCRIPTION
    assert ("int_orders_enriched", "paid_amount_cents") in upstream_of_new_column(catalog_engine)
    with session_scope(catalog_engine) as session:
        jobs = session.scalars(select(ExtractionJob)).all()
        assert sorted(j.trigger for j in jobs) == ["manual", "webhook"]
        [webhook_job] = [j for j in jobs if j.dagster_run_id == result.run_id]
        assert webhook_job.trigger == "webhook" and webhook_job.head_sha == change_sha
        assert webhook_job.status in ("success", "partial"), webhook_job.error_message
        connection = session.scalar(select(Connection).where(Connection.name == REPOSITORY))
        assert connection is not None and connection.last_extracted_sha == change_sha

    # 6a. GitHub redelivers: stored once (200), and a sensor re-reading from a reset cursor asks for
    # the same run key, for which the daemon finds the run already made and launches nothing.
    replay = post_push(receiver, payload, delivery_id)
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    again = evaluate_webhook_sensor(instance, defs, cursor=None)
    assert [r.run_key for r in again.run_requests] == [delivery_id]
    assert again.dynamic_partitions_requests == []  # the partition exists now
    assert [r.run_id for r in runs_for_key(instance, delivery_id)] == [result.run_id]

    # 6b. A push of the pipeline's own commit (trailer) is stored but requests no run.
    ours_sha = git_remote.commit_files(
        {"docs/catalog-sync.md": "Synced by the metadata pipeline.\n"},
        message=f"Sync catalog metadata\n\n{PIPELINE_TRAILER}\n",
    )
    ours_id = str(uuid.uuid4())
    ours = post_push(receiver, github_push_payload(git_remote, change_sha, ours_sha), ours_id)
    assert ours.status_code == 202, ours.text
    quiet = evaluate_webhook_sensor(instance, defs, cursor=tick.cursor)
    assert quiet.run_requests == [] and quiet.cursor == "2"
    assert delivery_statuses(catalog_engine) == {delivery_id: "dispatched", ours_id: "skipped"}
    # From a reset cursor, too, only the developer's push has a run key.
    assert [r.run_key for r in evaluate_webhook_sensor(instance, defs, cursor=None).run_requests] == [
        delivery_id
    ]
