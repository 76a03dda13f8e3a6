"""What the engine promises beyond single cases: confidence, fallbacks, time limits, schema lookup."""

from __future__ import annotations

import subprocess
import sys

import pytest

from metadata_pipeline.lineage import classify, statement_lineage
from metadata_pipeline.lineage.lineage_schema import LineageSchema
from metadata_pipeline.lineage.readable import LeafText
from metadata_pipeline.lineage.scope_walk import ColumnTrace


def test_confidence_is_full_only_with_a_full_schema() -> None:
    with_schema = statement_lineage("select a from t", "duckdb", {"t": {"a": "int"}})
    without = statement_lineage("select a from t", "duckdb")
    star = statement_lineage("select * from t", "duckdb")
    assert with_schema.columns[0].confidence == 1.0
    assert without.columns[0].confidence < 1.0
    assert star.columns[0].confidence < without.columns[0].confidence


def test_parse_failure_falls_back_to_another_dialect() -> None:
    result = statement_lineage("select `a` from t", "postgres", {"t": {"a": "int"}})
    assert result.columns[0].upstreams == [("t", "a")]
    assert result.errors and result.errors[0].startswith("parse:")
    assert result.confidence < 1.0
    assert result.columns[0].confidence < 1.0


def test_unparseable_statement_never_raises() -> None:
    for sql in ["select (((", "drop", "\x00\x01", "select * from"]:
        result = statement_lineage(sql, "snowflake")
        assert isinstance(result.errors, list)


def test_time_limit_stops_a_huge_statement() -> None:
    branches = " union all ".join(f"select c{i} + c{i + 1} as x from t{i}" for i in range(1500))
    result = statement_lineage(f"with u as ({branches}) select x from u", "duckdb", timeout_s=0.05)
    assert any(e.startswith("timeout") for e in result.errors)
    assert result.confidence == 0.0


def test_ddl_declares_columns_without_upstreams() -> None:
    result = statement_lineage("create table t (id int, name text)", "postgres")
    assert [(c.column, c.mapping_type, c.upstreams) for c in result.columns] == [
        ("id", "Calculated", []),
        ("name", "Calculated", []),
    ]
    assert result.target == "t"


def test_drop_names_its_target() -> None:
    result = statement_lineage("drop table analytics.old_orders", "snowflake")
    assert result.target == "ANALYTICS.OLD_ORDERS"
    assert result.columns == []


@pytest.mark.parametrize(
    ("dialect", "names"),
    [
        ("duckdb", ["count(x)", "max(y)", "(x + 1)", "upper(y)"]),
        ("databricks", ["count(x)", "max(y)", "(x + 1)", "upper(y)"]),
        ("snowflake", ["COUNT(X)", "MAX(Y)", "(X + 1)", "UPPER(Y)"]),
        # Postgres names a call after its function and an operator `?column?`.
        ("postgres", ["count", "max", "?column?", "upper"]),
        ("redshift", ["count", "max", "?column?", "upper"]),
    ],
)
def test_unaliased_expressions_are_named_as_the_dialect_names_them(dialect: str, names: list[str]) -> None:
    sql = "select count(x), max(y), (x + 1), upper(y) from t"
    assert [c.column for c in statement_lineage(sql, dialect).columns] == names
    # The same names reach an enclosing query through a CTE's `*`.
    nested = statement_lineage(f"with c as ({sql}) select * from c", dialect, {"t": {"x": "int", "y": "int"}})
    assert [c.column for c in nested.columns] == names
    assert [[(t.lower(), c.lower()) for t, c in col.upstreams] for col in nested.columns] == [
        [("t", "x")],
        [("t", "y")],
        [("t", "x")],
        [("t", "y")],
    ]


def test_transformation_reads_in_source_columns_and_qualifies_clashes() -> None:
    result = statement_lineage(
        "with a as (select id, amount * 2 as double from o) select a.id + c.id as k, double from a join c on true",
        "duckdb",
        {"o": {"id": "int", "amount": "int"}, "c": {"id": "int"}},
    )
    by_name = {c.column: c for c in result.columns}
    assert by_name["k"].transformation == "o.id + c.id"
    assert by_name["double"].transformation == "amount * 2"


def test_schema_resolves_partial_names_only_when_unambiguous() -> None:
    schema = LineageSchema.from_mapping(
        {"db.s1.orders": {"a": "int"}, "db.s2.orders": {"b": "int"}, "db.s1.customers": {"c": "int"}},
        "duckdb",
    )
    assert schema.resolve(("customers",)) == ("db", "s1", "customers")
    assert schema.resolve(("s2", "orders")) == ("db", "s2", "orders")
    assert schema.resolve(("orders",)) is None  # two candidates
    assert schema.resolve(("other", "s1", "customers")) is None
    assert schema.resolve(("DB", "S1", "CUSTOMERS")) == ("db", "s1", "customers")  # case folded last


def test_schema_ignores_unreadable_types() -> None:
    result = statement_lineage("select * from t", "bigquery", {"t": {"a": "USER-DEFINED", "b": "STRUCT<<>"}})
    assert [c.column for c in result.columns] == ["a", "b"]


A, B, U = ("t", "a"), ("t", "b"), ("u", "a")


@pytest.mark.parametrize(
    ("upstreams", "direct", "inputs", "expected"),
    [
        (set(), False, [], "Calculated"),
        ({A}, True, [{A}], "Direct"),
        ({A, U}, True, [{A, U}], "Direct"),  # a UNION of copies
        ({A}, False, [{A}], "Transform"),
        ({A, U}, False, [{A, U}], "Transform"),  # UPPER() over a UNION of copies: one input
        ({A, B}, False, [{A}, {B}], "Derived"),
    ],
)
def test_classify(upstreams: set, direct: bool, inputs: list, expected: str) -> None:
    trace = ColumnTrace(
        upstreams=frozenset(upstreams),
        indirect=frozenset(),
        readable=LeafText("x"),
        direct=direct,
        inputs=frozenset(frozenset(i) for i in inputs),
    )
    assert classify(trace) == expected


def test_unresolved_names_still_classify() -> None:
    bare = statement_lineage("select x from a join b on a.k = b.k", "duckdb").columns[0]
    mixed = statement_lineage("select x + y as s from a join b on a.k = b.k", "duckdb").columns[0]
    assert (bare.mapping_type, bare.upstreams) == ("Direct", [])
    assert (mixed.mapping_type, mixed.upstreams) == ("Derived", [])


def test_core_does_not_import_dagster() -> None:
    code = (
        "import sys, metadata_pipeline.lineage, metadata_pipeline.cli.lineage_commands; "
        "print(any(m == 'dagster' or m.startswith('dagster.') for m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
