"""Which sqlglot dialect reads a dbt adapter's SQL, and which dialects to retry when parsing fails."""

from __future__ import annotations

import functools

from sqlglot.dialects.dialect import Dialect

# dbt adapter type -> sqlglot dialect. Adapters missing here fall back to their own name when sqlglot
# knows it, else to the generic dialect.
ADAPTER_DIALECTS: dict[str, str] = {
    "duckdb": "duckdb",
    "motherduck": "duckdb",
    "postgres": "postgres",
    "materialize": "materialize",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
    "redshift": "redshift",
    "trino": "trino",
    "starburst": "trino",
    "presto": "presto",
    "athena": "athena",
    "clickhouse": "clickhouse",
    "sqlserver": "tsql",
    "fabric": "tsql",
    "synapse": "tsql",
    "mssql": "tsql",
    "tsql": "tsql",
    "oracle": "oracle",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "teradata": "teradata",
    "exasol": "exasol",
    "dremio": "dremio",
    "doris": "doris",
    "starrocks": "starrocks",
    "hive": "hive",
}

# Dialects whose grammar is closest to each one, tried in order when a statement does not parse.
# The generic dialect ("") comes last everywhere: it accepts the common core of all of them.
_FALLBACKS: dict[str, tuple[str, ...]] = {
    "redshift": ("postgres",),
    "materialize": ("postgres",),
    "databricks": ("spark", "hive"),
    "spark": ("databricks", "hive"),
    "hive": ("spark",),
    "trino": ("presto",),
    "presto": ("trino",),
    "athena": ("trino", "presto"),
    "tsql": ("fabric",),
    "fabric": ("tsql",),
    "duckdb": ("postgres",),
    "snowflake": ("duckdb",),
    "bigquery": (),
}


def dialect_for_adapter(adapter_type: str | None) -> str:
    """The sqlglot dialect for a dbt adapter type ('' when unknown: sqlglot's generic dialect)."""
    if not adapter_type:
        return ""
    key = adapter_type.strip().lower()
    if key in ADAPTER_DIALECTS:
        return ADAPTER_DIALECTS[key]
    return normalize_dialect(key)


def normalize_dialect(dialect: str | None) -> str:
    """A dialect name sqlglot accepts ('' for the generic one); aliases like mssql are mapped."""
    if not dialect:
        return ""
    key = dialect.strip().lower()
    if key in ("mssql", "sqlserver", "synapse"):
        return "tsql"
    try:
        Dialect.get_or_raise(key)
    except (ValueError, KeyError):
        return ""
    return key


# Tried after a dialect's relatives: the generic dialect, then grammars that accept what others
# reject (backtick identifiers, TOP, LATERAL VIEW, `::` casts, bracket identifiers...).
_LAST_RESORT: tuple[str, ...] = ("", "duckdb", "spark", "snowflake", "bigquery", "tsql", "mysql")


def fallback_dialects(dialect: str) -> list[str]:
    """Dialects to retry, in order, after `dialect` fails to parse a statement."""
    chain: list[str] = []
    for candidate in (*_FALLBACKS.get(dialect, ()), *_LAST_RESORT):
        if candidate != dialect and candidate not in chain:
            chain.append(candidate)
    return chain


@functools.lru_cache(maxsize=64)
def dialect_instance(dialect: str) -> Dialect:
    """One shared Dialect per name: sqlglot builds a new one on every `sql(dialect="...")` call."""
    return Dialect.get_or_raise(dialect or None)
