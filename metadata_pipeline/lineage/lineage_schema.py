"""A sqlglot schema that tolerates mixed-depth table names and bad type strings.

sqlglot's MappingSchema wants every table at the same depth (all `t`, or all `db.t`...) and raises on
type strings it cannot parse. Real inputs mix `orders` with `analytics.public.customers`, and catalogs
carry types like `USER-DEFINED`. This schema stores each table under its own normalized parts and
resolves a reference when exactly one known table agrees with it on every part both spell out.
"""

from __future__ import annotations

import functools
import json
import re
import typing as t
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.schema import MappingSchema, nested_set, normalize_name

from metadata_pipeline.lineage.dialects import dialect_instance
from metadata_pipeline.lineage.errors import LineageError

TableKey = tuple[str, ...]


class LineageSchema(MappingSchema):
    """`{table parts: {column: type}}` with suffix matching: `orders` finds `shop.public.orders`."""

    def __init__(self, tables: Mapping[TableKey, Mapping[str, str]], dialect: str = "") -> None:
        self.tables: dict[TableKey, dict[str, str]] = {k: dict(v) for k, v in tables.items() if k and v}
        depth = max((len(k) for k in self.tables), default=0)
        nested: dict[str, object] = {}
        for key, columns in self.tables.items():
            # The base class only needs a uniform shape for its own bookkeeping; lookups go through
            # `find` below, so the padding never leaks into results.
            nested_set(nested, ("",) * (depth - len(key)) + key, columns)
        super().__init__(nested, dialect=dialect, normalize=False)
        self._by_last: dict[str, list[TableKey]] = {}
        self._by_last_folded: dict[str, list[TableKey]] = {}
        for key in self.tables:
            self._by_last.setdefault(key[-1], []).append(key)
            self._by_last_folded.setdefault(key[-1].casefold(), []).append(key)
        self._resolve_cache: dict[TableKey, TableKey | None] = {}

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str | TableKey, Mapping[str, str]] | None, dialect: str = ""
    ) -> LineageSchema:
        """Build from user input: keys are 1-3 part names (strings parsed in `dialect`, or tuples).

        Names are normalized the way `dialect` normalizes unquoted identifiers; a quoted name
        (`'"MixedCase"'`) keeps its case, and so does a mixed-case column name in a dialect that
        folds unquoted names to one case: only a quoted identifier can be stored that way.
        """
        tables: dict[TableKey, dict[str, str]] = {}
        for raw_key, columns in (mapping or {}).items():
            key = table_key(raw_key, dialect)
            if not key or not isinstance(columns, Mapping):
                continue
            normalized = tables.setdefault(key, {})
            for column, data_type in columns.items():
                normalized[_input_column_key(str(column), dialect)] = str(data_type) if data_type else "UNKNOWN"
        return cls(tables, dialect=dialect)

    @property
    def empty(self) -> bool:
        return not self.tables

    def resolve(self, parts: Iterable[str]) -> TableKey | None:
        """The one known table whose name agrees with `parts` (case-folded as a last resort)."""
        wanted = tuple(parts)
        if not wanted:
            return None
        if wanted in self._resolve_cache:
            return self._resolve_cache[wanted]
        found = _pick(wanted, self._by_last.get(wanted[-1], []), fold=False)
        if found is None:
            found = _pick(wanted, self._by_last_folded.get(wanted[-1].casefold(), []), fold=True)
        if found is None and "$" in wanted[-1]:
            # BigQuery partition decorators (`t$20240101`) read table t.
            found = self.resolve((*wanted[:-1], wanted[-1].split("$", 1)[0]))
        self._resolve_cache[wanted] = found
        return found

    def columns_of(self, parts: Iterable[str]) -> dict[str, str] | None:
        key = self.resolve(parts)
        return self.tables[key] if key else None

    def find(
        self, table: exp.Table, raise_on_missing: bool = True, ensure_data_types: bool = False
    ) -> t.Any | None:
        columns = self.columns_of(p.name for p in table.parts)
        if columns is None or not ensure_data_types:
            return columns
        return {name: self._to_data_type(data_type) for name, data_type in columns.items()}

    def _to_data_type(self, schema_type: str, dialect: t.Any = None) -> exp.DataType:
        try:
            return super()._to_data_type(schema_type, dialect=dialect)
        except (SqlglotError, ValueError, AttributeError):
            # A type we cannot read must not stop lineage: lineage never depends on column types.
            return exp.DataType.build("UNKNOWN")


def _pick(wanted: TableKey, candidates: list[TableKey], fold: bool) -> TableKey | None:
    def norm(key: TableKey) -> TableKey:
        return tuple(p.casefold() for p in key) if fold else key

    target = norm(wanted)
    compatible = []
    for key in candidates:
        size = min(len(key), len(target))
        if norm(key)[-size:] == target[-size:]:
            compatible.append(key)
    if len(compatible) == 1:
        return compatible[0]
    exact = [k for k in compatible if norm(k) == target]
    return exact[0] if len(exact) == 1 else None


