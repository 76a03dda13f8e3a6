"""extract_project's choice of tier, its JSON form, and the BRONZE plain-SQL reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metadata_pipeline.ingest import (
    TIER_CONFIDENCE,
    ManifestError,
    ProjectError,
    extract_location,
    extract_project,
    extraction_to_json,
    find_dbt_projects,
    read_plain_sql,
)
from metadata_pipeline_tests.ingest.builders import manifest, node, source, write_files, write_json

DBT_PROJECT = {
    "dbt_project.yml": "name: shop\n",
    "models/sources.yml": "sources:\n  - name: raw\n    tables:\n      - name: orders\n",
    "models/stg_orders.sql": "select * from {{ source('raw', 'orders') }}",
}


def write_manifest(root: Path) -> Path:
    nodes = [node("model", "stg_orders", version=12, depends=["source.shop.raw.orders"])]
    return write_json(
        root / "target" / "manifest.json", manifest(12, nodes=nodes, sources=[source("raw", "orders")])
    )


def test_a_manifest_in_target_gives_gold(tmp_path: Path) -> None:
    write_files(tmp_path, DBT_PROJECT)
    write_manifest(tmp_path)
    write_json(
        tmp_path / "target" / "catalog.json",
        {"nodes": {"model.shop.stg_orders": {"columns": {"id": {"name": "id", "type": "int", "index": 1}}}}},
    )

    extraction = extract_project(tmp_path)

    assert extraction.tier == "GOLD" and extraction.project_root == str(tmp_path.resolve())
    assert [c.name for c in extraction.by_id()["model.shop.stg_orders"].columns] == ["id"]


def test_no_manifest_forces_silver(tmp_path: Path) -> None:
    write_files(tmp_path, DBT_PROJECT)
    write_manifest(tmp_path)

    extraction = extract_project(tmp_path, no_manifest=True)

    assert extraction.tier == "SILVER"
    assert [(d.source, d.target) for d in extraction.dependencies] == [
        ("model.shop.stg_orders", "source.shop.raw.orders")
    ]


def test_an_explicit_manifest_anywhere_gives_gold(tmp_path: Path) -> None:
    write_files(tmp_path / "repo", DBT_PROJECT)
    path = write_manifest(tmp_path / "artifacts")

    extraction = extract_project(tmp_path / "repo", manifest=path)

    assert extraction.tier == "GOLD" and extraction.project_name == "shop"


def test_a_broken_manifest_is_an_error_not_a_silent_downgrade(tmp_path: Path) -> None:
    write_files(tmp_path, DBT_PROJECT)
    (tmp_path / "bad.json").write_text("{")

    with pytest.raises(ManifestError):
        extract_project(tmp_path, manifest=tmp_path / "bad.json")


def test_a_repository_with_the_project_in_a_subfolder(tmp_path: Path) -> None:
    write_files(tmp_path / "transform", DBT_PROJECT)

    assert extract_project(tmp_path).project_root == str((tmp_path / "transform").resolve())


def test_several_projects_must_be_chosen_between(tmp_path: Path) -> None:
    write_files(tmp_path / "a", DBT_PROJECT)
    write_files(tmp_path / "b", {**DBT_PROJECT, "dbt_project.yml": "name: other\n"})

    with pytest.raises(ProjectError, match="several dbt projects"):
        extract_project(tmp_path)


def test_nothing_to_read_is_a_project_error(tmp_path: Path) -> None:
    write_files(tmp_path, {"README.md": "nothing here"})

    with pytest.raises(ProjectError, match="no dbt project and no .sql files"):
        extract_project(tmp_path)


def test_extraction_to_json_is_plain_json(tmp_path: Path) -> None:
    write_files(tmp_path, DBT_PROJECT)
    write_manifest(tmp_path)

    data = extraction_to_json(extract_project(tmp_path))

    assert json.loads(json.dumps(data)) == data
    assert set(data) >= {"objects", "dependencies", "column_lineage", "errors"}
    model = next(o for o in data["objects"] if o["unique_id"] == "model.shop.stg_orders")
    assert set(model) >= {
        "unique_id", "name", "resource_type", "database", "schema", "alias", "materialization", "file_path",
        "raw_sql", "compiled_sql", "description", "columns", "tags", "tier", "confidence",
    }  # fmt: skip
    assert data["dependencies"] == [
        {"source": "model.shop.stg_orders", "target": "source.shop.raw.orders", "extracted_from": "manifest",
         "tier": "GOLD", "confidence": 1.0, "dependency_type": "source"},
    ]  # fmt: skip


# --- BRONZE -------------------------------------------------------------------------------------

PLAIN_SQL = {
    "etl/orders.sql": """
        create table mart.orders as
        with recent as (select * from raw.orders where day > current_date - 7)
        select r.*, c.name from recent r join mart.customers c on c.id = r.customer_id
    """,
    "etl/customers.sql": "insert into mart.customers select * from raw.crm_customers",
    "reports/revenue.sql": "select sum(total) from mart.orders",
    "broken.sql": "select from where (",
}


def test_plain_sql_files_become_bronze_objects_and_edges(tmp_path: Path) -> None:
    extraction = extract_project(write_files(tmp_path, PLAIN_SQL))

    assert extraction.tier == "BRONZE"
    edges = {(d.source, d.target) for d in extraction.dependencies}
    project = tmp_path.resolve().name
    assert edges == {
        (f"model.{project}.orders", f"source.{project}.raw.orders"),
        (f"model.{project}.orders", f"model.{project}.customers"),
        (f"model.{project}.customers", f"source.{project}.raw.crm_customers"),
        (f"model.{project}.revenue", f"model.{project}.orders"),
    }
    assert all(
        d.tier == "BRONZE" and d.confidence == TIER_CONFIDENCE["BRONZE"] for d in extraction.dependencies
    )
    orders = extraction.by_id()[f"model.{project}.orders"]
    assert (orders.relation_name, orders.file_path) == ("mart.orders", "etl/orders.sql")


def test_unparseable_plain_sql_is_an_error_with_file_and_line(tmp_path: Path) -> None:
    extraction = read_plain_sql(write_files(tmp_path, PLAIN_SQL), project_name="p")

    [error] = extraction.errors
    assert (error.kind, error.file, error.line) == ("sql", "broken.sql", 1)
    assert "model.p.broken" in extraction.by_id()


def test_two_files_writing_one_table_stay_two_objects(tmp_path: Path) -> None:
    files = {"a/load.sql": "insert into t select * from x", "b/load.sql": "insert into t select * from y"}
    extraction = read_plain_sql(write_files(tmp_path, files), project_name="p")

    assert sorted(o.unique_id for o in extraction.objects if o.resource_type == "model") == [
        "model.p.t",
        "model.p.t__b__load",
    ]


def test_dialect_specific_sql_parses_with_its_dialect(tmp_path: Path) -> None:
    files = {
        "q.sql": "select * from `proj.ds.events` qualify row_number() over (partition by id order by ts) = 1"
    }
    extraction = read_plain_sql(write_files(tmp_path, files), dialect="bigquery", project_name="p")

    assert [d.target for d in extraction.dependencies] == ["source.p.proj.ds.events"]


def test_extract_location_keeps_a_manifest_found_outside_the_project(tmp_path: Path) -> None:
    write_files(tmp_path / "transform", DBT_PROJECT)
    write_manifest(tmp_path / "docs")  # built for `shop`, committed next to, not inside, the project

    [location] = find_dbt_projects(tmp_path)

    assert extract_location(location).tier == "GOLD"
    assert extract_location(location, no_manifest=True).tier == "SILVER"
