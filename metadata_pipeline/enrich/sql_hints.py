"""What a model's SQL says about its output columns: `sum(amount) as revenue` -> "Total amount".

Only the outermost SELECT matters (following `select * from final` into the CTE it reads, as dbt style
guides write models). Any parse failure, including uncompiled Jinja, simply yields no hints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

log = logging.getLogger(__name__)

# dbt adapter type -> sqlglot dialect, where the names differ or a close relative parses it best.
ADAPTER_DIALECTS: dict[str, str] = {
    "sqlserver": "tsql",
    "fabric": "tsql",
    "synapse": "tsql",
    "databricks": "databricks",
    "spark": "spark",
    "athena": "athena",
    "glue": "spark",
    "materialize": "postgres",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "duckdb": "duckdb",
    "trino": "trino",
    "clickhouse": "clickhouse",
}
MAX_STAR_HOPS = 5
TEMPORAL_SUFFIXES = ("_at", "_date", "_ts", "_time", "_timestamp", "_on", "date")


def projections(sql: str | None, adapter_type: str | None) -> dict[str, exp.Expression]:
    """Output column (lower-cased) -> the expression that computes it, for the query's final SELECT."""
    if not sql or "{{" in sql or "{%" in sql:
        return {}
    try:
        tree = sqlglot.parse_one(sql, read=ADAPTER_DIALECTS.get(adapter_type or "", adapter_type or None))
    except (SqlglotError, ValueError, KeyError) as exc:  # unknown dialects raise ValueError/KeyError
        log.debug("no SQL hints: %s", exc)
        return {}
    select = _final_select(tree)
    if select is None:
        return {}
    return {
        proj.alias_or_name.lower(): proj.unalias()
        for proj in select.selects
        if proj.alias_or_name and not isinstance(proj.unalias(), exp.Star)
    }


def _final_select(tree: exp.Expression) -> exp.Select | None:
    ctes = {cte.alias.lower(): cte.this for cte in tree.ctes} if hasattr(tree, "ctes") else {}
    node: exp.Expression | None = tree
    for _ in range(MAX_STAR_HOPS):
        while isinstance(node, exp.SetOperation):  # a UNION's columns are named by its first branch
            node = node.left
        if not isinstance(node, exp.Select):
            return None
        if not (len(node.selects) == 1 and isinstance(node.selects[0], exp.Star)):
            return node
        source = node.args.get("from_") or node.args.get("from")
        table = source.this if source is not None else None
        name = table.name.lower() if isinstance(table, exp.Table) else ""
        if name not in ctes:
            return None
        node = ctes[name]
    return None


def describe_expression(expression: exp.Expression) -> str | None:
    """A one-line description of what an expression computes, or None when it is a plain column."""
    node = expression
    while isinstance(node, exp.Cast | exp.TryCast | exp.Paren):
        node = node.this
    for kind, describe in _DESCRIBERS:
        if isinstance(node, kind):
            return describe(node)
    return None


def _columns_in(node: exp.Expression) -> list[str]:
    names: list[str] = []
    for col in node.find_all(exp.Column):
        if col.name and col.name not in names:
            names.append(col.name)
    return names


def _words(node: exp.Expression) -> str:
    cols = _columns_in(node)
    return " and ".join(c.replace("_", " ") for c in cols[:3]) if cols else "rows"


def _is_temporal(node: exp.Expression) -> bool:
    return any(c.lower().endswith(TEMPORAL_SUFFIXES) for c in _columns_in(node))


def _count(node: exp.Expression) -> str:
    inner = node.this
    if inner is None or isinstance(inner, exp.Star):
        return "Number of rows aggregated into this row"
    if isinstance(inner, exp.Distinct):
        return f"Number of distinct {_words(inner)}"
    return f"Number of non-null {_words(inner)} values"


def _min_max(node: exp.Expression) -> str:
    earliest = isinstance(node, exp.Min)
    if _is_temporal(node):
        return f"{'Earliest' if earliest else 'Latest'} {_words(node)}"
    return f"{'Minimum' if earliest else 'Maximum'} {_words(node)}"


def _window(node: exp.Window) -> str:
    func = node.this
    name = func.key.replace("_", " ") if func is not None else "window function"
    partition = node.args.get("partition_by") or []
    by = " per " + " and ".join(_words(p) for p in partition) if partition else ""
    return f"Window {name}{by}"


_DESCRIBERS: list[tuple[Any, Callable[[Any], str]]] = [
    (exp.Window, _window),
    (exp.Sum, lambda n: f"Total {_words(n)}"),
    (exp.Count, _count),
    (exp.Avg, lambda n: f"Average {_words(n)}"),
    (exp.Min | exp.Max, _min_max),
    (exp.Case | exp.If, lambda n: f"Derived with conditional logic over {_words(n)}"),
    (exp.Coalesce, lambda n: f"First non-null value among {_words(n)}"),
    (exp.Concat | exp.DPipe | exp.ConcatWs, lambda n: f"Concatenation of {_words(n)}"),
    (exp.DateDiff | exp.DatetimeDiff | exp.TimestampDiff, lambda n: f"Time difference between {_words(n)}"),
    (exp.Div, lambda n: f"Ratio computed from {_words(n)}"),
    (exp.Mul | exp.Add | exp.Sub, lambda n: f"Calculated from {_words(n)}"),
]
