"""Column lineage of one SQL statement: parse and qualify once, then resolve every output column.

`statement_lineage` never raises on bad SQL. A parse failure retries with related dialects (then
generic SQL) and is written to `errors`; a qualify failure retries with gentler settings and is
written to `warnings` (or to `errors` when no column could be qualified). Every fallback lowers
`confidence`. Classification of each output column:

- Direct: a copy of one column, renamed or not, through any number of CTEs/subqueries.
  Set-operation branches that each copy a column keep the output Direct, with one upstream per
  branch.
- Transform: an expression over one input: one column (UPPER(a), SUM(a), CAST(a AS date), a::date
  + 1) or one UNION-fed column (each branch contributing one column). A cast changes the value's
  type, so it is a transformation; enrichment still lets descriptions follow a cast-only edge.
- Derived: an expression over several inputs (a + b, COALESCE(a, b), CASE WHEN c THEN a END).
- Calculated: no source column at all (literals, CURRENT_TIMESTAMP, COUNT(*), ROW_NUMBER() OVER...).

Only value lineage goes into `upstreams`; columns that filter, join, group, order, partition or
qualify rows are `indirect` with a role (see `scope_walk` for the exact rules).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope

from metadata_pipeline.lineage.dialects import dialect_instance, fallback_dialects, normalize_dialect
from metadata_pipeline.lineage.edges import LineageType, MappingType
from metadata_pipeline.lineage.lineage_schema import LineageSchema, TableKey, table_key
from metadata_pipeline.lineage.parse_repairs import repair
from metadata_pipeline.lineage.readable import ExprText, Renderer
from metadata_pipeline.lineage.scope_walk import (
    NATURAL_KEYS,
    USING_META,
    ColumnTrace,
    LineageTimeout,
    ScopeResult,
    ScopeWalker,
    TableNamer,
    columns_rewrite,
    mark_projection_names,
    merge_branches,
    tag_columns_selects,
)
from metadata_pipeline.lineage.statements import DELETE, MERGE, SourceQuery, StatementShape, shape_of

# Bumped whenever a change to the engine can change its output: part of every cache key.
ENGINE_VERSION = "6"

# Confidence multipliers for each way a statement can fall short of a clean, schema-backed read.
_FALLBACK_DIALECT_FACTOR = 0.8
_PARSE_RECOVERY_FACTOR = 0.5

# Qualify settings to try in order: the strict one first, then ones that tolerate missing schemas
# (lateral aliases over unknown tables), columns missing from the schema, and finally no column
# qualification at all (the walk then places columns itself).
_QUALIFY_ATTEMPTS: tuple[tuple[dict[str, Any], float, bool], ...] = (
    ({}, 1.0, False),
    ({"expand_alias_refs": False}, 0.95, False),
    # A qualified column the schema does not list (a stale catalog, a partial schema.yml).
    ({"allow_partial_qualification": True}, 0.9, False),
    ({"allow_partial_qualification": True, "expand_alias_refs": False}, 0.9, False),
    # `WHERE ts > (SELECT MAX(ts) FROM this_table)` over an unknown table: sqlglot will not guess
    # whether `ts` inside is correlated; a one-table subquery's bare names are its table's.
    ({"allow_partial_qualification": True, "expand_alias_refs": False}, 0.85, True),
    ({"qualify_columns": False}, 0.6, False),
)
_PARTIAL_ATTEMPT = 2
_LONE_SUBQUERY_ATTEMPT = 4

Rewrite = Callable[[exp.Expr], exp.Expr]


@dataclass
class ColumnLineage:
    """Lineage of one output column. `upstreams` holds value lineage only, as (table, column)."""

    column: str
    upstreams: list[tuple[str, str]]
    mapping_type: MappingType
    lineage_type: LineageType = "direct"
    transformation: str | None = None
    confidence: float = 1.0
    # (table, column, role) that shape this column's rows without being its value.
    indirect: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "upstreams": [{"table": t, "column": c} for t, c in self.upstreams],
            "mapping_type": self.mapping_type,
            "lineage_type": self.lineage_type,
            "transformation": self.transformation,
            "confidence": self.confidence,
        }


@dataclass
class StatementLineage:
    columns: list[ColumnLineage] = field(default_factory=list)
    indirect: list[tuple[str, str, str]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # physical tables read
    errors: list[str] = field(default_factory=list)
    target: str | None = None  # the table written, for INSERT/CREATE/MERGE/UPDATE/SELECT INTO
    statement_type: str = "SELECT"
    confidence: float = 1.0
    # Recoveries that still produced full lineage (e.g. a retry qualify needed); not errors.
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "indirect": [{"table": t, "column": c, "role": r} for t, c, r in self.indirect],
            "tables": list(self.tables),
            "errors": list(self.errors),
            "target": self.target,
            "statement_type": self.statement_type,
            "warnings": list(self.warnings),
        }


def statement_lineage(
    sql: str,
    dialect: str,
    schema: dict[Any, Any] | LineageSchema | None = None,
    default_db: str | None = None,
    default_schema: str | None = None,
    timeout_s: float | None = None,
    *,
    rewrite: Rewrite | None = None,
    strict_schema: bool = False,
    preserve_case: bool = False,
) -> StatementLineage:
    """Lineage of every output column of one SQL statement, down to physical tables.

    `schema` maps table names (1-3 dotted parts, or tuples of parts) to `{column: type}`;
    `default_db`/`default_schema` qualify unqualified tables (database = sqlglot's catalog, schema =
    sqlglot's db). `rewrite` is applied to the parsed statement before anything else (the project
    layer uses it to swap dbt's inlined ephemeral CTEs for references to the ephemeral model).
    A column no schema in reach lists is still read from its scope's only source, at lower
    confidence, since a schema can be out of date (the SQL proves the column exists);
    `strict_schema=True` leaves it unresolved instead.

    With `preserve_case`, dialects that match names case-insensitively but keep their spelling
    (BigQuery, DuckDB, Spark/Databricks, T-SQL...) report names as the SQL (or, for columns, the
    schema) spells them, as the warehouse would; otherwise names are normalized (lower-cased there).
    """
    run = _StatementRun(
        dialect=normalize_dialect(dialect),
        defaults=(default_db, default_schema),
        deadline=time.monotonic() + timeout_s if timeout_s else None,
        strict_schema=strict_schema,
        preserve_case=preserve_case and normalize_dialect(dialect) in _SPELLING_KEEPERS,
    )
    result = run.result
    try:
        with _time_limit(timeout_s):
            run.execute(sql, schema, rewrite)
            expansions = run.columns_expansions
            if expansions:
                # DuckDB COLUMNS(...) chose its columns: trace the SQL again with them spelled
                # out, so that every scope (an outer `*` included) sees the real names.
                run = replace(run, result=StatementLineage(), columns_expansions={})
                result = run.result
                run.execute(sql, schema, _then(rewrite, columns_rewrite(expansions)))
    except LineageTimeout:
        result.errors.append(f"timeout: lineage took longer than {timeout_s}s")
        result.confidence = 0.0
        for column in result.columns:
            column.confidence = 0.0
    except RecursionError:
        result.errors.append("internal: statement nests too deeply to analyse")
        result.confidence = 0.0
    except Exception as exc:  # noqa: BLE001 - one odd statement must never stop a project's lineage
        result.errors.append(f"internal: {type(exc).__name__}: {exc}")
        result.confidence = min(result.confidence, 0.3)
    return result


@dataclass
class _StatementRun:
    """The settings and partial result of one `statement_lineage` call."""

    dialect: str
    defaults: tuple[str | None, str | None]  # (database, schema) for unqualified tables
    deadline: float | None
    strict_schema: bool
    preserve_case: bool = False
    result: StatementLineage = field(default_factory=StatementLineage)
    columns_expansions: dict[int, dict[int, list[tuple[str, str, str]]]] = field(default_factory=dict)
    _reparse: Callable[[], StatementShape] = field(default=lambda: StatementShape(kind="UNKNOWN"), repr=False)

    def execute(
        self, sql: str, schema: dict[Any, Any] | LineageSchema | None, rewrite: Rewrite | None
    ) -> None:
        result = self.result
        sql, cleaned_factor = _without_leftovers(sql, result.warnings)
        statement, factor, parsed_as = _parse(sql, self.dialect, result.errors)
        factor = min(factor, cleaned_factor)
        if statement is None:
            result.confidence = 0.0
            result.statement_type = "UNKNOWN"
            return
        if isinstance(statement, exp.Command):
            result.errors.append(
                f"unsupported: the {self.dialect or 'generic'} parser reads this statement only as an "
                f"opaque {str(statement.name).upper()} command; no lineage"
            )
            result.confidence = 0.0
            result.statement_type = "UNKNOWN"
            return
        lineage_schema = (
            schema if isinstance(schema, LineageSchema) else LineageSchema.from_mapping(schema, self.dialect)
        )
        spelling = Spelling.of(statement, schema) if self.preserve_case else None
        shape = self._shape(statement, rewrite)

        def reparse() -> StatementShape:
            # qualify rewrites the tree it is given: a retry needs a fresh one, and re-parsing
            # the rare failure is cheaper than copying every tree just in case.
            fresh = sqlglot.parse(sql, read=parsed_as or None, error_level=ErrorLevel.IGNORE)
            return self._shape(_main_statement(fresh) or exp.Select(), rewrite)

        self._reparse = reparse
        result.statement_type = shape.kind
        namer = TableNamer(lineage_schema, self.dialect)
        target_key = _qualified_key(shape.target, self.dialect, *self.defaults) if shape.target else None
        if target_key:
            result.target = ".".join(_fuller(target_key, lineage_schema))
        outputs: list[tuple[str, ColumnTrace]] = []
        indirect: dict[tuple[str, str, str], None] = {}
        tables: dict[str, None] = {}
        for index, source in enumerate(shape.queries):
            query_outputs, walker, qualify_factor = self._query(
                index, source, shape, target_key, lineage_schema, namer
            )
            factor = min(factor, qualify_factor)
            if source.indirect_only:
                for _name, trace in query_outputs:
                    indirect.update(dict.fromkeys(trace.indirect))
            elif source.by_name:
                outputs = _combine(outputs, query_outputs)
            else:
                outputs = outputs + query_outputs
            if walker is not None:
                tables.update(walker.tables)
        if not shape.queries and shape.columns:
            outputs = [(name, _no_source()) for name in shape.columns]
        if not shape.queries and not shape.columns and shape.kind == "UNKNOWN" and not result.errors:
            result.errors.append(
                f"unsupported: no query whose columns could be traced in this {type(statement).__name__} statement"
            )
        if shape.kind in (MERGE, DELETE) and result.target:
            tables.pop(result.target, None)
        result.tables = list(tables)
        result.confidence = round(factor, 2)
        renderer = Renderer()
        for name, trace in outputs:
            self._check_deadline()
            column = _column_lineage(name, trace, self.dialect, factor, renderer)
            result.columns.append(column)
            indirect.update(dict.fromkeys(column.indirect))
        result.indirect = list(indirect)
        if spelling is not None:
            spelling.apply(result)

    def _shape(self, statement: exp.Expr, rewrite: Rewrite | None) -> StatementShape:
        _drop_positions(statement)
        if rewrite is not None:
            statement = rewrite(statement)
        statement = repair(statement, self.dialect)
        statement = normalize_identifiers(statement, dialect=dialect_instance(self.dialect))
        return shape_of(statement)

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise LineageTimeout()

    def _query(
        self,
        index: int,
        source: SourceQuery,
        shape: StatementShape,
        target_key: TableKey | None,
        schema: LineageSchema,
        namer: TableNamer,
    ) -> tuple[list[tuple[str, ColumnTrace]], ScopeWalker | None, float]:
        """Outputs of one query under their target names, the walker that traced them, and the
        confidence factor its qualification earned."""
        query = source.query
        if isinstance(query, exp.Values) or (
            isinstance(query, exp.Subquery) and isinstance(query.this, exp.Values)
        ):
            return _values_lineage(source, target_key, schema), None, 1.0
        if not isinstance(query, exp.Query):
            self.result.errors.append(f"unsupported: no query to trace in {shape.kind}")
            return [], None, 1.0
        qualified, factor = self._qualify(index, query, schema)
        root = build_scope(qualified)
        if root is None:
            self.result.errors.append("unsupported: could not build scopes for the query")
            return [], None, factor
        walker = ScopeWalker(schema, namer, self.deadline, strict_schema=self.strict_schema)
        scope_result = walker.result(root)
        walker.note_tables(root)
        for tag, plan in walker.columns_expansions.items():
            self.columns_expansions.setdefault(tag, {}).update(plan)
        self.result.errors.extend(
            f"unresolved: {column}: no table or alias named {column.rsplit('.', 1)[0]} is in scope, "
            "and no single source has a column of that name"
            for column in walker.unplaced
        )
        return _target_outputs(scope_result, source, target_key, schema), walker, factor

    def _qualify(self, index: int, query: exp.Expr, schema: LineageSchema) -> tuple[exp.Expr, float]:
        """Qualify `query`, retrying on a fresh parse with gentler settings when sqlglot refuses."""
        last_error = ""
        attempt = 0
        has_value_subqueries = _has_value_subqueries(query)
        while attempt < len(_QUALIFY_ATTEMPTS):
            options, factor, lone_subqueries = _QUALIFY_ATTEMPTS[attempt]
            candidate = query if attempt == 0 else self._fresh_query(index)
            if candidate is None:
                break
            _prepare(candidate, self.dialect)
            if lone_subqueries:
                _qualify_lone_subquery_columns(candidate)
            try:
                qualified = qualify(
                    candidate,
                    dialect=dialect_instance(self.dialect),
                    schema=schema,
                    db=self.defaults[1],
                    catalog=self.defaults[0],
                    validate_qualify_columns=False,
                    # Identifiers are already normalized; quoting only matters for generated SQL.
                    quote_identifiers=False,
                    **options,
                )
            except (SqlglotError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                last_error = _short(exc)
                attempt = _next_attempt(attempt, last_error, has_value_subqueries)
                continue
            if attempt:
                self.result.warnings.append(f"qualify: {last_error} (retried with {options})")
            return qualified, factor
        self.result.errors.append(f"qualify: {last_error} (tracing unqualified columns)")
        fresh = self._fresh_query(index)
        if fresh is not None:
            _prepare(fresh, self.dialect)
        return fresh if fresh is not None else query, 0.5

    def _fresh_query(self, index: int) -> exp.Expr | None:
        queries = self._reparse().queries
        return queries[index].query if index < len(queries) else None


def _then(first: Rewrite | None, second: Rewrite) -> Rewrite:
    return second if first is None else (lambda statement: second(first(statement)))


def _drop_positions(tree: exp.Expr) -> None:
    """Forget where in the text each token was: the parser notes it in the `meta` dict of every
    identifier, and nothing after parsing reads it (qualify only would, for the column validation
    we turn off). Every copy of a node deep-copies its meta with the pure-Python `copy.deepcopy`,
    which made copying a parsed expression three times slower than copying the expression itself,
    and rendering transformations and generating SQL copy a lot. Other meta keys are kept."""
    for node in tree.walk():
        meta = node._meta
        if meta is None:
            continue
        if meta.keys() == _POSITION_KEYS:
            node._meta = None
        else:
            for key in _POSITION_META:
                meta.pop(key, None)


_POSITION_META = ("line", "col", "start", "end")
_POSITION_KEYS = frozenset(_POSITION_META)


def _prepare(query: exp.Expr, dialect: str) -> None:
    """Record what qualify rewrites away: unaliased projections' text, USING keys, stars."""
    tag_columns_selects(query)
    mark_projection_names(query, dialect)
    _mark_using_joins(query)
    _alias_quoted_tables(query)


def _alias_quoted_tables(query: exp.Expr) -> None:
    """Give `FROM "Sales"."Orders"` its implicit alias `"Orders"` explicitly: qualify would name it
    `orders`, and `"Orders"."Id"` in the select list would then qualify a table that is not there."""
    for table in query.find_all(exp.Table):
        identifier = table.this
        if (
            isinstance(identifier, exp.Identifier)
            and identifier.quoted
            and not table.alias
            and not table.args.get("pivots")
            and isinstance(table.parent, (exp.From, exp.Join))
        ):
            table.set("alias", exp.TableAlias(this=identifier.copy()))


def _next_attempt(attempt: int, error: str, has_value_subqueries: bool) -> int:
    """The next qualify settings worth trying after `error` (each retry costs a re-parse)."""
    wanted = attempt + 1
    if "missing source schemas" in error and has_value_subqueries:
        wanted = _LONE_SUBQUERY_ATTEMPT
    elif "Unknown column" in error:
        wanted = _PARTIAL_ATTEMPT
    return max(attempt + 1, wanted)


def _has_value_subqueries(query: exp.Expr) -> bool:
    return any(
        isinstance(select.parent, exp.Subquery) and not isinstance(select.parent.parent, (exp.From, exp.Join))
        for select in query.find_all(exp.Select)
        if select is not query
    )


def _qualify_lone_subquery_columns(query: exp.Expr) -> None:
    """Qualify bare columns of value subqueries that read exactly one table with that table."""
    for select in list(query.find_all(exp.Select)):
        if select is query or not isinstance(select.parent, exp.Subquery) or select.args.get("joins"):
            continue
        if isinstance(select.parent.parent, (exp.From, exp.Join)):
            continue  # a derived table: qualify handles its own columns
        from_ = select.args.get("from_")
        table = from_.this if isinstance(from_, exp.From) else None
        if not isinstance(table, exp.Table) or not table.name:
            continue
        alias = exp.to_identifier(table.alias_or_name)
        for column in select.find_all(exp.Column):
            if not column.table and column.find_ancestor(exp.Select) is select:
                column.set("table", alias.copy())


def _combine(
    outputs: list[tuple[str, ColumnTrace]], more: list[tuple[str, ColumnTrace]]
) -> list[tuple[str, ColumnTrace]]:
    """Merge outputs of several clauses writing the same target columns (UPDATE/MERGE)."""
    combined = dict(outputs)
    for name, trace in more:
        combined[name] = merge_branches([combined[name], trace]) if name in combined else trace
    return list(combined.items())


def _no_source() -> ColumnTrace:
    return ColumnTrace(frozenset(), frozenset(), ExprText(exp.Null()), direct=False)


def _target_outputs(
    scope_result: ScopeResult, source: SourceQuery, target_key: TableKey | None, schema: LineageSchema
) -> list[tuple[str, ColumnTrace]]:
    """The query's outputs under the target's column names (by position when the target lists them)."""
    outputs = scope_result.columns
    if source.by_name:
        return outputs
    static = {name.casefold() for name in source.static_columns}
    constants = [
        (name, ColumnTrace(frozenset(), frozenset(), ExprText(value), direct=False))
        for name, value in source.static_columns.items()
    ]
    names = source.target_columns
    if names is None and target_key is not None and source.fill_from_target:
        known = [name for name in schema.columns_of(target_key) or {} if name.casefold() not in static]
        if known and len(known) >= len(outputs) and all(n != "*" for n, _ in outputs):
            names = known
    if not names:
        return outputs + constants
    named = [(names[i] if i < len(names) else n, t) for i, (n, t) in enumerate(outputs)]
    return named + constants


def _values_lineage(
    source: SourceQuery, target_key: TableKey | None, schema: LineageSchema
) -> list[tuple[str, ColumnTrace]]:
    names = source.target_columns or list(schema.columns_of(target_key or ()) or {})
    return [
        (name, ColumnTrace(frozenset(), frozenset(), ExprText(exp.Literal.string("VALUES")), direct=False))
        for name in names
    ]


def _column_lineage(
    name: str, trace: ColumnTrace, dialect: str, factor: float, renderer: Renderer
) -> ColumnLineage:
    mapping = classify(trace)
    transformation: str | None = None
    if mapping != "Direct":
        transformation = renderer.sql(trace, dialect)
    upstreams = sorted(trace.upstreams)
    indirect = sorted(trace.indirect)
    return ColumnLineage(
        column=name,
        upstreams=upstreams,
        mapping_type=mapping,
        transformation=transformation,
        confidence=round(trace.confidence * factor, 2),
        indirect=indirect,
    )


def classify(trace: ColumnTrace) -> MappingType:
    """Direct / Transform / Derived / Calculated for one resolved column (see module docstring)."""
    if not trace.upstreams and not trace.unresolved:
        return "Calculated"
    if trace.direct:
        return "Direct"
    return "Transform" if len(trace.inputs) <= 1 else "Derived"


# ---------------------------------------------------------------------------------- parsing


def _parse(sql: str, dialect: str, errors: list[str]) -> tuple[exp.Expr | None, float, str]:
    """The statement to trace, the confidence factor its parse earned and the dialect that read it."""
    first_error: str | None = None
    for attempt, candidate in enumerate([dialect, *fallback_dialects(dialect)]):
        try:
            statements = sqlglot.parse(sql, read=candidate or None)
        except (SqlglotError, ValueError, KeyError, IndexError, TypeError) as exc:
            first_error = first_error or _short(exc)
            continue
        statement = _main_statement(statements)
        if statement is None:
            errors.append("parse: no SQL statement found")
            return None, 0.0, candidate
        if attempt == 0:
            return statement, 1.0, candidate
        errors.append(f"parse: {first_error} (parsed as {candidate or 'generic SQL'} instead of {dialect})")
        return statement, _FALLBACK_DIALECT_FACTOR, candidate
    try:
        statements = sqlglot.parse(sql, read=dialect or None, error_level=ErrorLevel.IGNORE)
        statement = _main_statement(statements)
    except (SqlglotError, ValueError, KeyError, IndexError, TypeError):
        statement = None
    if statement is None:
        errors.append(f"parse: {first_error}")
        return None, 0.0, dialect
    errors.append(f"parse: {first_error} (recovered a partial statement)")
    return statement, _PARSE_RECOVERY_FACTOR, dialect


_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_QUOTED = r"""\s*['"]([^'"]+)['"]\s*"""
_JINJA_RELATION = re.compile(
    r"\{\{-?\s*(?:(ref|source)\(" + _QUOTED + r"(?:," + _QUOTED + r")?(?:,[^)]*)?\)|(this))\s*-?\}\}"
)


def _relation_name(match: re.Match[str]) -> str:
    """The relation a `{{ ref('m') }}`, `{{ ref('pkg', 'm') }}`, `{{ source('s', 't') }}` or
    `{{ this }}` tag names: the model, the source's schema-qualified table, or `this`."""
    kind, first, second, this = match.groups()
    if this:
        return " this "
    if kind == "source" and second:
        return f" {first}.{second} "
    return f" {second or first} "


# Postgres `CREATE MATERIALIZED VIEW ... AS SELECT ... WITH [NO] DATA`: says when to fill the view,
# nothing about its columns, and sqlglot does not read it.
_WITH_DATA = re.compile(r"\bwith\s+(?:no\s+)?data\s*;?\s*\Z", re.IGNORECASE)
_MATERIALIZED_VIEW = re.compile(r"^\s*create\s+(?:or\s+replace\s+)?materialized\s+view\b", re.IGNORECASE)


# Dialects that resolve names case-insensitively yet return them spelled as written.
_SPELLING_KEEPERS = frozenset({"bigquery", "duckdb", "spark", "spark2", "databricks", "hive", "tsql", "fabric", "sqlite"})


@dataclass
class Spelling:
    """How the SQL and the schema spell names the dialect matches case-insensitively."""

    sql: dict[str, str] = field(default_factory=dict)
    schema: dict[str, str] = field(default_factory=dict)  # column names
    schema_tables: dict[str, str] = field(default_factory=dict)  # parts of table names

    @classmethod
    def of(cls, statement: exp.Expr, schema: object) -> Spelling:
        found = cls()
        for identifier in statement.find_all(exp.Identifier):
            name = identifier.name
            if name and not identifier.quoted:
                found.sql.setdefault(name.lower(), name)
        if isinstance(schema, dict):
            for key, columns in schema.items():
                parts = key if isinstance(key, tuple) else str(key).replace('"', "").replace("`", "").split(".")
                for part in parts:
                    found.schema_tables.setdefault(str(part).lower(), str(part))
                for name in columns if isinstance(columns, dict) else ():
                    found.schema.setdefault(str(name).lower(), str(name))
        return found

    def output(self, name: str) -> str:
        if name != name.lower():
            return name
        return self.sql.get(name) or self.schema.get(name) or name

    def column(self, name: str) -> str:
        if name != name.lower():
            return name
        return self.schema.get(name) or self.sql.get(name) or name

    def table(self, name: str) -> str:
        return ".".join(
            self.schema_tables.get(part) or self.sql.get(part, part) if part == part.lower() else part
            for part in name.split(".")
        )

    def apply(self, result: StatementLineage) -> None:
        for column in result.columns:
            column.column = self.output(column.column)
            column.upstreams = [(self.table(t), self.column(c)) for t, c in column.upstreams]
            column.indirect = [(self.table(t), self.column(c), r) for t, c, r in column.indirect]
        result.indirect = [(self.table(t), self.column(c), r) for t, c, r in result.indirect]
        result.tables = [self.table(t) for t in result.tables]
        if result.target:
            result.target = self.table(result.target)


def _without_leftovers(sql: str, warnings: list[str]) -> tuple[str, float]:
    """`sql` without what no SQL parser reads: Jinja tags left from an uncompiled dbt model, and a
    materialized view's WITH [NO] DATA. Returns the text and the confidence factor it earned."""
    factor = 1.0
    if "{{" in sql or "{%" in sql or "{#" in sql:
        # The relations dbt would render keep their names (`{{ ref('orders') }}` -> orders).
        stripped = _JINJA_RELATION.sub(_relation_name, sql)
        stripped = _JINJA_TAG.sub(" ", stripped)
        if stripped != sql:
            warnings.append("jinja: template tags removed before parsing (uncompiled dbt SQL?)")
            sql, factor = stripped, 0.8
    if _MATERIALIZED_VIEW.match(sql):
        sql = _WITH_DATA.sub("", sql.rstrip())
    return sql, factor


def _main_statement(statements: list[exp.Expr | None]) -> exp.Expr | None:
    """The last statement that moves data (a block may SET variables or end with a comment)."""
    present = [s for s in statements if s is not None and not isinstance(s, exp.Semicolon)]
    movers = [s for s in present if isinstance(s, (exp.Query, exp.Insert, exp.Create, exp.Merge, exp.Update))]
    if movers:
        return movers[-1]
    return present[-1] if present else None


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


# ------------------------------------------------------------------------------- qualifying


def _mark_using_joins(query: exp.Expr) -> None:
    for join in query.find_all(exp.Join):
        using = join.args.get("using")
        if using:
            join.meta[USING_META] = [u.name.casefold() for u in using]
        elif str(join.args.get("method") or "").upper() == "NATURAL":
            join.meta[USING_META] = [NATURAL_KEYS]


def _qualified_key(
    table: exp.Table, dialect: str, default_db: str | None, default_schema: str | None
) -> TableKey:
    """The target's parts, completed with the defaults the way qualify completes sources."""
    key = table_key(table)
    if len(key) == 1 and default_schema:
        key = (*table_key(default_schema, dialect), *key)
    if len(key) == 2 and default_db:
        key = (*table_key(default_db, dialect), *key)
    return key


def _fuller(key: TableKey, schema: LineageSchema) -> TableKey:
    known = schema.resolve(key)
    return known if known is not None and len(known) > len(key) else key


# --------------------------------------------------------------------------------- time limit


@contextmanager
def _time_limit(timeout_s: float | None) -> Iterator[None]:
    """Interrupt parsing/qualifying after `timeout_s` (main thread only; the walk also polls a
    deadline so worker threads stop too, just less promptly)."""
    usable = (
        timeout_s
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not usable:
        yield
        return

    def _expire(signum: int, frame: object) -> None:
        raise LineageTimeout()

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, float(timeout_s or 0))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
