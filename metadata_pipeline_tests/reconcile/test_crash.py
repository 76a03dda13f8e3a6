"""A reconcile killed with SIGKILL mid-transaction leaves the old state, and the next run recovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import Dataset, DatasetLock
from metadata_pipeline_tests.reconcile.builders import synthetic
from metadata_pipeline_tests.reconcile.crash_worker import MARKER, changed_project
from metadata_pipeline_tests.reconcile.helpers import counts, inconsistencies, run, versions

OLD_MODELS, NEW_MODELS = 40, 400
REPO = Path(__file__).resolve().parents[2]


def _state(engine: Engine) -> list[tuple[str, uuid.UUID, str | None, str]]:
    with session_scope(engine) as session:
        rows = session.execute(select(Dataset.fqn, Dataset.dataset_id, Dataset.description, Dataset.status))
        return sorted(tuple(r) for r in rows)  # type: ignore[misc]


def _kill_mid_reconcile(
    url: str, tenant: Tenant, connection_id: uuid.UUID, trigger: str, ttl_s: float
) -> None:
    args = [str(tenant.company_id), str(tenant.project_id), str(tenant.workspace_id), str(connection_id)]
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "metadata_pipeline_tests.reconcile.crash_worker",
            url,
            *args,
            str(NEW_MODELS),
            trigger,
            str(ttl_s),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, worker.kill)  # never hang the suite on a worker that stalls
    watchdog.start()
    try:
        line = worker.stdout.readline().strip() if worker.stdout else ""
        if line != MARKER:
            worker.kill()
            pytest.fail(f"worker did not reach its write phase: {line!r} {worker.communicate()[1][-2000:]}")
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        watchdog.cancel()
        if worker.stdout:
            worker.stdout.close()
        if worker.stderr:
            worker.stderr.close()


@pytest.mark.parametrize("trigger", ["early", "before_commit"])
def test_a_killed_reconcile_leaves_the_old_state_and_the_next_run_recovers(
    catalog_url: str, catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID, trigger: str
) -> None:
    run(catalog_engine, tenant, connection_id, synthetic(OLD_MODELS, columns=8))
    old_counts, old_state = counts(catalog_engine, tenant), _state(catalog_engine)

    _kill_mid_reconcile(catalog_url, tenant, connection_id, trigger, ttl_s=600 if trigger == "early" else 2)

    assert counts(catalog_engine, tenant) == old_counts and _state(catalog_engine) == old_state
    assert inconsistencies(catalog_engine) == {} and len(versions(catalog_engine)) == 1
    with session_scope(catalog_engine) as session:
        [lock] = session.scalars(select(DatasetLock)).all()  # the dead run's lock is still there
        if trigger == "before_commit":  # pretend it died on another machine: only expiry frees it
            session.execute(update(DatasetLock).values(holder="reconcile@another-host:1"))

    result = run(catalog_engine, tenant, connection_id, changed_project(NEW_MODELS), lock_wait_s=30)

    assert (result.datasets_created, result.datasets_updated) == (NEW_MODELS - OLD_MODELS, OLD_MODELS)
    new_counts = counts(catalog_engine, tenant)
    assert new_counts["datasets"] == NEW_MODELS and new_counts["columns"] == NEW_MODELS * 8
    assert new_counts["schema_versions"] == 2 and inconsistencies(catalog_engine) == {}
    assert {d for _, _, d, _ in _state(catalog_engine)} == {f"Described m{i}" for i in range(NEW_MODELS)}
    old_ids = {fqn: dataset_id for fqn, dataset_id, _, _ in old_state}
    assert all(old_ids.get(fqn, dataset_id) == dataset_id for fqn, dataset_id, _, _ in _state(catalog_engine))
    if trigger == "before_commit":
        assert result.timings["lock_wait"] > 0.5  # it waited for the 2 s lock to expire
