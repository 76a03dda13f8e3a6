"""Incremental changes: field updates, added and removed columns and edges, renames, job actors."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import Engine, update

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import Dataset, ExtractionJob
from metadata_pipeline.ingest.extraction import ColumnInfo
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.reconcile import ReconcileError
from metadata_pipeline_tests.reconcile.builders import make_connection, renamed, shop, without
from metadata_pipeline_tests.reconcile.helpers import (
    audit_rows,
    columns,
    counts,
    datasets,
    inconsistencies,
    lineage_rows,
    run,
)


def _object(project, unique_id):  # type: ignore[no-untyped-def]
    return next(o for o in project[0].objects if o.unique_id == unique_id)


def test_changed_fields_are_updated_and_audited_field_by_field(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    with session_scope(catalog_engine) as session:  # everything was committed to Git meanwhile
        session.execute(update(Dataset).values(has_uncommitted_changes=False, sync_status="synced"))
    before = datasets(catalog_engine)["model.shop.stg_orders"]
    project = shop()
    stg = _object(project, "model.shop.stg_orders")
    stg.materialization, stg.description = "table", "Orders, typed."

    result = run(catalog_engine, tenant, connection_id, project)

    after = datasets(catalog_engine)["model.shop.stg_orders"]
    assert after.dataset_id == before.dataset_id and after.updated_at >= before.updated_at
    assert (after.materialization_type, after.description) == ("table", "Orders, typed.")
    rows = audit_rows(catalog_engine, change_type="updated", entity_id=after.dataset_id)
    assert {(r.field_name, r.old_value, r.new_value) for r in rows} == {
        ("materialization_type", "view", "table"),
        ("description", None, "Orders, typed."),
    }
    assert result.datasets_updated == 1 and result.audit_rows == 2 and result.version_number == 2
    assert result.datasets_skipped_by_hash == 5
    flags = {d.fqn: (d.has_uncommitted_changes, d.sync_status) for d in datasets(catalog_engine).values()}
    assert flags.pop("model.shop.stg_orders") == (True, "pending")
    assert set(flags.values()) == {(False, "synced")}


def test_columns_and_edges_are_added_and_removed(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    old_columns = columns(catalog_engine, "model.shop.stg_orders")
    extraction, edges = shop()
    stg = _object((extraction, edges), "model.shop.stg_orders")
    stg.declared_columns = [c for c in stg.declared_columns if c.name != "amount"]
    stg.declared_columns.append(ColumnInfo("status", "varchar", "Order status", 3))
    edges = [e for e in edges if "amount" not in e.target and "amount" not in (e.source or "")]
    edges.append(ColumnEdge("model.shop.stg_orders.status", None, "Calculated", transformation="'open'"))

    result = run(catalog_engine, tenant, connection_id, (extraction, edges))

    now = columns(catalog_engine, "model.shop.stg_orders")
    assert set(now) == {"id", "customer_id", "status"}
    assert now["id"].column_id == old_columns["id"].column_id  # untouched columns keep their UUIDs
    assert (now["status"].data_type, now["status"].position) == ("varchar", 3)
    # stg_orders.amount goes, and so does customer_orders.total_amount, a column only lineage named;
    # raw.orders.amount stays (the source declares it).
    assert (result.columns_created, result.columns_removed) == (1, 2)
    assert "total_amount" not in columns(catalog_engine, "model.shop.customer_orders")
    assert "amount" in columns(catalog_engine, "source.shop.raw.orders")
    # stg_orders.amount <- raw.orders.amount and customer_orders.total_amount <- stg_orders.amount
    assert (result.lineage_added, result.lineage_removed) == (1, 2)
    kinds = {(r.change_type, r.entity_type) for r in audit_rows(catalog_engine) if r.change_type != "created"}
    assert kinds >= {("deleted", "column"), ("deleted", "lineage")}
    created = audit_rows(catalog_engine, change_type="created", entity_type="column")
    assert [r.new_value["name"] for r in created] == ["status"]  # an existing dataset's new column: own row
    assert inconsistencies(catalog_engine) == {}


def test_dependencies_follow_the_extraction(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    extraction, edges = shop()
    extraction.dependencies = [d for d in extraction.dependencies if d.target != "model.shop.stg_orders"]
    edges = [e for e in edges if not (e.source or "").startswith("model.shop.stg_orders.")]

    result = run(catalog_engine, tenant, connection_id, (extraction, edges))

    assert result.dependencies_removed == 1 and result.dependencies_added == 0
    assert [r.entity_type for r in audit_rows(catalog_engine, change_type="deleted")].count("dependency") == 1


def test_a_renamed_model_keeps_its_uuid_columns_and_lineage(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    old = datasets(catalog_engine)["model.shop.stg_orders"]
    old_columns = {n: c.column_id for n, c in columns(catalog_engine, old.fqn).items()}
    old_lineage = {r.lineage_id for r in lineage_rows(catalog_engine)}
    before = counts(catalog_engine, tenant)

    # `git mv` of the model file: same SQL, new name, new path.
    project = renamed(
        *shop(), "model.shop.stg_orders", "model.shop.orders_clean", "models/staging/orders_clean.sql"
    )
    result = run(catalog_engine, tenant, connection_id, project)

    now = datasets(catalog_engine)
    assert "model.shop.stg_orders" not in now
    new = now["model.shop.orders_clean"]
    assert new.dataset_id == old.dataset_id and (new.name, new.unique_id) == ("orders_clean", new.fqn)
    assert new.file_path == "models/staging/orders_clean.sql" and new.status == "Active"
    assert {n: c.column_id for n, c in columns(catalog_engine, new.fqn).items()} == old_columns
    assert {c.fqn for c in columns(catalog_engine, new.fqn).values()} == {
        f"model.shop.orders_clean.{n}" for n in old_columns
    }
    assert {r.lineage_id for r in lineage_rows(catalog_engine)} == old_lineage
    assert counts(catalog_engine, tenant) | {"audit_logs": 0, "schema_versions": 0} == before | {
        "audit_logs": 0,
        "schema_versions": 0,
    }
    assert (result.datasets_renamed, result.datasets_created, result.datasets_deprecated) == (1, 0, 0)
    renames = audit_rows(catalog_engine, change_type="renamed", entity_id=new.dataset_id)
    assert ("fqn", "model.shop.stg_orders", "model.shop.orders_clean") in {
        (r.field_name, r.old_value, r.new_value) for r in renames
    }
    assert {r.entity_type for r in audit_rows(catalog_engine, change_type="renamed")} == {"dataset", "column"}


def test_a_model_renamed_in_place_is_matched_by_its_file(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    """The dbt project was renamed: unique ids change, files and columns stay (SQL may change too)."""
    run(catalog_engine, tenant, connection_id, shop())
    old = datasets(catalog_engine)["model.shop.customer_orders"]
    extraction, edges = renamed(*shop(), "model.shop.customer_orders", "model.shop2.customer_orders")
    _object((extraction, edges), "model.shop2.customer_orders").raw_sql += "\n-- reviewed"

    result = run(catalog_engine, tenant, connection_id, (extraction, edges))

    assert datasets(catalog_engine)["model.shop2.customer_orders"].dataset_id == old.dataset_id
    assert result.datasets_renamed == 1 and result.datasets_updated == 1  # the SQL changed as well


def test_ambiguous_renames_are_a_removal_and_an_addition(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    """Two vanished models with the same SQL: no guessing which one the new model is."""
    extraction, edges = shop()
    twin = copy.deepcopy(_object((extraction, edges), "model.shop.stg_orders"))
    twin.unique_id, twin.name, twin.file_path = (
        "model.shop.stg_orders_copy",
        "stg_orders_copy",
        "models/copy.sql",
    )
    extraction.objects.append(twin)
    run(catalog_engine, tenant, connection_id, (extraction, edges))
    extraction.objects = [o for o in extraction.objects if o.unique_id not in (twin.unique_id,)]
    project = renamed(extraction, edges, "model.shop.stg_orders", "model.shop.orders_new", "models/new.sql")

    result = run(catalog_engine, tenant, connection_id, project)

    assert (result.datasets_renamed, result.datasets_created, result.datasets_deprecated) == (0, 1, 2)


def test_job_actor_and_id_are_recorded(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    with session_scope(catalog_engine) as session:
        set_company(session, tenant.company_id)
        job = ExtractionJob(company_id=tenant.company_id, connection_id=connection_id, status="running")
        session.add(job)
        session.flush()
        job_id = job.job_id
    extraction, edges = shop()
    from metadata_pipeline.reconcile import reconcile_extraction

    result = reconcile_extraction(
        catalog_engine,
        tenant=tenant,
        connection_id=connection_id,
        extraction=extraction,
        column_edges=edges,
        job_id=job_id,
    )

    rows = audit_rows(catalog_engine)
    assert {r.actor for r in rows} == {f"extraction_job:{job_id}"} and {
        r.extraction_job_id for r in rows
    } == {job_id}
    assert result.version_id is not None
    with pytest.raises(ReconcileError, match="extraction job"):
        reconcile_extraction(
            catalog_engine,
            tenant=tenant,
            connection_id=connection_id,
            extraction=extraction,
            column_edges=edges,
            job_id=uuid.uuid4(),
        )


def test_unknown_connection_and_empty_extraction_are_refused(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    with pytest.raises(ReconcileError, match="connection"):
        run(catalog_engine, tenant, uuid.uuid4(), shop())
    run(catalog_engine, tenant, connection_id, shop())
    empty = shop()
    empty[0].objects = []
    with pytest.raises(ReconcileError, match="no datasets"):
        run(catalog_engine, tenant, connection_id, empty)
    assert run(catalog_engine, tenant, connection_id, empty, allow_empty=True).datasets_deprecated == 6


def test_datasets_are_matched_by_fqn_across_the_company(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    """The repository moved to a new connection: same fqns, same UUIDs, the owner updated."""
    run(catalog_engine, tenant, connection_id, shop())
    before = {fqn: d.dataset_id for fqn, d in datasets(catalog_engine).items()}
    moved_to = make_connection(catalog_engine, tenant, name="shop-mirror")

    result = run(catalog_engine, tenant, moved_to, shop())

    after = datasets(catalog_engine)
    assert {fqn: d.dataset_id for fqn, d in after.items()} == before
    assert {d.connection_id for d in after.values()} == {moved_to}
    assert result.datasets_created == 0 and result.datasets_updated == 6
    assert not run(catalog_engine, tenant, moved_to, shop()).changed


def test_without_a_connection_only_extracted_datasets_have_a_lifecycle(
    catalog_engine: Engine, tenant: Tenant
) -> None:
    with session_scope(catalog_engine) as session:  # a person's hand-made dataset, no connection
        session.add(Dataset(company_id=tenant.company_id, fqn="manual.orders_kpi", name="orders_kpi"))
    run(catalog_engine, tenant, None, shop())

    result = run(catalog_engine, tenant, None, without(*shop(), "model.shop.customer_orders"))

    assert result.datasets_deprecated == 1
    statuses = {fqn: d.status for fqn, d in datasets(catalog_engine).items()}
    assert (
        statuses["manual.orders_kpi"] == "Active" and statuses["model.shop.customer_orders"] == "Deprecated"
    )
