"""Statement lineage, specified by the table of cases in `cases.py`."""

from __future__ import annotations

import pytest

from metadata_pipeline.lineage import statement_lineage
from metadata_pipeline_tests.lineage.cases import CASES, Case


def _split(name: str) -> tuple[str, str]:
    table, _, column = name.rpartition(".")
    return table, column


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_statement_lineage(case: Case) -> None:
    result = statement_lineage(
        case.sql, case.dialect, case.schema, default_db=case.defaults[0], default_schema=case.defaults[1]
    )
    actual = {c.column: (c.mapping_type, set(c.upstreams)) for c in result.columns}
    expected = {name: (mapping, {_split(u) for u in ups}) for name, (mapping, ups) in case.expect.items()}
    assert actual == expected, result.errors
    if case.indirect is not None:
        assert set(result.indirect) == case.indirect
    if case.tables is not None:
        assert sorted(result.tables) == sorted(case.tables)
    if case.target is not None:
        assert result.target == case.target
    for column, text in case.transformations.items():
        assert next(c.transformation for c in result.columns if c.column == column) == text
    if case.errors:
        assert result.errors
    else:
        assert result.errors == []
    for column in result.columns:
        assert column.lineage_type == "direct"
        assert 0.0 <= column.confidence <= 1.0
        if (
            column.mapping_type == "Direct"
            and column.upstreams
            and case.transformations.get(column.column) is None
        ):
            assert column.transformation is None


def test_case_table_covers_the_required_dialects() -> None:
    dialects = {c.dialect for c in CASES}
    assert {"duckdb", "postgres", "snowflake", "bigquery", "databricks", "redshift"} <= dialects
    assert len(CASES) >= 80
