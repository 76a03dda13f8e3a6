"""catalog.json columns, dbt project discovery and the manifests that belong to each project."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata_pipeline.ingest import (
    ProjectError,
    attach_catalog,
    find_dbt_projects,
    read_catalog,
    read_manifest,
)
from metadata_pipeline_tests.ingest.builders import manifest, node, source, write_files, write_json

CATALOG = {
    "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
    "nodes": {
        "model.shop.orders": {
            "unique_id": "model.shop.orders",
            "columns": {
                "TOTAL": {"name": "TOTAL", "type": "NUMBER", "index": 2, "comment": None},
                "ID": {"name": "ID", "type": "INTEGER", "index": 1, "comment": "key"},
            },
        },
        "model.shop.dropped": {"unique_id": "model.shop.dropped", "columns": {}},
    },
    "sources": {
        "source.shop.raw.orders": {"columns": {"id": {"name": "id", "type": "int", "index": 1}}},
    },
}


def test_catalog_columns_come_in_warehouse_order(tmp_path: Path) -> None:
    columns = read_catalog(write_json(tmp_path / "catalog.json", CATALOG))

    assert [
        (c.name, c.data_type, c.position, c.description, c.source) for c in columns["model.shop.orders"]
    ] == [
        ("ID", "INTEGER", 1, "key", "catalog"),
        ("TOTAL", "NUMBER", 2, None, "catalog"),
    ]


def test_attach_catalog_matches_objects_by_unique_id(tmp_path: Path) -> None:
    extraction = read_manifest(
        write_json(
            tmp_path / "manifest.json",
            manifest(12, nodes=[node("model", "orders", version=12), node("model", "fresh", version=12)],
                     sources=[source("raw", "orders")]),
        )
    )  # fmt: skip

    matched = attach_catalog(extraction, write_json(tmp_path / "catalog.json", CATALOG))

    objects = extraction.by_id()
    assert matched == 2
    assert [c.name for c in objects["model.shop.orders"].columns] == ["ID", "TOTAL"]
    assert objects["model.shop.fresh"].catalog_columns is None  # not built yet: no catalog entry
    assert [c.name for c in objects["source.shop.raw.orders"].columns] == ["id"]


def test_a_broken_catalog_is_recorded_not_raised(tmp_path: Path) -> None:
    extraction = read_manifest(
        write_json(tmp_path / "manifest.json", manifest(12, nodes=[node("model", "a", version=12)]))
    )
    broken = tmp_path / "catalog.json"
    broken.write_text('{"nodes": {"model.shop.a": {"columns": {')

    assert attach_catalog(extraction, broken) == 0
    [error] = extraction.errors
    assert error.kind == "catalog" and str(broken) in error.message


def test_discovery_finds_nested_projects_and_skips_packages(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "dbt_project.yml": "name: shop\nmodel-paths: [transform]\n",
            "target/manifest.json": "{}",
            "integration_tests/dbt_project.yml": "name: shop_tests\n",
            "dbt_packages/utils/dbt_project.yml": "name: utils\n",
            "node_modules/x/dbt_project.yml": "name: nope\n",
            "target/nested/dbt_project.yml": "name: nope\n",
            ".git/dbt_project.yml": "name: nope\n",
        },
    )
    write_json(tmp_path / "target" / "manifest.json", manifest(12, nodes=[], project="shop"))
    write_json(tmp_path / "target" / "catalog.json", {"nodes": {}})

    projects = {p.name: p for p in find_dbt_projects(tmp_path)}

    assert set(projects) == {"shop", "shop_tests"}
    assert projects["shop"].model_paths == ("transform",)
    assert projects["shop"].manifest_path == tmp_path / "target" / "manifest.json"
    assert projects["shop"].catalog_path == tmp_path / "target" / "catalog.json"
    assert projects["shop_tests"].manifest_path is None


def test_a_manifest_outside_the_project_goes_to_the_project_it_names(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"dbt_project.yml": "name: pkg\n", "integration_tests/dbt_project.yml": "name: pkg_tests\n"}
    )
    # v4 manifests only carry md5(project name) as project_id: that is enough to match.
    write_json(tmp_path / "docs" / "manifest.json", manifest(4, nodes=[], project="pkg_tests"))

    projects = {p.name: p for p in find_dbt_projects(tmp_path)}

    assert projects["pkg_tests"].manifest_path == tmp_path / "docs" / "manifest.json"
    assert projects["pkg"].manifest_path is None


def test_files_named_manifest_json_that_are_not_dbt_are_ignored(tmp_path: Path) -> None:
    write_files(tmp_path, {"dbt_project.yml": "name: shop\n", "web/manifest.json": '{"name": "my pwa"}'})

    assert find_dbt_projects(tmp_path)[0].manifest_path is None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"README.md": "hi"}, "no dbt project found"),
        ({"dbt_project.yml": "name: [broken\n"}, "invalid YAML"),
        ({"dbt_project.yml": "version: 2\n"}, "no `name`"),
    ],
)
def test_discovery_errors_are_clear(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write_files(tmp_path, files)

    with pytest.raises(ProjectError, match=message):
        find_dbt_projects(tmp_path)
