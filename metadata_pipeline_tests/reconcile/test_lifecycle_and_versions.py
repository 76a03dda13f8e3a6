"""Lifecycle of vanished datasets (Deprecated, Deleted, restored) and the schema version chain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import Dataset
from metadata_pipeline_tests.reconcile.builders import shop, synthetic, without
from metadata_pipeline_tests.reconcile.helpers import (
    audit_rows,
    columns,
    datasets,
    inconsistencies,
    lineage_rows,
    run,
    versions,
)

MART = "model.shop.customer_orders"


def test_a_removed_model_is_deprecated_then_deleted_and_revives_with_its_uuid(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    original = datasets(catalog_engine)[MART]
    original_columns = {n: c.column_id for n, c in columns(catalog_engine, MART).items()}
    gone = without(*shop(), MART)

    first = run(catalog_engine, tenant, connection_id, gone)
    mart = datasets(catalog_engine)[MART]
    assert (mart.status, mart.missing_runs, first.datasets_deprecated) == ("Deprecated", 1, 1)
    assert mart.deprecated_at is not None and mart.deleted_at is None
    assert [
        (r.change_type, r.field_name, r.old_value, r.new_value)
        for r in audit_rows(catalog_engine, entity_id=mart.dataset_id)
        if r.change_type != "created"
    ] == [("updated", "status", "Active", "Deprecated")]

    second = run(catalog_engine, tenant, connection_id, gone)
    assert (datasets(catalog_engine)[MART].status, datasets(catalog_engine)[MART].missing_runs) == (
        "Deprecated",
        2,
    )
    assert not second.changed and second.version_id is None  # counting a missing run is bookkeeping

    third = run(catalog_engine, tenant, connection_id, gone)
    mart = datasets(catalog_engine)[MART]
    assert (mart.status, third.datasets_deleted) == ("Deleted", 1) and mart.deleted_at is not None
    assert columns(catalog_engine, MART)  # soft delete: the rows stay
    assert not run(catalog_engine, tenant, connection_id, gone).changed

    back = run(catalog_engine, tenant, connection_id, shop())
    mart = datasets(catalog_engine)[MART]
    assert mart.dataset_id == original.dataset_id and (mart.status, mart.missing_runs) == ("Active", 0)
    assert mart.deprecated_at is None and mart.deleted_at is None
    assert {n: c.column_id for n, c in columns(catalog_engine, MART).items()} == original_columns
    assert back.datasets_restored == 1 and back.datasets_created == 0
    restored = audit_rows(catalog_engine, change_type="restored")
    assert [(r.entity_id, r.old_value, r.new_value) for r in restored] == [
        (original.dataset_id, "Deleted", "Active")
    ]
    assert inconsistencies(catalog_engine) == {}


def test_a_deprecated_dataset_is_deleted_after_the_grace_period(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    gone = without(*shop(), MART)
    run(catalog_engine, tenant, connection_id, gone, delete_after_days=7, delete_after_runs=100)
    with session_scope(catalog_engine) as session:
        session.execute(
            update(Dataset)
            .where(Dataset.fqn == MART)
            .values(deprecated_at=datetime.now(UTC) - timedelta(days=8))
        )

    result = run(catalog_engine, tenant, connection_id, gone, delete_after_days=7, delete_after_runs=100)

    assert result.datasets_deleted == 1 and datasets(catalog_engine)[MART].status == "Deleted"


def test_a_returning_deprecated_dataset_keeps_its_lineage(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    stg = datasets(catalog_engine)["model.shop.stg_orders"].dataset_id

    def own_lineage() -> set[uuid.UUID]:
        return {r.lineage_id for r in lineage_rows(catalog_engine) if r.downstream_dataset_id == stg}

    before = own_lineage()
    run(catalog_engine, tenant, connection_id, without(*shop(), "model.shop.stg_orders"))
    assert own_lineage() == before  # a deprecated dataset keeps its rows

    result = run(catalog_engine, tenant, connection_id, shop())

    assert result.datasets_restored == 1 and own_lineage() == before and len(before) == 3


def test_versions_are_written_only_on_change_and_chained(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    first = run(catalog_engine, tenant, connection_id, shop())
    run(catalog_engine, tenant, connection_id, shop())
    changed = shop()
    next(o for o in changed[0].objects if o.unique_id == MART).materialization = "incremental"
    second = run(catalog_engine, tenant, connection_id, changed)
    run(catalog_engine, tenant, connection_id, changed)

    rows = versions(catalog_engine)
    assert [v.version_number for v in rows] == [1, 2]
    assert [v.version_id for v in rows] == [first.version_id, second.version_id]
    assert rows[0].parent_version_id is None and rows[1].parent_version_id == rows[0].version_id
    assert rows[1].connection_id == connection_id and rows[1].workspace_id == tenant.workspace_id
    assert rows[1].change_count == 1 and rows[1].changes["counts"]["datasets_updated"] == 1
    assert rows[1].changes["datasets"] == {"updated": [MART]}
    assert rows[0].snapshot_hash != rows[1].snapshot_hash and len(rows[1].snapshot_hash) == 64


def test_the_snapshot_hash_is_a_function_of_the_reconciled_state(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    changed = shop()
    next(o for o in changed[0].objects if o.unique_id == MART).materialization = "incremental"
    run(catalog_engine, tenant, connection_id, changed)
    back = run(catalog_engine, tenant, connection_id, shop())  # same state as version 1 again

    rows = versions(catalog_engine)
    assert back.version_number == 3 and rows[2].snapshot_hash == rows[0].snapshot_hash


def test_version_changes_stay_small_for_a_big_first_run(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    result = run(catalog_engine, tenant, connection_id, synthetic(120, columns=3), version_detail_limit=10)

    changes = versions(catalog_engine)[0].changes
    assert result.datasets_created == 120 and changes["counts"]["datasets_created"] == 120
    assert len(changes["datasets"]["created"]) == 10 and changes["truncated"] == {"created": 110}
