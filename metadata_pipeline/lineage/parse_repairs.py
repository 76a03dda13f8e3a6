"""Undo the few ways sqlglot's parse of valid SQL would hide lineage, before anything else runs.

Each repair is one small function over a parsed statement, applied for the dialects it concerns:

- `col->'key'` inside a function's arguments parses as a lambda `col -> 'key'` (Postgres has no
  lambdas at all; in DuckDB a lambda whose body is a constant is meaningless): it becomes the JSON
  arrow it is, so `coalesce(payload->'name', ...)` keeps its lineage to `payload`.
- `FROM jsonb_array_elements_text(x) AS v` in Postgres names both the row source and its one
  column `v`; sqlglot only knows the first, so `SELECT v` would not resolve. Such set-returning
  functions get the column list Postgres implies (`AS v(v)`).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

# Dialects without lambda syntax, where every parsed lambda is a JSON arrow.
_NO_LAMBDAS = frozenset({"postgres", "redshift", "materialize", "risingwave"})
# Dialects with lambdas, where one with a constant body can only be a JSON arrow.
_CONSTANT_BODY_ARROWS = frozenset({"duckdb"})

# Postgres set-returning functions that return one scalar per row: the alias names the column too.
_SCALAR_SET_FUNCTIONS = frozenset(
    {
        "jsonb_array_elements",
        "jsonb_array_elements_text",
        "json_array_elements",
        "json_array_elements_text",
        "jsonb_object_keys",
        "json_object_keys",
        "jsonb_path_query",
        "generate_series",
        "generate_subscripts",
        "regexp_split_to_table",
        "regexp_matches",
        "string_to_table",
    }
)
_ALIAS_IS_COLUMN = frozenset({"postgres", "redshift", "materialize", "risingwave"})


def repair(statement: exp.Expr, dialect: str) -> exp.Expr:
    """`statement` with the repairs for `dialect` applied (in place where possible)."""
    if dialect in _NO_LAMBDAS or dialect in _CONSTANT_BODY_ARROWS:
        statement = _lambdas_to_json_arrows(statement, dialect)
    if dialect in _ALIAS_IS_COLUMN:
        _name_scalar_set_function_columns(statement)
    return statement


def _lambdas_to_json_arrows(statement: exp.Expr, dialect: str) -> exp.Expr:
    for node in list(statement.find_all(exp.Lambda)):
        params = node.expressions
        if len(params) != 1 or not isinstance(params[0], exp.Identifier):
            continue
        body = node.this
        if dialect in _CONSTANT_BODY_ARROWS and not isinstance(body, exp.Literal):
            continue
        arrow = _parse_expression(f"{params[0].sql(dialect=dialect)} -> {body.sql(dialect=dialect)}", dialect)
        if arrow is None:
            continue
        if node is statement:
            return arrow
        node.replace(arrow)
    return statement


def _name_scalar_set_function_columns(statement: exp.Expr) -> None:
    for table in statement.find_all(exp.Table):
        function = table.this
        alias = table.args.get("alias")
        if not isinstance(function, exp.Func) or not isinstance(alias, exp.TableAlias):
            continue
        if alias.columns or not alias.name or _function_name(function) not in _SCALAR_SET_FUNCTIONS:
            continue
        alias.set("columns", [exp.to_identifier(alias.name)])


def _function_name(function: exp.Func) -> str:
    if isinstance(function, exp.Anonymous):
        return str(function.name).lower()
    return function.sql_name().lower()


def _parse_expression(text: str, dialect: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(text, read=dialect)
    except SqlglotError:
        return None
