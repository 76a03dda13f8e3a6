"""A first reconcile creates the catalog; running it again on the same input writes nothing at all."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine

from metadata_pipeline.catalog.database import Tenant
from metadata_pipeline_tests.reconcile.builders import STG_CUSTOMERS_SQL, shop
from metadata_pipeline_tests.reconcile.helpers import (
    audit_rows,
    columns,
    counts,
    datasets,
    inconsistencies,
    lineage_rows,
    recorded_writes,
    run,
    versions,
)


def test_first_run_creates_datasets_columns_dependencies_and_lineage(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    result = run(catalog_engine, tenant, connection_id, shop())

    assert (result.datasets_created, result.columns_created) == (6, 18)
    assert (result.dependencies_added, result.lineage_added) == (4, 11)
    assert result.changed and result.version_number == 1
    found = datasets(catalog_engine)
    assert sorted(found) == [
        "model.shop.customer_orders",
        "model.shop.stg_customers",
        "model.shop.stg_orders",
        "seed.shop.country_codes",
        "source.shop.raw.customers",
        "source.shop.raw.orders",
    ]  # the test is not a dataset
    stg = found["model.shop.stg_customers"]
    assert (stg.name, stg.unique_id, stg.resource_type, stg.materialization_type) == (
        "stg_customers",
        "model.shop.stg_customers",
        "model",
        "view",
    )
    assert stg.definition == STG_CUSTOMERS_SQL and stg.compiled_definition and stg.content_hash
    assert (stg.extracted_from, stg.extraction_tier, stg.confidence) == ("manifest", "GOLD", 1.0)
    assert stg.connection_id == connection_id and stg.status == "Active" and stg.tags == ["staging"]
    assert stg.has_uncommitted_changes and stg.sync_status == "pending"
    assert stg.field_sources == {"description": "manifest"}
    assert inconsistencies(catalog_engine) == {}


def test_columns_come_from_the_column_list_and_from_lineage(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())

    stg = columns(catalog_engine, "model.shop.stg_customers")
    assert [c.name for c in sorted(stg.values(), key=lambda c: c.position or 0)] == ["id", "name", "email"]
    assert stg["email"].fqn == "model.shop.stg_customers.email" and stg["email"].description == "The email."
    assert stg["email"].data_type == "unknown"  # no catalog.json: the type is not known
    inferred = columns(catalog_engine, "model.shop.customer_orders")  # no column list: all from lineage
    assert set(inferred) == {"customer_id", "order_count", "total_amount", "loaded_on"}
    assert {c.extracted_from for c in inferred.values()} == {"sql_parsing"}


def test_lineage_rows_keep_calculated_and_indirect_edges(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())

    by_column = {c.column_id: c for c in columns(catalog_engine, "model.shop.customer_orders").values()}
    rows = [r for r in lineage_rows(catalog_engine) if r.downstream_column_id in by_column]
    calculated = [r for r in rows if r.mapping_type == "Calculated"]
    assert len(calculated) == 1
    assert calculated[0].upstream_column_id is None and calculated[0].upstream_dataset_id is None
    assert calculated[0].transformation_expression == "current_date"
    indirect = [r for r in rows if r.lineage_type == "indirect"]
    assert [(r.role, by_column[r.downstream_column_id].name) for r in indirect] == [("join", "customer_id")]
    transform = [r for r in rows if r.mapping_type == "Transform"]
    assert {r.transformation_expression for r in transform} == {"count(o.id)", "sum(o.amount)"}
    assert all(r.workspace_id == tenant.workspace_id and r.company_id == tenant.company_id for r in rows)


def test_second_identical_run_writes_nothing(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    before, stamps = (
        counts(catalog_engine, tenant),
        {k: d.updated_at for k, d in datasets(catalog_engine).items()},
    )

    with recorded_writes(catalog_engine) as writes:
        result = run(catalog_engine, tenant, connection_id, shop())

    assert writes == []
    assert not result.changed and result.audit_rows == 0 and result.version_id is None
    assert result.datasets_skipped_by_hash == 6 and result.summary().startswith("catalog up to date")
    assert counts(catalog_engine, tenant) == before
    assert {k: d.updated_at for k, d in datasets(catalog_engine).items()} == stamps
    assert len(versions(catalog_engine)) == 1


def test_full_diff_of_an_unchanged_project_also_writes_nothing(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    """The no-op is a property of the diff itself, not only of the per-dataset hash shortcut."""
    run(catalog_engine, tenant, connection_id, shop())
    before = counts(catalog_engine, tenant)

    with recorded_writes(catalog_engine) as writes:
        result = run(catalog_engine, tenant, connection_id, shop(), full=True)

    assert writes == [] and not result.changed and result.datasets_skipped_by_hash == 0
    assert counts(catalog_engine, tenant) == before


def test_created_children_are_listed_in_the_dataset_audit_row_or_audited_one_by_one(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    compact = run(catalog_engine, tenant, connection_id, shop())
    created = {r.entity_id: r for r in audit_rows(catalog_engine, change_type="created")}
    assert compact.audit_rows == len(created) == 6 and {r.entity_type for r in created.values()} == {
        "dataset"
    }
    stg = datasets(catalog_engine)["model.shop.stg_customers"]
    listed = created[stg.dataset_id].new_value
    assert [c[0] for c in listed["columns"]] == ["id", "name", "email"]
    assert {c[1] for c in listed["columns"]} == {
        str(c.column_id) for c in columns(catalog_engine, stg.fqn).values()
    }
    assert listed["fqn"] == stg.fqn and len(listed["lineage"]) == 3 and len(listed["dependencies"]) == 1


def test_every_created_entity_can_get_its_own_audit_row(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    result = run(catalog_engine, tenant, connection_id, shop(), audit_children_of_new_datasets=True)

    assert result.audit_rows == 6 + 18 + 4 + 11
    kinds = [r.entity_type for r in audit_rows(catalog_engine, change_type="created")]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "dataset": 6,
        "column": 18,
        "dependency": 4,
        "lineage": 11,
    }
    assert {r.actor for r in audit_rows(catalog_engine)} == {"extraction"}