def table_key(name: str | TableKey | exp.Table, dialect: str = "") -> TableKey:
    """Normalized parts of a table name given as a string, a tuple of parts or a Table."""
    if isinstance(name, tuple):
        return tuple(_normalize_part(p, dialect) for p in name if p)[-3:]
    if isinstance(name, exp.Table):
        return tuple(p.name for p in name.parts if p.name)[-3:]
    try:
        table = exp.to_table(name, dialect=dialect)
    except (ParseError, TokenError, SqlglotError, ValueError):
        return tuple(p for p in name.split(".") if p)[-3:]
    parts = []
    for part in table.parts:
        if isinstance(part, exp.Identifier):
            parts.append(normalize_name(part, dialect=dialect, is_table=True).name)
        else:
            parts.append(part.name)
    # Warehouses name a table with at most database.schema.table; longer names are noise.
    return tuple(p for p in parts if p)[-3:]


def _normalize_part(part: str, dialect: str) -> str:
    try:
        return normalize_name(exp.to_identifier(part), dialect=dialect, is_table=True).name
    except (ParseError, TokenError, SqlglotError, ValueError):
        return part


def column_key(name: str, dialect: str = "") -> str:
    """A column name as `dialect` normalizes it; quoted names keep their case."""
    try:
        if _PLAIN_NAME.match(name):
            # An unquoted ASCII word: every dialect leaves it as it is, lower-cases it or
            # upper-cases it (see `plain_case`), without the tokenizer, parser and fresh Dialect
            # `normalize_name` spends on it. Projects normalize thousands of catalog names per run.
            case = plain_case(dialect)
            return case(name) if case else name
        return normalize_name(name, dialect=dialect).name
    except (ParseError, TokenError, SqlglotError, ValueError):
        return name


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _input_column_key(name: str, dialect: str) -> str:
    """A column name from a user's schema: `CustomerId` in Postgres (or Snowflake) can only be a
    quoted name stored exactly so; all-lower or all-upper names are normalized as usual."""
    if _PLAIN_NAME.match(name) and not name.islower() and not name.isupper() and plain_case(dialect):
        return name
    return column_key(name, dialect)


@functools.lru_cache(maxsize=64)
def plain_case(dialect: str) -> t.Callable[[str], str] | None:
    """How `dialect` normalizes an unquoted plain ASCII column name: str.lower, str.upper or not at
    all (None). Read off sqlglot itself with a mixed-case probe, so it follows the dialect's own
    rules (checked equal to `normalize_name` for every keyword of every dialect we map)."""
    identifier = exp.Identifier(this="aB_c", quoted=False)
    identifier.meta["is_table"] = False
    probe = dialect_instance(dialect).normalize_identifier(identifier).name
    if probe in ("ab_c", "AB_C", "aB_c"):
        return {"ab_c": str.lower, "AB_C": str.upper}.get(probe)
    return lambda name: normalize_name(name, dialect=dialect).name  # rules of some other shape


def quoted_column(name: str, dialect: str = "") -> str:
    """`name` quoted for `dialect`, so that `column_key` keeps it exactly as stored."""
    return exp.to_identifier(name, quoted=True).sql(dialect=Dialect.get_or_raise(dialect or None))


def read_schema_file(path: Path) -> dict[str | TableKey, dict[str, str]]:
    """A schema file: JSON `{table name (1-3 dotted parts): {column: type}}`.

    Nested JSON (`{db: {schema: {table: {column: type}}}}`) is accepted too. Raises LineageError
    naming the file when it cannot be read or does not have that shape.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LineageError(f"{path}: cannot read the schema file ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise LineageError(f"{path}: the schema file is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise LineageError(f"{path}: the schema file must be a JSON object of table -> {{column: type}}")
    tables: dict[str | TableKey, dict[str, str]] = {}
    _flatten_schema(data, (), tables, path)
    return tables


def _flatten_schema(
    node: dict[str, t.Any], prefix: TableKey, out: dict[str | TableKey, dict[str, str]], path: Path
) -> None:
    """Dotted keys stay strings (parsed later in the statement's dialect); nested levels become
    tuples of parts."""
    for key, value in node.items():
        if not isinstance(value, dict):
            raise LineageError(
                f"{path}: {'.'.join((*prefix, str(key)))} must map to an object of column -> type"
            )
        if value and all(isinstance(v, dict) for v in value.values()) and len(prefix) < 2:
            _flatten_schema(value, (*prefix, str(key)), out, path)
            continue
        if not all(v is None or isinstance(v, (str, int, float)) for v in value.values()):
            raise LineageError(
                f"{path}: the columns of {'.'.join((*prefix, str(key)))} must map to type names"
            )
        columns = {str(c): str(v) if v is not None else "UNKNOWN" for c, v in value.items()}
        out[(*prefix, str(key)) if prefix else str(key)] = columns
