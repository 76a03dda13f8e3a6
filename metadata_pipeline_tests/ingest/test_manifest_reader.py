"""The manifest reader: every schema shape it accepts, edge-for-edge dependencies, clear refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metadata_pipeline.ingest import ManifestError, read_manifest, read_manifest_metadata
from metadata_pipeline_tests.ingest.builders import PROJECT, manifest, node, source, write_json

VERSIONS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 20]


def shop_manifest(version: int) -> dict[str, Any]:
    """A small project touching every kind of node and edge the reader must handle."""
    orders_deps = [
        "model.shop.stg_orders",
        "seed.shop.countries",
        "model.utils.calendar",  # a node from a package
        "model.shop.ghost",  # dbt recorded it, the manifest does not define it
    ]
    return manifest(
        version,
        nodes=[
            node("model", "stg_orders", version=version, depends=["source.shop.raw.orders"]),
            node("model", "orders", version=version, depends=orders_deps, materialized="table",
                 sql="select * from {{ ref('stg_orders') }}", compiled="select * from analytics.dbt_prod.stg_orders"),
            node("model", "order_items", version=version, depends=["model.shop.stg_orders"],
                 materialized="ephemeral", compiled=None),
            node("model", "calendar", version=version, package="utils"),
            node("seed", "countries", version=version, materialized="seed"),
            node("snapshot", "orders_snapshot", version=version, depends=["model.shop.orders"],
                 materialized="snapshot"),
            node("analysis", "order_report", version=version, depends=["model.shop.orders"]),
            node("test", "not_null_orders_id", version=version, depends=["model.shop.orders"]),
            node("operation", "shop-on-run-end-0", version=version),
        ],
        sources=[source("raw", "orders")],
        exposures=[("exposure.shop.dashboard", {
            "unique_id": "exposure.shop.dashboard", "name": "dashboard", "resource_type": "exposure",
            "package_name": PROJECT, "depends_on": {"nodes": ["model.shop.orders"]}, "description": "KPIs",
        })],
        disabled=[node("model", "old_orders", version=version, enabled=False, depends=["model.shop.orders"])],
    )  # fmt: skip


def edges(extraction: Any, types: tuple[str, ...] = ("model", "seed", "snapshot")) -> set[tuple[str, str]]:
    return {(d.source, d.target) for d in extraction.dependencies if d.source.split(".")[0] in types}


def manifest_edges(
    data: dict[str, Any], types: tuple[str, ...] = ("model", "seed", "snapshot")
) -> set[tuple[str, str]]:
    return {
        (uid, target)
        for uid, n in data["nodes"].items()
        if n["resource_type"] in types
        for target in n["depends_on"]["nodes"]
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_every_supported_shape_reads_objects_and_exact_edges(tmp_path: Path, version: int) -> None:
    data = shop_manifest(version)
    extraction = read_manifest(write_json(tmp_path / "manifest.json", data))

    assert extraction.tier == "GOLD"
    assert extraction.manifest_schema_version == version
    assert extraction.adapter_type == "postgres"
    assert extraction.project_name == PROJECT  # metadata.project_name from v10, md5(project_id) before
    assert edges(extraction) == manifest_edges(data)
    assert {o.unique_id for o in extraction.objects} == {
        "model.shop.stg_orders", "model.shop.orders", "model.shop.order_items", "model.utils.calendar",
        "seed.shop.countries", "snapshot.shop.orders_snapshot", "analysis.shop.order_report",
        "source.shop.raw.orders", "exposure.shop.dashboard", "model.shop.old_orders",
    }  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_fields_that_were_renamed_across_versions(tmp_path: Path, version: int) -> None:
    objects = read_manifest(write_json(tmp_path / "manifest.json", shop_manifest(version))).by_id()

    orders = objects["model.shop.orders"]
    assert orders.raw_sql == "select * from {{ ref('stg_orders') }}"
    assert orders.compiled_sql == "select * from analytics.dbt_prod.stg_orders"
    assert orders.materialization == "table"
    assert orders.relation_name == "analytics.dbt_prod.orders"
    assert objects["model.shop.order_items"].compiled_sql is None
    assert objects["model.shop.order_items"].materialization == "ephemeral"
    assert objects["model.utils.calendar"].package_name == "utils"


@pytest.mark.parametrize("version", [3, 7, 12])
def test_tests_and_operations_are_neither_objects_nor_edges(tmp_path: Path, version: int) -> None:
    extraction = read_manifest(write_json(tmp_path / "manifest.json", shop_manifest(version)))

    ids = {o.unique_id for o in extraction.objects}
    assert not any(i.startswith(("test.", "operation.")) for i in ids)
    assert not any(
        d.source.startswith("test.") or d.target.startswith("test.") for d in extraction.dependencies
    )


@pytest.mark.parametrize("version", [3, 4, 12])
def test_disabled_nodes_are_kept_but_take_part_in_no_edge(tmp_path: Path, version: int) -> None:
    extraction = read_manifest(write_json(tmp_path / "manifest.json", shop_manifest(version)))

    assert extraction.by_id()["model.shop.old_orders"].enabled is False
    assert not [d for d in extraction.dependencies if d.source == "model.shop.old_orders"]


def test_an_edge_to_an_undefined_node_is_kept_and_reported(tmp_path: Path) -> None:
    extraction = read_manifest(write_json(tmp_path / "manifest.json", shop_manifest(12)))

    assert ("model.shop.orders", "model.shop.ghost") in edges(extraction)
    [error] = [e for e in extraction.errors if "model.shop.ghost" in e.message]
    assert error.kind == "manifest" and error.unique_id == "model.shop.orders"


def test_edges_to_sources_and_package_nodes_carry_their_kind(tmp_path: Path) -> None:
    extraction = read_manifest(write_json(tmp_path / "manifest.json", shop_manifest(12)))

    kinds = {(d.source, d.target): d.dependency_type for d in extraction.dependencies}
    assert kinds[("model.shop.stg_orders", "source.shop.raw.orders")] == "source"
    assert kinds[("model.shop.orders", "model.utils.calendar")] == "ref"
    assert all(
        d.tier == "GOLD" and d.confidence == 1.0 and d.extracted_from == "manifest"
        for d in extraction.dependencies
    )


def test_exposure_and_analysis_edges_are_read_too(tmp_path: Path) -> None:
    extraction = read_manifest(write_json(tmp_path / "manifest.json", shop_manifest(12)))

    assert ("exposure.shop.dashboard", "model.shop.orders") in edges(extraction, ("exposure",))
    assert ("analysis.shop.order_report", "model.shop.orders") in edges(extraction, ("analysis",))


def test_sources_columns_and_versions(tmp_path: Path) -> None:
    data = manifest(
        12,
        nodes=[
            node(
                "model",
                "dim",
                version=12,
                model_version=2,
                columns={"id": {"name": "id", "description": "key"}},
            ),
        ],
        sources=[source("raw", "orders")],
    )
    objects = read_manifest(write_json(tmp_path / "manifest.json", data)).by_id()

    dim = objects["model.shop.dim.v2"]
    assert (dim.name, dim.version) == ("dim", "2")
    assert [(c.name, c.description, c.source) for c in dim.declared_columns] == [("id", "key", "manifest")]
    orders = objects["source.shop.raw.orders"]
    assert (orders.source_name, orders.alias, orders.relation_name) == (
        "raw",
        "orders_tbl",
        "raw.raw.orders_tbl",
    )
    assert orders.description == "The raw system"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to"]),
        (
            {"snapshot_meta_column_names": {"dbt_valid_to": "valid_to", "dbt_scd_id": "scd_id"}},
            ["scd_id", "dbt_updated_at", "dbt_valid_from", "valid_to"],
        ),
        (
            {"hard_deletes": "new_record"},
            ["dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_is_deleted"],
        ),
    ],
)
def test_snapshot_bookkeeping_columns_follow_the_config(
    tmp_path: Path, config: dict[str, Any], expected: list[str]
) -> None:
    uid, snap = node("snapshot", "orders_snapshot", version=12, materialized="snapshot")
    snap["config"].update(config)
    data = manifest(12, nodes=[(uid, snap), node("model", "orders", version=12)])
    objects = read_manifest(write_json(tmp_path / "manifest.json", data)).by_id()
    assert objects[uid].snapshot_columns == expected
    assert objects["model.shop.orders"].snapshot_columns == []


def test_windows_paths_become_posix(tmp_path: Path) -> None:
    uid, data = node("model", "a", version=12)
    data["original_file_path"] = "models\\staging\\a.sql"
    extraction = read_manifest(write_json(tmp_path / "manifest.json", manifest(12, nodes=[(uid, data)])))

    assert extraction.objects[0].file_path == "models/staging/a.sql"


def test_parent_map_stands_in_for_a_missing_depends_on(tmp_path: Path) -> None:
    uid, data = node("model", "b", version=12)
    del data["depends_on"]
    document = manifest(12, nodes=[(uid, data), node("model", "a", version=12)])
    document["parent_map"][uid] = ["model.shop.a", "test.shop.some_test"]
    extraction = read_manifest(write_json(tmp_path / "manifest.json", document))

    assert edges(extraction) == {("model.shop.b", "model.shop.a")}


def test_project_name_hint_is_used_when_metadata_says_nothing(tmp_path: Path) -> None:
    document = manifest(4, nodes=[node("model", "a", version=4)])
    del document["metadata"]["project_id"]
    extraction = read_manifest(write_json(tmp_path / "manifest.json", document), project_name="from_yaml")

    assert extraction.project_name == "from_yaml"


def test_empty_nodes_section_is_a_valid_empty_project(tmp_path: Path) -> None:
    extraction = read_manifest(write_json(tmp_path / "manifest.json", manifest(12, nodes=[])))

    assert extraction.objects == [] and extraction.dependencies == []


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 13, 19, 99])
def test_unknown_schema_versions_are_refused_naming_version_and_file(tmp_path: Path, version: int) -> None:
    path = write_json(tmp_path / "manifest.json", manifest(version, nodes=[]))

    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert f"v{version}" in str(caught.value) and str(path) in str(caught.value)
    assert caught.value.version == version


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},\n "nodes": {"a": {',
         "line 2"),
        ('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "nodes": {,}}',
         "column"),
        ("", "invalid JSON"),
        ("[1, 2, 3]", "not a dbt manifest"),
        ('{"metadata": {"dbt_version": "1.5.0"}, "nodes": {}}', "unknown manifest schema version"),
        ('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"}, "nodes": {}}',
         "unknown manifest schema version"),
        ('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, "sources": {}}',
         "no `nodes`"),
    ],
)  # fmt: skip
def test_broken_input_is_a_manifest_error_naming_the_file(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)

    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_truncated_json_reports_line_and_column(tmp_path: Path) -> None:
    text = json.dumps(shop_manifest(12), indent=1)
    path = tmp_path / "manifest.json"
    path.write_text(text[: len(text) // 2])

    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert caught.value.line is not None and caught.value.line > 1 and caught.value.column is not None


def test_missing_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="file not found"):
        read_manifest(tmp_path / "nope.json")


def test_metadata_is_read_without_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    # Only the head is valid: reading the metadata must stop before the broken tail.
    path.write_text('{"metadata": {"dbt_schema_version": "x", "project_name": "p"}, "nodes": {BROKEN')

    assert read_manifest_metadata(path)["project_name"] == "p"
