"""`metadata-pipeline lineage sql|project` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from metadata_pipeline.cli.lineage_commands import lineage
from metadata_pipeline_tests.lineage.shop_project import (
    FCT_ORDERS,
    INT_ORDERS,
    MART,
    SRC_ORDERS,
    shop_extraction,
    write_manifest_project,
)


def _run_sql(sql: str, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(lineage, ["sql", *args], input=sql)
    payload = json.loads(result.output) if result.exit_code == 0 else {}
    return result.exit_code, payload


def test_sql_prints_the_documented_json() -> None:
    code, payload = _run_sql(
        "select o.id, upper(o.status) as status from orders o where o.amount > 0", "--dialect", "postgres"
    )
    assert code == 0
    assert set(payload) >= {"columns", "indirect", "tables", "errors"}
    assert payload["columns"][1] == {
        "column": "status",
        "upstreams": [{"table": "orders", "column": "status"}],
        "mapping_type": "Transform",
        "lineage_type": "direct",
        "transformation": "UPPER(status)",
        "confidence": payload["columns"][1]["confidence"],
    }
    assert payload["indirect"] == [{"table": "orders", "column": "amount", "role": "filter"}]
    assert payload["tables"] == ["orders"]
    assert payload["errors"] == []


def test_sql_with_schema_file_and_defaults(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps({"orders": {"id": "int", "amount": "int"}, "shop.public.customers": {"id": "int"}})
    )
    code, payload = _run_sql(
        "select * from orders",
        "--dialect",
        "postgres",
        "--schema",
        str(schema),
        "--default-db",
        "shop",
        "--default-schema",
        "public",
    )
    assert code == 0
    assert [c["column"] for c in payload["columns"]] == ["id", "amount"]
    assert payload["columns"][0]["upstreams"] == [{"table": "shop.public.orders", "column": "id"}]
    assert payload["columns"][0]["confidence"] == 1.0
    assert payload["tables"] == ["shop.public.orders"]


def test_sql_accepts_a_nested_schema_file(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"shop": {"public": {"orders": {"id": "int"}}}}))
    code, payload = _run_sql(
        "select * from shop.public.orders", "--dialect", "postgres", "--schema", str(schema)
    )
    assert code == 0
    assert payload["columns"][0]["upstreams"] == [{"table": "shop.public.orders", "column": "id"}]


@pytest.mark.parametrize(
    "sql",
    ["select from where (", "", "   ", "this is not sql at all;;;", "select 'unterminated"],
)
def test_bad_sql_is_reported_not_raised(sql: str) -> None:
    code, payload = _run_sql(sql, "--dialect", "snowflake")
    assert code == 0
    assert payload["errors"]


def test_unknown_dialect_is_read_as_generic_sql() -> None:
    code, payload = _run_sql("select a from t", "--dialect", "no-such-dialect")
    assert code == 0
    assert payload["columns"][0]["upstreams"] == [{"table": "t", "column": "a"}]
    assert "unknown dialect" in payload["errors"][0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"t": 3}', "must map"),
    ],
)
def test_unreadable_schema_file_is_a_usage_error(tmp_path: Path, content: str | None, message: str) -> None:
    schema = tmp_path / "schema.json"
    if content is not None:
        schema.write_text(content)
    result = CliRunner().invoke(
        lineage, ["sql", "--dialect", "duckdb", "--schema", str(schema)], input="select 1"
    )
    assert result.exit_code == 2
    assert message in result.output


def test_dialect_is_required() -> None:
    result = CliRunner().invoke(lineage, ["sql"], input="select 1")
    assert result.exit_code == 2


def test_project_command_fills_column_lineage(tmp_path: Path) -> None:
    manifest, catalog = write_manifest_project(tmp_path)
    out = tmp_path / "lineage.json"
    result = CliRunner().invoke(
        lineage,
        ["project", str(tmp_path), "--manifest", str(manifest), "--catalog", str(catalog), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert set(payload) >= {"objects", "dependencies", "column_lineage", "errors"}
    edges = payload["column_lineage"]
    edge = next(
        e for e in edges if e["target"] == f"{FCT_ORDERS}.amount_cents" and e["lineage_type"] == "direct"
    )
    assert edge == {
        "target": f"{FCT_ORDERS}.amount_cents",
        "source": f"{INT_ORDERS}.amount_cents",
        "mapping_type": "Direct",
        "lineage_type": "direct",
        "transformation": None,
        # The ephemeral model's columns are inferred from its SQL, not read from a catalog.
        "confidence": 0.95,
        "role": None,
    }
    assert any(e["target"] == f"{MART}.amount_cents" for e in edges)
    assert "lineage:" in result.stderr


def test_project_command_with_monkeypatched_reader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import metadata_pipeline.ingest as ingest

    monkeypatch.setattr(ingest, "extract_project", lambda *args, **kwargs: shop_extraction())
    result = CliRunner().invoke(lineage, ["project", str(tmp_path), "--workers", "1"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    sources = {e["source"] for e in payload["column_lineage"] if e["target"] == f"{INT_ORDERS}.amount_cents"}
    assert "model.shop.stg_orders.amount" in sources
    assert SRC_ORDERS + ".id" in {e["source"] for e in payload["column_lineage"]}


def test_project_command_reports_unreadable_projects(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    bad.write_text("{broken")
    result = CliRunner().invoke(lineage, ["project", str(tmp_path), "--manifest", str(bad)])
    assert result.exit_code == 1
    assert "manifest.json" in result.output


@pytest.mark.parametrize(
    ("dialect", "column", "upstream", "table"),
    [
        # Case-insensitive dialects that keep spelling: names as the SQL (columns: the schema) spell them.
        ("bigquery", "CustomerID", ("Sales.Orders", "CustomerId"), "Sales.Orders"),
        ("duckdb", "CustomerID", ("Sales.Orders", "CustomerId"), "Sales.Orders"),
        ("tsql", "CustomerID", ("Sales.Orders", "CustomerId"), "Sales.Orders"),
        # Dialects that fold unquoted names report them folded, as the warehouse does.
        ("snowflake", "CUSTOMERID", ("SALES.ORDERS", "CustomerId"), "SALES.ORDERS"),
        ("postgres", "customerid", ("sales.orders", "CustomerId"), "sales.orders"),
    ],
)
def test_sql_names_follow_the_dialects_case_rules(
    tmp_path: Path, dialect: str, column: str, upstream: tuple[str, str], table: str
) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"Sales.Orders": {"CustomerId": "int"}}))
    code, payload = _run_sql(
        "select CustomerID from Sales.Orders", "--dialect", dialect, "--schema", str(schema)
    )
    assert code == 0
    (only,) = payload["columns"]
    assert only["column"] == column
    assert [(u["table"], u["column"]) for u in only["upstreams"]] == [upstream]
    assert payload["tables"] == [table]
