"""The workspace lock: a second run waits or is refused, expired or orphaned locks are taken over,
a run that lost its lock commits nothing, and a caller's session keeps the lock until it commits."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import Engine, select, update

from metadata_pipeline.catalog.database import Tenant, make_engine, session_scope
from metadata_pipeline.catalog.models import DatasetLock
from metadata_pipeline.reconcile import (
    ReconcileLocked,
    ReconcileLockLost,
    acquire_lock,
    reconcile_extraction,
    reconcile_lock_key,
    release_lock,
)
from metadata_pipeline.reconcile import run as run_module
from metadata_pipeline.reconcile.locks import LockHandle
from metadata_pipeline_tests.reconcile.builders import shop, synthetic
from metadata_pipeline_tests.reconcile.helpers import counts, inconsistencies, run, versions


def _hold(
    engine: Engine, tenant: Tenant, holder: str = "nightly@build-host:4242", ttl_s: float = 60
) -> LockHandle:
    return acquire_lock(
        engine, tenant, key=reconcile_lock_key(tenant.workspace_id), holder=holder, ttl_s=ttl_s, wait_s=0
    )


def _locks(engine: Engine) -> list[DatasetLock]:
    with session_scope(engine) as session:
        return list(session.scalars(select(DatasetLock)))


def test_a_second_run_is_refused_naming_the_holder(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    handle = _hold(catalog_engine, tenant)

    with pytest.raises(ReconcileLocked) as refused:
        run(catalog_engine, tenant, connection_id, shop(), lock_wait_s=0.3)

    assert refused.value.holder == "nightly@build-host:4242" and refused.value.waited_s >= 0.3
    assert "nightly@build-host:4242" in str(refused.value) and handle.expires_at.isoformat()[:16] in str(
        refused.value
    )
    assert counts(catalog_engine, tenant)["datasets"] == 0
    release_lock(catalog_engine, handle)
    assert run(catalog_engine, tenant, connection_id, shop()).datasets_created == 6
    assert _locks(catalog_engine) == []  # released after the run


def test_a_second_run_waits_until_the_lock_is_released(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    handle = _hold(catalog_engine, tenant)
    releaser = threading.Timer(0.6, release_lock, args=(catalog_engine, handle))
    releaser.start()

    result = run(catalog_engine, tenant, connection_id, shop(), lock_wait_s=20)

    releaser.join()
    assert result.datasets_created == 6 and result.timings["lock_wait"] >= 0.5


def test_concurrent_runs_are_serialised(catalog_url: str, tenant: Tenant, connection_id: uuid.UUID) -> None:
    """Two threads, two engines, the same project: one creates, the other waits and finds nothing new."""
    results, errors = [], []

    def worker() -> None:
        engine = make_engine(catalog_url)
        try:
            results.append(run(engine, tenant, connection_id, synthetic(60, columns=5), lock_wait_s=60))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(r.datasets_created for r in results) == [0, 60]
    engine = make_engine(catalog_url)
    assert len(versions(engine)) == 1 and counts(engine, tenant)["datasets"] == 60
    assert inconsistencies(engine) == {}
    engine.dispose()


def test_an_expired_lock_is_taken_over(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    _hold(catalog_engine, tenant, holder="crashed@other-host:1", ttl_s=0.3)
    time.sleep(0.4)

    result = run(catalog_engine, tenant, connection_id, shop(), lock_wait_s=0)

    assert result.datasets_created == 6 and _locks(catalog_engine) == []


def test_a_run_that_lost_its_lock_commits_nothing(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run outlived its lock and another run took it over: its writes must not land."""
    original = run_module.ReconcileRun._write

    def steal_then_write(self: run_module.ReconcileRun) -> None:
        with session_scope(catalog_engine) as session:
            session.execute(update(DatasetLock).values(lock_token=uuid.uuid4(), holder="thief@elsewhere:7"))
        original(self)

    monkeypatch.setattr(run_module.ReconcileRun, "_write", steal_then_write)

    with pytest.raises(ReconcileLockLost):
        run(catalog_engine, tenant, connection_id, shop())

    assert counts(catalog_engine, tenant)["datasets"] == 0
    assert [lock.holder for lock in _locks(catalog_engine)] == ["thief@elsewhere:7"]  # not ours to free


def test_in_a_callers_session_the_lock_lasts_until_commit(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    extraction, edges = shop()
    with session_scope(catalog_engine) as session:
        result = reconcile_extraction(
            session, tenant=tenant, connection_id=connection_id, extraction=extraction, column_edges=edges
        )
        assert result.datasets_created == 6
        assert [lock.lock_key for lock in _locks(catalog_engine)] == [reconcile_lock_key(tenant.workspace_id)]
    assert _locks(catalog_engine) == [] and counts(catalog_engine, tenant)["datasets"] == 6


def test_in_a_callers_session_a_rollback_discards_everything(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    extraction, edges = shop()
    with pytest.raises(RuntimeError), session_scope(catalog_engine) as session:
        reconcile_extraction(
            session, tenant=tenant, connection_id=connection_id, extraction=extraction, column_edges=edges
        )
        raise RuntimeError("the caller's next step failed")
    assert _locks(catalog_engine) == [] and counts(catalog_engine, tenant)["datasets"] == 0
