"""Project lineage: schemas in dependency order, ephemeral models, select * without a catalog, cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.lineage import (
    ColumnEdge,
    compute_project_lineage,
    dialect_for_adapter,
    trace_to_sources,
)
from metadata_pipeline.lineage.project_lineage import swap_ephemeral_ctes
from metadata_pipeline_tests.lineage.shop_project import (
    FCT_ORDERS,
    INT_ORDERS,
    MART,
    SRC_CUSTOMERS,
    SRC_ORDERS,
    STG_CUSTOMERS,
    STG_ORDERS,
    shop_extraction,
)


def _direct(edges: list[ColumnEdge], target: str) -> dict[str, str]:
    """source -> mapping type of the value edges into `target`."""
    return {
        e.source or "": e.mapping_type for e in edges if e.target == target and e.lineage_type == "direct"
    }


def _indirect(edges: list[ColumnEdge], target: str) -> set[tuple[str, str | None]]:
    return {(e.source or "", e.role) for e in edges if e.target == target and e.lineage_type == "indirect"}


@pytest.fixture(scope="module", params=[True, False], ids=["catalog", "no_catalog"])
def shop(request: pytest.FixtureRequest) -> tuple[Extraction, object]:
    extraction = shop_extraction(with_catalog=request.param)
    return extraction, compute_project_lineage(extraction, workers=1)


def test_staging_edges_follow_renames(shop) -> None:
    _, lineage = shop
    assert _direct(lineage.edges, f"{STG_ORDERS}.order_id") == {f"{SRC_ORDERS}.id": "Direct"}
    assert _direct(lineage.edges, f"{STG_ORDERS}.amount") == {f"{SRC_ORDERS}.amount": "Direct"}


def test_ephemeral_model_is_a_link_in_the_chain(shop) -> None:
    _, lineage = shop
    # The mart reads the ephemeral model, not its inlined CTE; the ephemeral model reads staging.
    assert _direct(lineage.edges, f"{FCT_ORDERS}.amount_cents") == {f"{INT_ORDERS}.amount_cents": "Direct"}
    assert _direct(lineage.edges, f"{INT_ORDERS}.amount_cents") == {f"{STG_ORDERS}.amount": "Transform"}
    assert (f"{STG_ORDERS}.status", "filter") in _indirect(lineage.edges, f"{INT_ORDERS}.amount_cents")
    edge = next(
        e for e in lineage.edges if e.target == f"{INT_ORDERS}.amount_cents" and e.lineage_type == "direct"
    )
    assert edge.transformation == "amount * 100"


def test_join_keys_are_indirect_edges(shop) -> None:
    _, lineage = shop
    indirect = _indirect(lineage.edges, f"{FCT_ORDERS}.customer_name")
    assert (f"{INT_ORDERS}.customer_id", "join") in indirect
    assert (f"{STG_CUSTOMERS}.customer_id", "join") in indirect
    assert _direct(lineage.edges, f"{FCT_ORDERS}.customer_name") == {f"{STG_CUSTOMERS}.full_name": "Direct"}


def test_select_star_without_catalog_expands_through_inferred_schemas(shop) -> None:
    extraction, lineage = shop
    # customer_orders has no catalog entry in either run: its columns come from fct_orders, whose
    # own columns are the catalog's or, without one, inferred from its SQL in an earlier wave.
    assert list(lineage.schemas[MART].columns) == ["order_id", "customer_name", "amount_cents"]
    assert lineage.schemas[MART].source == "inferred"
    assert _direct(lineage.edges, f"{MART}.customer_name") == {f"{FCT_ORDERS}.customer_name": "Direct"}
    expected_source = "catalog" if extraction.by_id()[FCT_ORDERS].catalog_columns else "inferred"
    assert lineage.schemas[FCT_ORDERS].source == expected_source


def test_trace_to_sources_follows_the_whole_chain(shop) -> None:
    _, lineage = shop
    assert trace_to_sources(lineage.edges, f"{MART}.amount_cents") == {f"{SRC_ORDERS}.amount"}
    assert trace_to_sources(lineage.edges, f"{MART}.customer_name") == {f"{SRC_CUSTOMERS}.full_name"}
    with_filters = trace_to_sources(lineage.edges, f"{MART}.amount_cents", include_indirect=True)
    assert f"{SRC_ORDERS}.status" in with_filters


def test_every_model_column_has_lineage(shop) -> None:
    _, lineage = shop
    assert lineage.stats["columns"] == lineage.stats["columns_with_lineage"]
    assert lineage.errors == []


def test_parallel_run_matches_serial_run() -> None:
    extraction = shop_extraction()
    serial = compute_project_lineage(extraction, workers=1)
    parallel = compute_project_lineage(extraction, workers=2)
    assert sorted(map(repr, serial.edges)) == sorted(map(repr, parallel.edges))


def test_cache_redoes_only_what_changed(tmp_path: Path) -> None:
    extraction = shop_extraction(with_catalog=False)
    cold = compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    assert (cold.stats["analyzed"], cold.stats["cache_hits"]) == (5, 0)

    warm = compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    assert (warm.stats["analyzed"], warm.stats["cache_hits"]) == (0, 5)
    assert sorted(map(repr, warm.edges)) == sorted(map(repr, cold.edges))

    # A change that keeps fct_orders' columns: only fct_orders is redone.
    touched = _with_sql(extraction, FCT_ORDERS, lambda sql: sql + "\nwhere o.amount_cents > 0")
    again = compute_project_lineage(touched, cache_dir=tmp_path, workers=1)
    assert (again.stats["analyzed"], again.stats["cache_hits"]) == (1, 4)

    # A change to fct_orders' columns also redoes the model that selects * from it.
    renamed = _with_sql(extraction, FCT_ORDERS, lambda sql: sql.replace("as customer_name", "as buyer"))
    redone = compute_project_lineage(renamed, cache_dir=tmp_path, workers=1)
    assert (redone.stats["analyzed"], redone.stats["cache_hits"]) == (2, 3)
    assert f"{MART}.buyer" in {e.target for e in redone.edges}


def test_catalog_can_be_ignored() -> None:
    lineage = compute_project_lineage(shop_extraction(), workers=1, use_catalog=False)
    assert lineage.schemas[STG_ORDERS].source == "inferred"
    assert trace_to_sources(lineage.edges, f"{MART}.amount_cents") == {f"{SRC_ORDERS}.amount"}


def test_star_model_columns_come_from_their_own_catalog_entry() -> None:
    # stg_customers is `select * from raw.customers`; with raw.customers unknown (no catalog, no
    # schema.yml) its own catalog entry still says which columns pass through the star.
    extraction = shop_extraction()
    objects = [
        replace(o, catalog_columns=None) if o.unique_id == SRC_CUSTOMERS else o for o in extraction.objects
    ]
    lineage = compute_project_lineage(replace(extraction, objects=objects), workers=1)
    assert _direct(lineage.edges, f"{STG_CUSTOMERS}.full_name") == {f"{SRC_CUSTOMERS}.full_name": "Direct"}


def test_columns_read_through_an_unknown_star_are_completed_from_downstream_use() -> None:
    extraction = shop_extraction(with_catalog=False)
    lineage = compute_project_lineage(extraction, workers=1)
    # Nothing says which columns raw.customers has, but fct_orders reads full_name and customer_id
    # through stg_customers' `select *`.
    assert _direct(lineage.edges, f"{STG_CUSTOMERS}.full_name") == {f"{SRC_CUSTOMERS}.full_name": "Direct"}
    assert trace_to_sources(lineage.edges, f"{FCT_ORDERS}.customer_name") == {f"{SRC_CUSTOMERS}.full_name"}


def test_broken_model_sql_is_an_error_not_an_exception() -> None:
    extraction = _with_sql(shop_extraction(), FCT_ORDERS, lambda _sql: "select from where (")
    lineage = compute_project_lineage(extraction, workers=1)
    assert any(message.startswith(FCT_ORDERS) for message in lineage.errors)
    assert _direct(lineage.edges, f"{STG_ORDERS}.order_id") == {f"{SRC_ORDERS}.id": "Direct"}


def test_ephemeral_cte_swap() -> None:
    import sqlglot

    statement = sqlglot.parse_one(
        "with __dbt__cte__x as (select 1 as a) select __dbt__cte__x.a from __dbt__cte__x", read="duckdb"
    )
    swapped = swap_ephemeral_ctes({"__dbt__cte__x": "model.p.x"}, statement)
    assert swapped.sql("duckdb") == 'SELECT __dbt__cte__x.a FROM "model.p.x" AS __dbt__cte__x'


@pytest.mark.parametrize(
    ("adapter", "dialect"),
    [
        ("duckdb", "duckdb"),
        ("postgres", "postgres"),
        ("snowflake", "snowflake"),
        ("bigquery", "bigquery"),
        ("databricks", "databricks"),
        ("spark", "spark"),
        ("redshift", "redshift"),
        ("trino", "trino"),
        ("clickhouse", "clickhouse"),
        ("sqlserver", "tsql"),
        ("fabric", "tsql"),
        ("synapse", "tsql"),
        (None, ""),
        ("no-such-adapter", ""),
    ],
)
def test_dialect_for_adapter(adapter: str | None, dialect: str) -> None:
    assert dialect_for_adapter(adapter) == dialect


def _with_sql(extraction: Extraction, uid: str, change) -> Extraction:
    objects = [
        replace(o, compiled_sql=change(o.compiled_sql)) if o.unique_id == uid else o
        for o in extraction.objects
    ]
    return replace(extraction, objects=objects)


def test_a_partial_schema_yml_list_does_not_hide_the_other_columns_of_a_star_model() -> None:
    # stg_customers is `select * from raw.customers` with nothing describing raw.customers, and its
    # schema.yml lists customer_id only. A model selecting * from it, whose own schema.yml lists
    # full_name too, must still trace full_name through the star to the source instead of
    # expanding stg_customers to the one documented column.
    from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency

    copy = "model.shop.customers_copy"
    extraction = shop_extraction(with_catalog=False)
    objects = [
        replace(o, declared_columns=[ColumnInfo("customer_id")]) if o.unique_id == STG_CUSTOMERS else o
        for o in extraction.objects
    ]
    objects.append(
        DbtObject(
            copy,
            "customers_copy",
            "model",
            database="shop",
            schema="main",
            alias="customers_copy",
            materialization="table",
            compiled_sql='select * from "shop"."main"."stg_customers"',
            declared_columns=[ColumnInfo("customer_id"), ColumnInfo("full_name")],
        )
    )
    extraction = replace(
        extraction,
        objects=objects,
        dependencies=[*extraction.dependencies, Dependency(copy, STG_CUSTOMERS, "manifest")],
    )
    lineage = compute_project_lineage(extraction, workers=1)
    assert _direct(lineage.edges, f"{copy}.customer_id") == {f"{STG_CUSTOMERS}.customer_id": "Direct"}
    assert _direct(lineage.edges, f"{copy}.full_name") == {f"{STG_CUSTOMERS}.full_name": "Direct"}
    assert trace_to_sources(lineage.edges, f"{copy}.full_name") == {f"{SRC_CUSTOMERS}.full_name"}


DBT_SNAPSHOT_COLUMNS = ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ([], DBT_SNAPSHOT_COLUMNS),
        # `snapshot_meta_column_names` (and hard_deletes: new_record) rename and add them.
        (
            ["_scd_id", "_scd_updated_at", "_scd_start", "_scd_end", "_scd_is_deleted"],
            ["_scd_id", "_scd_updated_at", "_scd_start", "_scd_end", "_scd_is_deleted"],
        ),
    ],
)
def test_dbt_adds_its_snapshot_columns_even_behind_a_star(configured: list[str], expected: list[str]) -> None:
    from metadata_pipeline.ingest.extraction import DbtObject, Dependency

    snap = "snapshot.shop.customers_snapshot"
    extraction = shop_extraction(with_catalog=False)
    snapshot = DbtObject(
        snap,
        "customers_snapshot",
        "snapshot",
        database="shop",
        schema="snapshots",
        alias="customers_snapshot",
        materialization="snapshot",
        compiled_sql='select * from "shop"."raw"."customers"',
        snapshot_columns=configured,
    )
    extraction = replace(
        extraction,
        objects=[*extraction.objects, snapshot],
        dependencies=[*extraction.dependencies, Dependency(snap, SRC_CUSTOMERS, "manifest")],
    )
    lineage = compute_project_lineage(extraction, workers=1)
    for name in expected:
        assert _direct(lineage.edges, f"{snap}.{name}") == {"": "Calculated"}
    for name in set(DBT_SNAPSHOT_COLUMNS) - set(expected):
        assert not any(e.target == f"{snap}.{name}" for e in lineage.edges)
    assert _direct(lineage.edges, f"{snap}.*") == {f"{SRC_CUSTOMERS}.*": "Direct"}


@pytest.mark.parametrize("declared_first", ["seed", "source"])
def test_a_relation_shared_by_a_seed_and_a_source_resolves_to_the_one_the_model_depends_on(
    declared_first: str,
) -> None:
    # A common dbt pattern: seeds load raw tables and sources are declared over the same tables.
    # A model that reads `source('raw', 'payments')` has its lineage on the source, whichever of
    # the two nodes the extraction happens to list first.
    from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency

    seed = DbtObject(
        "seed.shop.payments",
        "payments",
        "seed",
        database="shop",
        schema="raw",
        alias="payments",
        materialization="seed",
        catalog_columns=[ColumnInfo("amount", "INTEGER", source="catalog")],
    )
    source = DbtObject(
        "source.shop.raw.payments",
        "payments",
        "source",
        database="shop",
        schema="raw",
        alias="payments",
        catalog_columns=[ColumnInfo("amount", "INTEGER", source="catalog")],
    )
    model = DbtObject(
        "model.shop.stg_payments",
        "stg_payments",
        "model",
        database="shop",
        schema="main",
        alias="stg_payments",
        materialization="view",
        compiled_sql='select amount as amount_cents from "shop"."raw"."payments"',
    )
    nodes = [seed, source] if declared_first == "seed" else [source, seed]
    extraction = Extraction(
        project_name="shop",
        project_root=".",
        tier="GOLD",
        adapter_type="duckdb",
        objects=[*nodes, model],
        dependencies=[Dependency(model.unique_id, source.unique_id, "manifest", dependency_type="source")],
    )
    lineage = compute_project_lineage(extraction, workers=1)
    assert _direct(lineage.edges, "model.shop.stg_payments.amount_cents") == {
        "source.shop.raw.payments.amount": "Direct"
    }
