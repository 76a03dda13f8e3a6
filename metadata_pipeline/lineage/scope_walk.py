"""One bottom-up walk over a qualified query's scopes: the lineage of every output column at once.

Each scope (CTE, derived table, subquery, set-operation branch, UDTF) is resolved once and memoized:
its output columns map to the physical `(table, column)` pairs they are computed from, plus the
columns that only shape them (filters, joins, grouping, ordering, window partitions). An outer scope
reads its sources' results instead of re-walking them, which is what makes one pass per statement
enough for all columns (sqlglot's `lineage()` re-qualifies the statement for every column).

Rules the walk applies, in one place:
- A column's *value* upstreams are the columns its expression reads, through CASE conditions,
  function arguments, struct fields and JSON paths (down to the base column), scalar subqueries'
  selected values and UDTF inputs (UNNEST/FLATTEN/EXPLODE map to the exploded column).
- *Indirect* upstreams carry a role: WHERE -> filter, JOIN ON/USING -> join, GROUP BY -> group_by,
  HAVING -> having, QUALIFY -> qualify, ORDER BY -> order_by. They shape every row of their scope, so
  they flow to every column that reads from it. A window function's own PARTITION BY / ORDER BY are
  indirect for that column only (partition_by, window_order): they choose which rows feed the value
  but are not the value. EXISTS subqueries contribute only their filters.
- `direct` marks a copy of one column: a bare reference, a rename, a USING-join key, or
  set-operation branches that are each such a copy (a cast is not a copy: it changes the type).
  NULL branches of a set operation, cast or not, do not break a copy.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope

from metadata_pipeline.lineage.dialects import dialect_instance
from metadata_pipeline.lineage.lineage_schema import LineageSchema
from metadata_pipeline.lineage.readable import (
    ColumnRef,
    ExprText,
    LeafText,
    Readable,
    UnionText,
)

Leaf = tuple[str, str]  # (table, column)
Indirect = tuple[str, str, str]  # (table, column, role)

STAR = "*"
_NAME_META = "mp_name"  # meta key on unaliased projections: their SQL text before qualification
STAR_META = "mp_star"  # meta key on selects that had a `*` before qualification expanded it
COLUMNS_META = "mp_columns"  # meta key on selects with DuckDB COLUMNS(...) projections: their ordinal
USING_META = "mp_using"  # meta key on joins: the USING key names (case-folded) before qualification
NATURAL_KEYS = "*"  # in USING_META: a NATURAL join, keyed on every name its two sides share
_CLAUSE_ROLES: tuple[tuple[str, str], ...] = (
    ("where", "filter"),
    ("prewhere", "filter"),  # ClickHouse: a WHERE applied before reading the other columns
    ("group", "group_by"),
    ("having", "having"),
    ("qualify", "qualify"),
    ("order", "order_by"),
)


class LineageTimeout(Exception):
    """The per-statement time limit ran out."""


@dataclass(frozen=True)
class ColumnTrace:
    """Lineage of one output column of one scope, already resolved down to physical tables."""

    upstreams: frozenset[Leaf]
    indirect: frozenset[Indirect]
    readable: Readable  # how to print the transformation (see `readable.Renderer`)
    direct: bool
    unresolved: frozenset[str] = frozenset()  # column names no source could be found for
    # The independent inputs the value is computed from, each a set of physical columns: a copy
    # of a UNION of copies is ONE input fed by several tables, `a + b` is two. Classifies
    # Transform (one input) vs Derived (several).
    inputs: frozenset[frozenset[Leaf]] = frozenset()
    confidence: float = 1.0
    # A whole row as a value (`array_agg(t ORDER BY ...)[OFFSET(0)]`): each field's own lineage, so
    # that reading `.f` of it later is t.f rather than every column of t.
    fields: tuple[tuple[str, ColumnTrace], ...] = field(default=(), compare=False)

    def with_indirect(self, extra: frozenset[Indirect]) -> ColumnTrace:
        if not extra or extra <= self.indirect:
            return self
        return replace(self, indirect=self.indirect | extra)


@dataclass
class ScopeResult:
    """Output columns of a scope, by position and by name, and what filters its rows."""

    columns: list[tuple[str, ColumnTrace]] = field(default_factory=list)
    row_indirect: frozenset[Indirect] = frozenset()
    # Sources a `*` could not be expanded over: unknown names resolve through them.
    star_sources: list[tuple[Scope, str]] = field(default_factory=list)
    default: ColumnTrace | None = None  # for UDTFs: every column comes from the function's inputs
    by_name: dict[str, ColumnTrace] = field(default_factory=dict)

    def add(self, name: str, trace: ColumnTrace) -> None:
        self.columns.append((name, trace))
        self.by_name.setdefault(name, trace)


@dataclass
class _Acc:
    """What one expression reads, gathered while walking it."""

    values: set[Leaf] = field(default_factory=set)
    indirect: set[Indirect] = field(default_factory=set)
    unresolved: set[str] = field(default_factory=set)
    inputs: set[frozenset[Leaf]] = field(default_factory=set)
    confidence: float = 1.0
    refs: list[ColumnRef] = field(default_factory=list)
    # Whole rows read as values (a table alias, or a column holding such a row), by field.
    rows: list[tuple[tuple[str, ColumnTrace], ...]] = field(default_factory=list)

    def take(self, trace: ColumnTrace, role: str | None) -> None:
        if role is None:
            self.values |= trace.upstreams
            self.inputs |= trace.inputs
            self.unresolved |= trace.unresolved
            self.confidence = min(self.confidence, trace.confidence)
        else:
            self.indirect.update((t, c, role) for t, c in trace.upstreams)
        self.indirect |= trace.indirect


# (a column, the scope and lateral aliases it was resolved with, what `_resolve_path` found)
_Resolved = tuple[
    exp.Column, Scope, "dict[str, ColumnTrace] | None", "tuple[ColumnTrace, list[exp.Identifier]] | None"
]


class ScopeWalker:
    """Resolves scopes of one qualified query; create one per statement."""

    def __init__(
        self,
        schema: LineageSchema,
        table_namer: TableNamer,
        deadline: float | None = None,
        strict_schema: bool = True,
    ) -> None:
        self.schema = schema
        # When False, a name no source is known to have still comes from the scope's only table:
        # a stale catalog must not hide a column the SQL demonstrably reads.
        self.strict_schema = strict_schema
        self.namer = table_namer
        self.deadline = deadline
        self._results: dict[int, ScopeResult] = {}
        self._in_progress: set[int] = set()
        self._in_function: set[int] = set()
        self._qualified: dict[int, dict[str, set[str]]] = {}
        self._traversed: dict[int, Scope] = {}  # query node -> its scope, filled from the root
        self.tables: dict[str, None] = {}  # physical tables read, in first-seen order
        # Columns qualified by a name no FROM clause in scope defines (`ghost.code`): SQL that
        # cannot run as written. Reported once each, in first-seen order.
        self.unplaced: dict[str, None] = {}
        # DuckDB COLUMNS(...) expansions, to be written into the SQL as explicit columns (see
        # `columns_rewrite`): per select's COLUMNS_META tag, per COLUMNS projection in it (in
        # order), the (source, column, output name) it chose.
        self.columns_expansions: dict[int, dict[int, list[tuple[str, str, str]]]] = {}
        # The last column `_visit_column` resolved, with where and what: `trace` asks `_is_copy`
        # about a bare column projection right after visiting it, and resolving it is most of both.
        self._last_resolved: _Resolved | None = None
        self._struct_memo: dict[tuple[int, int], tuple[tuple[str, ColumnTrace], ...]] = {}

    # ----------------------------------------------------------------------------------- scopes

    def result(self, scope: Scope) -> ScopeResult:
        if not self._traversed:
            self._traversed = {id(s.expression): s for s in scope.traverse()}
        key = id(scope)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        if key in self._in_progress:
            # A recursive CTE reading itself: its recursive branch adds no new sources.
            return ScopeResult()
        self._check_deadline()
        self._in_progress.add(key)
        try:
            result = self._compute(scope)
        finally:
            self._in_progress.discard(key)
        self._results[key] = result
        return result

    def _compute(self, scope: Scope) -> ScopeResult:
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            return self._set_operation_result(scope)
        if isinstance(expression, exp.Select):
            return self._select_result(scope)
        if isinstance(expression, exp.Subquery):
            inner = self._inner_scope(scope, expression.unnest())
            return self.result(inner) if inner else ScopeResult()
        if isinstance(expression, (exp.UDTF, exp.Lateral)):
            return self._udtf_result(scope)
        return ScopeResult()

    def _inner_scope(self, scope: Scope, node: exp.Expr) -> Scope | None:
        children = scope.subquery_scopes + scope.table_scopes + scope.derived_table_scopes
        for child in children:
            if child.expression is node or child.expression is node.parent:
                return child
        return children[0] if children else None

    def _set_operation_result(self, scope: Scope) -> ScopeResult:
        scopes = scope.set_operation_scopes
        branches = [self.result(s) for s in scopes]
        result = ScopeResult()
        if not branches:
            return result
        result.row_indirect = frozenset().union(*(b.row_indirect for b in branches))
        # Branches pair up by position, unless the statement says BY NAME or an unexpanded `*`
        # makes positions unknowable: then by name, looking behind the stars.
        explicit_by_name = bool(scope.expression.args.get("by_name"))
        by_name = explicit_by_name or any(STAR in b.by_name for b in branches)
        # EXCEPT returns rows of its first branch: the others only decide which rows are left.
        only_first_values = isinstance(scope.expression, exp.Except)
        first = branches[0]
        names = [name for name, _ in first.columns]
        if explicit_by_name:
            # UNION BY NAME outputs every branch's columns (NULL where a branch lacks one).
            seen = {name.casefold() for name in names}
            for branch in branches[1:]:
                for name, _ in branch.columns:
                    if name.casefold() not in seen:
                        seen.add(name.casefold())
                        names.append(name)
        for index, name in enumerate(names):
            traces = []
            for position, (branch_scope, branch) in enumerate(zip(scopes, branches, strict=False)):
                if position == 0 and not explicit_by_name:
                    other: ColumnTrace | None = first.columns[index][1]
                elif by_name:
                    other = _by_folded_name(branch, name)
                    if other is None and not explicit_by_name:
                        other = self._from_scope(branch_scope, name)
                else:
                    other = _column_at(branch, index, name)
                if other is None:
                    continue
                if only_first_values and position > 0:
                    other = _as_filter(other)
                traces.append(other)
            if traces:
                result.add(name, merge_branches(traces))
        for branch in branches:
            result.star_sources.extend(branch.star_sources)
        return result

    def _udtf_result(self, scope: Scope) -> ScopeResult:
        expression = scope.expression
        result = ScopeResult()
        inner_query = expression.this if isinstance(expression, exp.Lateral) else None
        if isinstance(inner_query, exp.Subquery):
            # LATERAL (SELECT ...): the columns are the subquery's own.
            inner = self._inner_scope(scope, inner_query.unnest())
            return self.result(inner) if inner else result
        unnest = expression.this if isinstance(expression, exp.Lateral) else expression
        if isinstance(unnest, exp.Unnest):  # (also `CROSS JOIN LATERAL unnest(...)`)
            inputs: list[exp.Expr] = list(unnest.expressions)
        elif isinstance(expression, exp.Lateral):
            inputs = [expression.this] if expression.this else []
        else:
            inputs = [expression]
        acc = _Acc()
        for node in inputs:
            self._visit(node, scope, None, acc)
        function = inputs[0] if len(inputs) == 1 else exp.Tuple(expressions=inputs)
        default = self._trace_from_acc(acc, function, direct=False)
        if len(acc.rows) == 1:
            # Exploding an array of structs built upstream: each element keeps its fields' lineage.
            default = replace(default, fields=acc.rows[0])
        result.default = default
        alias = expression.args.get("alias")
        columns = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
        zipped = isinstance(unnest, exp.Unnest) and len(inputs) > 1 and len(columns) >= len(inputs)
        for index, column in enumerate(columns):
            trace = default
            if zipped and index < len(inputs):
                # Postgres `unnest(a, b) AS u(x, y)` zips its arrays: x comes from a, y from b.
                one = _Acc()
                self._visit(inputs[index], scope, None, one)
                trace = self._trace_from_acc(one, inputs[index], direct=False)
            result.add(column.name, replace(trace, readable=LeafText(column.name)))
        return result

    def _select_result(self, scope: Scope) -> ScopeResult:
        select = scope.expression
        assert isinstance(select, exp.Select)
        result = ScopeResult()
        row: set[Indirect] = set()
        for _name, (_node, source) in scope.selected_sources.items():
            if isinstance(source, Scope):
                row |= self.result(source).row_indirect
            elif isinstance(source, exp.Table) and _cte_behind(source, scope) is None:
                self._note_table(source)

        aliases: dict[str, ColumnTrace] = {}
        for projection in select.expressions:
            self._check_deadline()
            if _is_star(projection):
                self._expand_unresolved_star(scope, projection, result)
                continue
            if isinstance(projection, exp.Aliases):
                # Spark's `posexplode(xs) AS (pos, x)`: one generator, several named outputs.
                trace = self.trace(projection.this, scope, aliases=aliases)
                for identifier in projection.expressions:
                    aliases.setdefault(identifier.name, trace)
                    result.add(identifier.name, trace)
                continue
            if self._expand_inline(scope, projection, aliases, result):
                continue
            if isinstance(projection, exp.Dot) and isinstance(projection.expression, exp.Star):
                base = unwrap_parens(projection.this)  # `info.*`, DuckDB's `(info).*`
                if isinstance(base, exp.Column) and self._expand_struct_star(scope, base.table, base.name, result):
                    continue
                if not isinstance(base, exp.Column):
                    # `from_json(payload, 'a INT, b STRING').*`, `struct(a, b).*`: the fields it builds.
                    built = self.trace(base, scope, aliases=aliases)
                    for field_name, field_trace in built.fields:
                        result.add(field_name, field_trace)
                    if built.fields:
                        continue
            if (
                select.meta_get(COLUMNS_META) is not None
                and _selects_columns(projection)
                and self._expand_columns_projection(scope, projection, aliases, result)
            ):
                continue
            name = _output_name(projection)
            trace = self.trace(projection.unalias(), scope, aliases=aliases)
            aliases.setdefault(name, trace)
            result.add(name, trace)

        for join in select.args.get("joins") or []:
            for key in ("on", "using", "match_condition"):  # (Snowflake ASOF JOIN MATCH_CONDITION)
                condition = join.args.get(key)
                if condition is None:
                    continue
                nodes = condition if isinstance(condition, list) else [condition]
                for node in nodes:
                    row |= self._clause_indirect(node, scope, "join", aliases)
        for key, role in _CLAUSE_ROLES:
            clause = select.args.get(key)
            if clause is not None:
                row |= self._clause_indirect(clause, scope, role, aliases)
        group = select.args.get("group")
        if isinstance(group, exp.Group) and group.args.get("all"):
            # GROUP BY ALL groups by every projection that is not an aggregate.
            for projection in select.expressions:
                value = projection.unalias()
                if not _is_star(projection) and not value.find(exp.AggFunc):
                    row |= self._clause_indirect(value, scope, "group_by", aliases)

        result.row_indirect = frozenset(row)
        if row:
            result.columns = [(n, t.with_indirect(result.row_indirect)) for n, t in result.columns]
            result.by_name = {}
            for name, trace in result.columns:
                result.by_name.setdefault(name, trace)
        return result

    def _clause_indirect(
        self, clause: exp.Expr, scope: Scope, role: str, aliases: dict[str, ColumnTrace]
    ) -> set[Indirect]:
        acc = _Acc()
        self._visit(clause, scope, role, acc, aliases=aliases)
        return acc.indirect

    def _expand_unresolved_star(self, scope: Scope, star: exp.Expr, result: ScopeResult) -> None:
        """A `*` qualify could not expand (some source has no known columns): expand what we can."""
        table = star.table if isinstance(star, exp.Column) else ""
        if table and table not in scope.sources and isinstance(star, exp.Column):
            # `address.*` that qualify left alone: a struct column's fields, if it is one.
            if self._expand_struct_star(scope, star.text("db"), table, result):
                return
        names = [table] if table else list(scope.selected_sources)
        for name in names:
            selected = scope.selected_sources.get(name)
            source = selected[1] if selected else scope.sources.get(name)
            if isinstance(source, Scope):
                inner = self.result(source)
                for column, trace in inner.columns:
                    result.add(column, trace)
                result.star_sources.extend(inner.star_sources)
                continue
            if not isinstance(source, exp.Table):
                continue
            if isinstance(source.this, exp.Func):
                # `SELECT * FROM read_csv(...)`: columns come from the function, not a table.
                trace = self._from_source(source, STAR, scope)
                if trace is not None and STAR not in result.by_name:
                    result.add(STAR, trace)
                continue
            columns = self._known_columns(source)
            if columns:
                for column in columns:
                    result.add(column, self._leaf_trace(source, column))
                continue
            leaf = self.namer.name(source)
            result.star_sources.append((scope, name))
            trace = ColumnTrace(
                upstreams=frozenset({(leaf, STAR)}),
                indirect=frozenset(),
                readable=LeafText(STAR, leaf),
                direct=True,
                inputs=frozenset({frozenset({(leaf, STAR)})}),
                confidence=0.7,
            )
            if STAR in result.by_name:
                merged = result.by_name[STAR]
                trace = replace(merged, upstreams=merged.upstreams | trace.upstreams)
                result.columns = [(n, trace if n == STAR else t) for n, t in result.columns]
                result.by_name[STAR] = trace
            else:
                result.add(STAR, trace)

    def _expand_struct_star(self, scope: Scope, alias: str, column: str, result: ScopeResult) -> bool:
        """`address.*` / `c.address.*` where `address` is a struct column, not a source: one
        output per field the schema's type names (qualify does this for BigQuery only)."""
        found = self._struct_column(scope, alias, column, array=False)
        if found is None:
            return False
        owner, fields = found
        for field_name in fields:
            path = exp.Dot(this=exp.column(column, table=owner), expression=exp.to_identifier(field_name))
            result.add(field_name, self.trace(path, scope))
        return True

    def _expand_inline(
        self, scope: Scope, projection: exp.Expr, aliases: dict[str, ColumnTrace], result: ScopeResult
    ) -> bool:
        """Spark's `inline(lines)` in a select list: a column per field of the array's structs;
        DuckDB's `unnest(s)` of a struct (not a list): a column per field of the struct."""
        value = projection.unalias()
        if not isinstance(value, (exp.Inline, exp.Explode)) or not isinstance(value.this, exp.Column):
            return False
        if isinstance(value, exp.Explode) and self.namer.dialect != "duckdb":
            return False
        alias = projection.alias if isinstance(projection, exp.Alias) else ""
        if alias and not _is_generated_name(alias):
            return False
        array = isinstance(value, exp.Inline)
        found = self._struct_column(scope, value.this.table, value.this.name, array=array)
        if found is None:
            return False
        trace = self.trace(value, scope, aliases=aliases)
        for field_name in found[1]:
            result.add(field_name, trace)
        return True

    def _struct_column(self, scope: Scope, alias: str, column: str, array: bool) -> tuple[str, list[str]] | None:
        """The source alias holding struct column `column` (an array of structs with `array`) and
        the fields its schema type names; None when no single source has such a column."""
        candidates = [alias] if alias else list(scope.selected_sources)
        found: tuple[str, list[str]] | None = None
        for name in candidates:
            source = scope.sources.get(name)
            if isinstance(source, Scope) and not array:
                # A struct built in a CTE or subquery: the fields it was built with.
                built = self._from_scope(source, column)
                fields = [field for field, _ in built.fields] if built is not None else []
            elif isinstance(source, exp.Table):
                columns = self._known_columns(source) or {}
                folded = {c.casefold(): t for c, t in columns.items()}
                fields = _struct_fields(folded.get(column.casefold()), self.namer.dialect, array)
            else:
                continue
            if fields:
                if found is not None:
                    return None  # two sources have such a column: ambiguous
                found = (name, fields)
        return found

    # ------------------------------------------------------------------------------ expressions

    def trace(
        self,
        expression: exp.Expr,
        scope: Scope,
        aliases: dict[str, ColumnTrace] | None = None,
    ) -> ColumnTrace:
        """Lineage of one value expression evaluated in `scope`."""
        acc = _Acc()
        self._visit(expression, scope, None, acc, aliases=aliases)
        trace = self._trace_from_acc(acc, expression, direct=self._is_copy(expression, scope, aliases))
        if len(acc.rows) == 1:
            (row,) = acc.rows
            row_leaves = frozenset().union(*(t.upstreams for _, t in row))
            if acc.values <= row_leaves:  # nothing but the row feeds the value
                trace = replace(trace, fields=row)
        return trace

    def _constructed_fields(
        self, struct: exp.Struct, scope: Scope, aliases: dict[str, ColumnTrace] | None
    ) -> tuple[tuple[str, ColumnTrace], ...]:
        # Memoized: the walk reaches a struct both through its enclosing struct's fields and
        # through the enclosing expression, which nested structs would multiply per level.
        key = (id(struct), id(scope))
        known = self._struct_memo.get(key)
        if known is None:
            known = self._struct_memo[key] = self._fields_of_struct(struct, scope, aliases)
        return known

    def _fields_of_struct(
        self, struct: exp.Struct, scope: Scope, aliases: dict[str, ColumnTrace] | None
    ) -> tuple[tuple[str, ColumnTrace], ...]:
        fields: list[tuple[str, ColumnTrace]] = []
        for item in struct.expressions:
            if isinstance(item, exp.PropertyEQ) and item.this is not None and item.expression is not None:
                name, value = item.this.name, item.expression
            elif isinstance(item, exp.Alias):
                name, value = item.alias, item.this
            elif isinstance(item, exp.Column):
                name, value = item.name, item
            else:
                return ()  # an unnamed field: positions alone cannot be matched to names
            fields.append((name, self.trace(value, scope, aliases)))
        return tuple(fields)

    def _trace_from_acc(self, acc: _Acc, node: exp.Expr, direct: bool) -> ColumnTrace:
        confidence = acc.confidence
        if acc.unresolved:
            confidence = min(confidence, 0.5)
        return ColumnTrace(
            upstreams=frozenset(acc.values),
            indirect=frozenset(acc.indirect),
            readable=ExprText(node, tuple(acc.refs)),
            direct=direct,
            unresolved=frozenset(acc.unresolved),
            inputs=frozenset(acc.inputs),
            confidence=confidence,
        )

    def _is_copy(self, expression: exp.Expr, scope: Scope, aliases: dict[str, ColumnTrace] | None) -> bool:
        node = unwrap_parens(expression)
        if isinstance(node, exp.Coalesce) and _is_using_key(node):
            return all(self._is_copy(arg, scope, aliases) for arg in _coalesce_args(node))
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select):
            # A scalar subquery that looks a value up unchanged, `(SELECT c.name FROM c WHERE ...)`,
            # copies it exactly as the same lookup written as a join would.
            sub_scope = next((s for s in scope.subquery_scopes if s.expression is node.this), None)
            if sub_scope is None:
                return False
            columns = self.result(sub_scope).columns
            return len(columns) == 1 and columns[0][1].direct
        if isinstance(node, exp.JSONExtract) and isinstance(node.this, exp.Column):
            # Snowflake `o:f` of an object built upstream as `object_construct('f', a)`: a copy of a.
            keys = _json_keys(node)
            if len(keys) != 1:
                return False
            return self._is_field_copy(node.this, exp.to_identifier(keys[0]), scope, aliases)
        if isinstance(node, exp.Dot) and isinstance(node.this, exp.Column) and isinstance(node.expression, exp.Identifier):
            # `s.f` of a struct built upstream as `struct(a AS f)`: a copy of a.
            return self._is_field_copy(node.this, node.expression, scope, aliases)
        if not isinstance(node, exp.Column) or isinstance(node.this, exp.Star):
            return False
        last = self._last_resolved
        if last is not None and last[0] is node and last[1] is scope and last[2] is aliases:
            found = last[3]  # (nothing it reads changes between the two calls)
        else:
            found = self._resolve_path(node, scope, aliases)
        if found is None:
            return not node.table  # an unresolved bare name still reads as a copy
        trace, path = found
        return trace.direct and not path

    def _is_field_copy(
        self, base: exp.Column, field_name: exp.Identifier, scope: Scope, aliases: dict[str, ColumnTrace] | None
    ) -> bool:
        found = self._resolve_path(base, scope, aliases)
        if found is None or found[1] or not found[0].fields:
            return False
        field_trace, rest = _field_of(found[0], [field_name])
        return not rest and field_trace is not found[0] and field_trace.direct

    def _visit(
        self,
        node: exp.Expr,
        scope: Scope,
        role: str | None,
        acc: _Acc,
        aliases: dict[str, ColumnTrace] | None = None,
        lambda_params: frozenset[str] = frozenset(),
    ) -> None:
        if isinstance(node, exp.Column):
            self._visit_column(node, scope, role, acc, aliases, lambda_params)
            return
        if isinstance(node, exp.Window):
            self._visit_window(node, scope, role, acc, aliases, lambda_params)
            return
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Identifier):
            if self._visit_row_field(node, scope, role, acc, aliases):
                return
        if isinstance(node, exp.TableColumn):
            row_scope = _row_source(scope, node.name)
            if row_scope is not None:
                row = self._visit_star_argument(row_scope, role, acc, only=node.name)
                if role is None:
                    acc.rows.append(tuple((n, replace(t, direct=False)) for n, t in row.columns))
            return
        if isinstance(node, exp.Struct) and role is None:
            # A struct built here (also inside an array, `array_agg(struct(a, b))`): reading one
            # field later, after UNNEST/FLATTEN/EXPLODE too, reads only what fed that field.
            fields = self._constructed_fields(node, scope, aliases)
            if fields:
                acc.rows.append(fields)
        if isinstance(node, exp.FromJson) and role is None:
            # Spark `from_json(s, 'a INT, b STRING')`: a struct whose every field is parsed from s.
            fields = _struct_fields(f"struct<{node.expression.name}>", "spark") if isinstance(node.expression, exp.Literal) else []
            if fields:
                parsed = self.trace(node.this, scope, aliases)
                acc.rows.append(tuple((name, replace(parsed, direct=False)) for name in fields))
        if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)) and self._visit_json_field(
            node, scope, role, acc, aliases
        ):
            return
        if isinstance(node, exp.Filter):
            # `agg(x) FILTER (WHERE c)`: c chooses the rows aggregated, it is not a value.
            self._visit(node.this, scope, role, acc, aliases, lambda_params)
            if node.expression is not None:
                self._visit(node.expression, scope, role or "filter", acc, aliases, lambda_params)
            return
        if isinstance(node, exp.Columns):
            chosen = self._chosen_columns(scope, node.this)
            if chosen is not None:
                # `WHERE COLUMNS('x_.*') IS NOT NULL`, `coalesce(*COLUMNS([...]))`: each column.
                for source_name, name in chosen:
                    self._visit(exp.column(name, table=source_name), scope, role, acc, aliases, lambda_params)
                return
        if isinstance(node, exp.Star) and _reads_whole_rows(node):
            # `object_construct(*)`, `to_json(struct(*))`, `hash(*)`: every column of the scope.
            self._visit_star_argument(scope, role, acc)
            return
        if isinstance(node, exp.Order) and node.this is not None:
            # An aggregate's own ORDER BY (`string_agg(s, ',' ORDER BY d)`, LISTAGG ... WITHIN
            # GROUP): it orders the values, it is not one of them.
            self._visit(node.this, scope, role, acc, aliases, lambda_params)
            for ordered in node.expressions:
                self._visit(ordered, scope, role or "order_by", acc, aliases, lambda_params)
            return
        if isinstance(node, exp.WithinGroup) and not _orders_its_values(node.this):
            self._visit(node.this, scope, role, acc, aliases, lambda_params)
            order = node.expression
            if order is not None:
                self._visit(order, scope, role or "order_by", acc, aliases, lambda_params)
            return
        if isinstance(node, exp.Lambda):
            params = frozenset(p.name for p in node.expressions)
            self._visit(node.this, scope, role, acc, aliases, lambda_params | params)
            return
        if isinstance(node, (exp.Select, exp.SetOperation)):
            self._visit_subquery(node, scope, role, acc)
            return
        if isinstance(node, exp.Anonymous) and node.name.lower().startswith("dictget") and node.expressions:
            # ClickHouse dictGet*(dictionary, attribute, key...): the first argument names a
            # dictionary (a table read), not a column; the keys are the values looked up.
            self._note_dictionary(node.expressions[0])
            for child in node.expressions[1:]:
                self._visit(child, scope, role, acc, aliases, lambda_params)
            return
        for child in node.iter_expressions():
            self._visit(child, scope, role, acc, aliases, lambda_params)

    def _visit_row_field(
        self,
        node: exp.Dot,
        scope: Scope,
        role: str | None,
        acc: _Acc,
        aliases: dict[str, ColumnTrace] | None,
    ) -> bool:
        """`(array_agg(t ORDER BY ...)[OFFSET(0)]).f` (BigQuery's dedupe), directly or through a
        CTE column: field f of a row of t is t.f, and what orders or filters the row still counts."""
        if isinstance(node.this, exp.Column):
            found = self._resolve_path(node.this, scope, aliases)
            if found is None or found[1] or not found[0].fields:
                return False
            base = found[0]
        elif node.this.find(exp.TableColumn) is not None:
            base = self.trace(node.this, scope, aliases)
            if not base.fields:
                return False
        else:
            return False  # no row in reach: an ordinary struct/JSON path, walked as usual
        field_trace, rest = _field_of(base, [node.expression])
        if rest:
            return False
        acc.take(field_trace, role)
        acc.indirect |= base.indirect
        acc.refs.append(ColumnRef(id(node), field_trace, node.expression.name, node.expression))
        return True

    def _expand_columns_projection(
        self, scope: Scope, projection: exp.Expr, aliases: dict[str, ColumnTrace], result: ScopeResult
    ) -> bool:
        """DuckDB's `COLUMNS(selector)` and `* LIKE 'p%'` in a projection: the expression once per
        chosen column, named as the column (or the alias, with `\\0` standing for the column).
        False when the selector cannot be evaluated here (the projection is then one column)."""
        value = projection.unalias()
        if isinstance(value, _STAR_PATTERNS):
            chosen = self._chosen_columns(scope, value)
        else:
            node = value.find(exp.Columns)
            chosen = self._chosen_columns(scope, node.this) if node is not None else None
        if chosen is None:
            return False
        alias = projection.alias if isinstance(projection, exp.Alias) else ""
        if _is_generated_name(alias):
            alias = ""  # qualify's name for an unaliased projection
        planned = [(source_name, name, alias.replace("\\0", name) if alias else name) for source_name, name in chosen]
        tag = scope.expression.meta_get(COLUMNS_META)
        if tag is not None:
            ordinal = [p for p in scope.expression.expressions if _selects_columns(p)].index(projection)
            self.columns_expansions.setdefault(tag, {})[ordinal] = planned
        for source_name, name, output in planned:
            trace = self.trace(_for_one_column(value, source_name, name), scope, aliases=aliases)
            aliases.setdefault(output, trace)
            result.add(output, trace)
        return True

    def _chosen_columns(self, scope: Scope, selector: exp.Expr | None) -> list[tuple[str, str]] | None:
        """(source, column) pairs of `scope` a DuckDB column selector chooses, in output order:
        a `*` (with EXCLUDE, or LIKE/ILIKE/GLOB/SIMILAR TO a pattern), a regular expression, a list
        of names, or a lambda over the name. None when the selector cannot be evaluated."""
        if selector is None:
            return None
        visible: list[tuple[str, str]] = []
        table = selector.table if isinstance(selector, exp.Column) and isinstance(selector.this, exp.Star) else ""
        for source_name in [table] if table else list(scope.selected_sources):
            expanded = ScopeResult()
            star = exp.Column(this=exp.Star(), table=exp.to_identifier(source_name))
            self._expand_unresolved_star(scope, star, expanded)
            visible.extend((source_name, name) for name, _ in expanded.columns if name != STAR)
        if isinstance(selector, exp.Array):
            wanted = [e.name for e in selector.expressions if isinstance(e, exp.Literal)]
            by_name = {name.casefold(): (source, name) for source, name in reversed(visible)}
            return [by_name[w.casefold()] for w in wanted if w.casefold() in by_name]
        test = _name_test(selector)
        if test is None:
            return None
        return [(source, name) for source, name in visible if test(name)]

    def _visit_json_field(
        self,
        node: exp.JSONExtract | exp.JSONExtractScalar,
        scope: Scope,
        role: str | None,
        acc: _Acc,
        aliases: dict[str, ColumnTrace] | None,
    ) -> bool:
        """`contact:email` (Snowflake) of an object built upstream as `object_construct('email', e,
        ...)`: the lineage of that key's value, not of the whole object."""
        if not isinstance(node.this, exp.Column):
            return False
        found = self._resolve_path(node.this, scope, aliases)
        if found is None or found[1] or not found[0].fields:
            return False
        keys = _json_keys(node)
        if not keys:
            return False
        field_trace, rest = _field_of(found[0], [exp.to_identifier(keys[0])])
        if rest or field_trace is found[0]:
            return False
        acc.take(field_trace, role)
        acc.refs.append(ColumnRef(id(node), field_trace, keys[0], None))
        return True

    def _visit_star_argument(
        self, scope: Scope, role: str | None, acc: _Acc, only: str | None = None
    ) -> ScopeResult:
        """Every column of the scope's sources (or of the one named `only`) read at once."""
        expanded = ScopeResult()
        for name in [only] if only else scope.selected_sources:
            self._expand_unresolved_star(scope, exp.Column(this=exp.Star(), table=exp.to_identifier(name)), expanded)
        for _name, trace in expanded.columns:
            acc.take(trace, role)
        return expanded

    def _visit_window(
        self,
        node: exp.Window,
        scope: Scope,
        role: str | None,
        acc: _Acc,
        aliases: dict[str, ColumnTrace] | None,
        lambda_params: frozenset[str],
    ) -> None:
        self._visit(node.this, scope, role, acc, aliases, lambda_params)
        for window in (node, *_named_windows(node)):
            for partition in window.args.get("partition_by") or []:
                self._visit(partition, scope, role or "partition_by", acc, aliases, lambda_params)
            order = window.args.get("order")
            if order is not None:
                self._visit(order, scope, role or "window_order", acc, aliases, lambda_params)

    def _visit_subquery(self, node: exp.Expr, scope: Scope, role: str | None, acc: _Acc) -> None:
        sub_scope = next((s for s in scope.subquery_scopes if s.expression is node), None)
        if sub_scope is None:
            sub_scope = next((s for s in scope.table_scopes if s.expression is node), None)
        if sub_scope is None:
            return
        result = self.result(sub_scope)
        only_filters = isinstance(node.parent, exp.Exists) or isinstance(
            getattr(node.parent, "parent", None), exp.Exists
        )
        acc.indirect |= result.row_indirect
        for _name, trace in result.columns:
            if only_filters:
                acc.indirect |= trace.indirect
                continue
            acc.take(trace, role)
        if role is None and not only_filters and str(node.args.get("kind") or "").upper() == "STRUCT":
            # BigQuery `ARRAY(SELECT AS STRUCT a, b ...)`: rows whose fields are the columns.
            acc.rows.append(tuple(result.columns))

    def _visit_column(
        self,
        node: exp.Column,
        scope: Scope,
        role: str | None,
        acc: _Acc,
        aliases: dict[str, ColumnTrace] | None,
        lambda_params: frozenset[str],
    ) -> None:
        if isinstance(node.this, exp.Star):
            return
        if not node.table and node.name in lambda_params:
            return
        found = self._resolve_path(node, scope, aliases)
        self._last_resolved = (node, scope, aliases, found)
        identifier = node.this if isinstance(node.this, exp.Identifier) else None
        if found is None and not node.table:
            row = _row_source(scope, node.name)
            if row is not None:
                # A table alias used as a value (`to_json(t)`, `array_agg(t)`): its whole row.
                self._visit_star_argument(row, role, acc, only=node.name)
                return
        if found is None:
            if role is None:  # an unplaceable filter column only loses an indirect edge
                acc.unresolved.add(node.name)
                acc.inputs.add(frozenset({("", node.name)}))
            acc.refs.append(ColumnRef(id(node), None, node.name, identifier))
            # (A scope with no sources at all is the copy of a recursive CTE's base case that
            # sqlglot never traversed: nothing can be judged there.)
            if node.table and scope.sources and not _defines_source(scope, node.table):
                self.unplaced.setdefault(f"{node.table}.{node.name}", None)
            return
        trace, path = found
        acc.take(trace, role)
        if trace.fields and not path and role is None:
            acc.rows.append(trace.fields)
        acc.refs.append(ColumnRef(id(node), trace, node.name, identifier, tuple(path)))

    # ------------------------------------------------------------------------------ resolution

    def _resolve_path(
        self, column: exp.Column, scope: Scope, aliases: dict[str, ColumnTrace] | None
    ) -> tuple[ColumnTrace, list[exp.Identifier]] | None:
        """The trace of the source column `column` refers to, and the struct/JSON path under it."""
        identifiers = [p for p in column.parts if isinstance(p, exp.Identifier)]
        parts = [p.name for p in identifiers]
        if not parts:
            return None
        current: Scope | None = scope
        while current is not None:
            found = self._resolve_in(parts, current)
            if found is not None:
                trace, split = found
                return _field_of(trace, identifiers[split + 1 :])
            # Correlated references read the enclosing query's sources.
            current = current.parent
        if len(parts) == 1 and aliases and parts[0] in aliases:
            # A lateral column alias: `SELECT a + 1 AS b, b * 2 AS c`.
            return aliases[parts[0]], []
        # `s.a.b` with no source named `s`: a struct column `s` of the one source that can hold it.
        # An unqualified name no source of this scope has may be correlated: try enclosing scopes.
        current = scope
        while current is not None:
            trace = self._resolve_unqualified(parts[0], current)
            if trace is not None:
                return _field_of(trace, identifiers[1:])
            current = (
                current.parent
                if current.selected_sources == {} or current.is_udtf or current.is_subquery
                else None
            )
        if not self.strict_schema and len(parts) == 1:
            # No scope knows the name: a schema that is out of date. Valid SQL reading it from a
            # scope with one source reads it from that source (tried last, so that a correlated
            # reference to an enclosing query that does know the name wins).
            trace = self._read_from_only_source(parts[0], scope)
            if trace is not None:
                return trace, identifiers[1:]
        return None

    def _resolve_in(self, parts: list[str], scope: Scope) -> tuple[ColumnTrace, int] | None:
        # The shortest prefix naming a source is the table; the next part is the column and any
        # further parts are struct fields or JSON keys under it.
        for split in range(1, min(len(parts), 4)):
            source = scope.sources.get(parts[split - 1]) or _pivoted_source(scope, parts[split - 1])
            if source is None:
                continue
            trace = self._from_source(source, parts[split], scope)
            if trace is not None:
                return trace, split
        return None

    def _resolve_unqualified(self, name: str, scope: Scope) -> ColumnTrace | None:
        """An unqualified name qualify could not place: the one source that has it (exactly, then
        ignoring case), else the one source whose columns are unknown."""
        exact: list[str] = []
        folded: list[str] = []
        unknown: list[str] = []
        for source_name, (_node, source) in scope.selected_sources.items():
            columns = self._source_columns(source)
            if columns is None:
                unknown.append(source_name)
            elif name in columns:
                exact.append(source_name)
            elif name.casefold() in {c.casefold() for c in columns}:
                folded.append(source_name)
        for candidates in (exact, folded):
            if len(candidates) == 1:
                return self._from_source(scope.selected_sources[candidates[0]][1], name, scope)
            if candidates:
                return None  # ambiguous
        if len(unknown) == 1:
            return self._from_source(scope.selected_sources[unknown[0]][1], name, scope)
        if len(unknown) > 1:
            # Several sources of unknown columns. A valid query names an unqualified column that
            # exactly one of them has; if the query also spells it `alias.name` for exactly one of
            # them, that one is proven to have it, so it is the one.
            proven = [s for s in self._qualified_by(scope).get(name.casefold(), ()) if s in unknown]
            if len(proven) == 1:
                trace = self._from_source(scope.selected_sources[proven[0]][1], name, scope)
                return replace(trace, confidence=min(trace.confidence, 0.8)) if trace else None
        return None

    def _read_from_only_source(self, name: str, scope: Scope) -> ColumnTrace | None:
        if len(scope.selected_sources) != 1:
            return None
        only = next(iter(scope.selected_sources.values()))[1]
        trace = self._from_source(only, name, scope)
        return replace(trace, confidence=min(trace.confidence, 0.6)) if trace else None

    def _qualified_by(self, scope: Scope) -> dict[str, set[str]]:
        """Per column name (case-folded), the sources of `scope` it is qualified with in the scope."""
        found = self._qualified.get(id(scope))
        if found is None:
            found = {}
            for column in scope.columns:
                if column.table and column.table in scope.selected_sources:
                    found.setdefault(column.name.casefold(), set()).add(column.table)
            self._qualified[id(scope)] = found
        return found

    def _source_columns(self, source: exp.Table | Scope) -> list[str] | None:
        """Column names a source is known to have; None when they cannot be known."""
        if isinstance(source, exp.Table):
            if isinstance(source.this, exp.Func):
                return None
            columns = self._known_columns(source)
            return list(columns) if columns is not None else None
        inner = self.result(source)
        if inner.star_sources or inner.default is not None:
            return None
        return list(inner.by_name)

    def _from_source(self, source: exp.Table | Scope, name: str, scope: Scope) -> ColumnTrace | None:
        pivots = _pivots(source)
        if pivots:
            return self._pivot_trace(_cte_behind(source, scope) or source, pivots[-1], name)
        if isinstance(source, Scope):
            return self._from_scope(source, name)
        if isinstance(source.this, exp.SemanticView) and isinstance(source.this.this, exp.Table):
            # Snowflake SEMANTIC_VIEW(v METRICS m DIMENSIONS d): columns are the view's own.
            return self._leaf_trace(source.this.this, name)
        if isinstance(source.this, exp.Func):
            # A table function (generate_series, TABLE(FLATTEN(...))): its columns come from its
            # arguments.
            return self._function_trace(source, source.this, name, scope)
        rows_from = source.args.get("rows_from")
        if rows_from:
            # Postgres `ROWS FROM (f(a), g(b)) AS x(c1, c2)`: each function gives its column.
            functions = [t.this if isinstance(t, exp.Table) else t for t in rows_from]
            alias = source.args.get("alias")
            names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
            function = functions[0] if len(functions) == 1 else exp.Tuple(expressions=functions)
            if len(names) == len(functions) and name in names:
                function = functions[names.index(name)]
            return self._function_trace(source, function, name, scope)
        if not source.name:
            return None  # no relation to name (what is left of an uncompiled `{{ ref(...) }}`)
        return self._leaf_trace(source, name)

    def _function_trace(self, source: exp.Table, function: exp.Expr, name: str, scope: Scope) -> ColumnTrace | None:
        # Named arguments (`hive_partitioning=1`) look like columns that could only resolve to the
        # function itself: the guard stops that loop.
        if id(source) in self._in_function:
            return None
        self._in_function.add(id(source))
        try:
            acc = _Acc()
            self._visit(function, scope, None, acc)
        finally:
            self._in_function.discard(id(source))
        acc.unresolved.clear()
        return replace(self._trace_from_acc(acc, function, direct=False), readable=LeafText(name))

    def _pivot_trace(self, source: exp.Table | Scope, pivot: exp.Pivot, name: str) -> ColumnTrace | None:
        """A column of `t PIVOT (agg FOR f IN (...))` or `t UNPIVOT (v FOR f IN (c1, c2))`, where t
        is a table or a subquery."""

        def read(column: str) -> ColumnTrace | None:
            if isinstance(source, Scope):
                return self._from_scope(source, column)
            return self._leaf_trace(source, column)

        fields = pivot.args.get("fields") or []
        field = fields[0] if fields and isinstance(fields[0], exp.In) else None
        field_name = field.this.name if field is not None else ""
        if pivot.unpivot:
            if name.casefold() == field_name.casefold():
                # The unpivoted column names become values: nothing is read from them.
                return ColumnTrace(frozenset(), frozenset(), LeafText(name), direct=False)
            # Value columns: `v`, or BigQuery's `(v, w)` with IN tuples `((a, b) AS 'X', ...)`,
            # where v reads each tuple's first column and w its second.
            value_names = [
                e.name.casefold() for node in pivot.expressions for e in (node.expressions if isinstance(node, exp.Tuple) else [node])
            ]
            if name.casefold() in value_names and field is not None:
                # `IN (q1, q2)` or `IN (q1 AS 'Q1', ...)`: the aliases only rename the field values.
                position = value_names.index(name.casefold())
                unaliased = [c.this if isinstance(c, (exp.PivotAlias, exp.Alias)) else c for c in field.expressions]
                picked = [
                    (c.expressions[position] if position < len(c.expressions) else None) if isinstance(c, exp.Tuple) else c
                    for c in unaliased
                ]
                columns = [c.name for c in picked if isinstance(c, exp.Column)]
                found = [t for t in (read(c) for c in columns) if t is not None]
                return merge_branches(found) if found else None
            return read(name)
        generated = [c.name for c in pivot.args.get("columns") or []]
        alias = pivot.args.get("alias")
        renamed = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
        folded = name.casefold()
        if renamed:
            # `AS p (c1, c2, ...)` renames the output by position: the columns the pivot passes
            # through (the source's others, which it groups by) come first, the generated ones last.
            kept = renamed[: max(0, len(renamed) - len(generated))]
            index = next((i for i, c in enumerate(kept) if c.casefold() == folded), None)
            if index is not None:
                return read(self._pivot_kept(source, pivot, field_name, index) or name)
            if folded in {c.casefold() for c in renamed}:
                return self._pivoted_value(source, pivot, field, field_name, read)
            return read(name)
        known = self._pivot_source_columns(source) or []
        if folded not in {c.casefold() for c in generated} and (name in known or not generated):
            return read(name)
        return self._pivoted_value(source, pivot, field, field_name, read)

    def _pivoted_value(
        self,
        source: exp.Table | Scope,
        pivot: exp.Pivot,
        field: exp.In | None,
        field_name: str,
        read: Callable[[str], ColumnTrace | None],
    ) -> ColumnTrace:
        """A pivoted value: the aggregate over the value column, for rows whose field matches."""
        acc = _Acc()
        for column in (c for e in pivot.expressions for c in e.find_all(exp.Column)):
            trace = read(column.name)
            if trace is None:
                continue
            acc.take(trace, None)
            identifier = column.this if isinstance(column.this, exp.Identifier) else None
            acc.refs.append(ColumnRef(id(column), trace, column.name, identifier))
        if field is not None:
            trace = read(field_name)
            if trace is not None:
                acc.take(trace, "filter")
        node = pivot.expressions[0].unalias() if pivot.expressions else exp.Null()
        return self._trace_from_acc(acc, node, direct=False)

    def _pivot_source_columns(self, source: exp.Table | Scope) -> list[str] | None:
        if isinstance(source, Scope):
            return self._source_columns(source)
        known = self._known_columns(source)
        return list(known) if known is not None else None

    def _pivot_kept(
        self, source: exp.Table | Scope, pivot: exp.Pivot, field_name: str, index: int
    ) -> str | None:
        """The source column behind the `index`-th passed-through column of a pivot: the source's
        columns other than the pivoted value and field, in order (None when they are unknown)."""
        columns = self._pivot_source_columns(source)
        if columns is None:
            return None
        used = {c.name.casefold() for e in pivot.expressions for c in e.find_all(exp.Column)}
        used.add(field_name.casefold())
        kept = [c for c in columns if c.casefold() not in used]
        return kept[index] if index < len(kept) else None

    def _from_scope(self, source: Scope, name: str) -> ColumnTrace | None:
        # A recursive CTE's self-reference points at a bare copy of its base case that sqlglot
        # never traversed (it has no sources); read the traversed scope of the same query.
        source = self._traversed.get(id(source.expression), source)
        result = self.result(source)
        trace = result.by_name.get(name)
        if trace is not None:
            return trace
        folded = [t for n, t in result.columns if n.casefold() == name.casefold()]
        if len(folded) == 1:
            return folded[0]
        if result.default is not None:
            element, rest = _field_of(result.default, [exp.to_identifier(name)])
            if not rest and element is not result.default:
                return element  # BigQuery `UNNEST(structs) AS x` ... `x.f`: a field of the element
            return replace(result.default, readable=LeafText(name))
        if isinstance(source.expression, exp.SetOperation) and source.set_operation_scopes:
            # A name hidden in every branch (behind stars): each branch supplies it by position.
            branches = [self._from_scope(branch, name) for branch in source.set_operation_scopes]
            found = [t for t in branches if t is not None]
            if found:
                return merge_branches(found)
        # A name hidden behind a `*` we could not expand: it can only come from those sources.
        for star_scope, star_source in result.star_sources:
            found = self._resolve_in([star_source, name], star_scope)
            if found is not None:
                return replace(found[0], confidence=min(found[0].confidence, 0.7))
        if not self.strict_schema and source.expression.meta_get(STAR_META):
            # `SELECT * FROM t` expanded from a partial column list (schema.yml documents some
            # columns only): valid SQL reading `name` through it means t has `name`.
            selected = list(source.selected_sources.values())
            if len(selected) == 1:
                trace = self._from_source(selected[0][1], name, source)
                return replace(trace, confidence=min(trace.confidence, 0.6)) if trace else None
        return None

    def _leaf_trace(self, table: exp.Table, name: str) -> ColumnTrace:
        leaf_table = self.namer.name(table)
        columns = self._known_columns(table)
        confidence = 1.0
        column = name
        if columns is None:
            confidence = 0.9  # no schema for this table: the column is taken on the SQL's word
        elif name not in columns:
            folded = {c.casefold(): c for c in columns}
            if name.casefold() in folded:
                column = folded[name.casefold()]  # quoted differently than the schema spells it
            else:
                confidence = 0.8
        self.tables.setdefault(leaf_table, None)
        return ColumnTrace(
            upstreams=frozenset({(leaf_table, column)}),
            indirect=frozenset(),
            readable=LeafText(column, leaf_table),
            direct=True,
            inputs=frozenset({frozenset({(leaf_table, column)})}),
            confidence=confidence,
        )

    def _known_columns(self, table: exp.Table) -> dict[str, str] | None:
        return self.schema.find(table)

    def note_tables(self, root: Scope) -> None:
        """Every physical table the statement reads, used or not (an unused CTE still reads its
        tables), including tables passed into table functions (`ML.PREDICT(MODEL m, TABLE t)`)."""
        for scope in root.traverse():
            for source in scope.sources.values():
                if isinstance(source, exp.Table) and _cte_behind(source, scope) is None:
                    self._note_table(source)

    def _note_dictionary(self, name: exp.Expr) -> None:
        if isinstance(name, exp.Literal):
            parts = [p for p in name.name.split(".") if p]
        elif isinstance(name, exp.Column):
            parts = [p.name for p in name.parts]
        else:
            return
        if parts:
            table = exp.Table(
                this=exp.to_identifier(parts[-1]), db=exp.to_identifier(parts[-2]) if len(parts) > 1 else None
            )
            self._note_table(table)

    def _note_table(self, table: exp.Table) -> None:
        if isinstance(table.this, exp.SemanticView) and isinstance(table.this.this, exp.Table):
            self._note_table(table.this.this)
            return
        if isinstance(table.this, exp.Func):
            for inner in table.this.find_all(exp.Table):
                self._note_table(inner)
            return
        if not table.name:
            return
        self.tables.setdefault(self.namer.name(table), None)

    def _check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise LineageTimeout()


class TableNamer:
    """Names a physical table as fully as the query's defaults or the schema spell it."""

    def __init__(self, schema: LineageSchema, dialect: str = "") -> None:
        self.schema = schema
        self.dialect = dialect
        self._cache: dict[tuple[str, ...], str] = {}

    def name(self, table: exp.Table) -> str:
        parts = tuple(p.name for p in table.parts if p.name)
        if self.dialect == "bigquery" and parts and "$" in parts[-1]:
            # `t$20240101` / `t$__UNPARTITIONED__` are partition decorators of table t.
            parts = (*parts[:-1], parts[-1].split("$", 1)[0])
        cached = self._cache.get(parts)
        if cached is None:
            known = self.schema.resolve(parts)
            chosen = known if known is not None and len(known) >= len(parts) else parts
            cached = ".".join(chosen)
            self._cache[parts] = cached
        return cached


def _field_of(trace: ColumnTrace, path: list[exp.Identifier]) -> tuple[ColumnTrace, list[exp.Identifier]]:
    """`row.f` of a value known to be a whole row: the field's own lineage, and the rest of the path."""
    if path and trace.fields:
        wanted = path[0].name.casefold()
        for name, field_trace in trace.fields:
            if name.casefold() == wanted:
                return field_trace, path[1:]
    return trace, path


def _row_source(scope: Scope | None, name: str) -> Scope | None:
    """The scope (this one or an enclosing one) where `name` is a table alias, when it is one."""
    while scope is not None:
        if name in scope.selected_sources:
            return scope
        scope = scope.parent
    return None


def _defines_source(scope: Scope | None, name: str) -> bool:
    """Whether `name` is a table, alias or CTE visible from `scope` (its own or an enclosing one)."""
    folded = name.casefold()
    while scope is not None:
        if any(source.casefold() == folded for source in scope.sources):
            return True
        scope = scope.parent
    return False


def _pivoted_source(scope: Scope, alias: str) -> exp.Table | Scope | None:
    """The table or subquery a `PIVOT (...) AS alias` applies to (sqlglot keys the source by the
    table's or subquery's own name, the columns by the pivot's alias)."""
    for source in scope.sources.values():
        if any(p.alias == alias for p in _pivots(source)):
            return source
    return None


def _struct_fields(data_type: str | None, dialect: str, array: bool = False) -> list[str]:
    """The field names of a STRUCT type as a schema spells it (`struct<city:string, zip:string>`),
    or with `array`, of the structs in an ARRAY type."""
    if not data_type or "<" not in data_type and "(" not in data_type:
        return []
    try:
        parsed = exp.DataType.build(data_type, dialect=dialect or None)
    except (SqlglotError, ValueError):
        return []
    if array:
        if parsed.this != exp.DType.ARRAY or not parsed.expressions:
            return []
        parsed = parsed.expressions[0]
    if not isinstance(parsed, exp.DataType) or parsed.this != exp.DType.STRUCT:
        return []
    return [f.name for f in parsed.expressions if isinstance(f, exp.ColumnDef) and f.name]


def _cte_behind(source: exp.Table | Scope, scope: Scope) -> Scope | None:
    """The CTE a pivoted `cte PIVOT (...) AS p` reads: sqlglot registers the pivot's alias as a
    plain table, which would otherwise read as a physical table named after the CTE."""
    if not isinstance(source, exp.Table) or source.db or not source.args.get("pivots"):
        return None
    cte = scope.cte_sources.get(source.name)
    return cte if isinstance(cte, Scope) else None


def _pivots(source: exp.Table | Scope | object) -> list[exp.Pivot]:
    """The PIVOT/UNPIVOT clauses applied to a source: on the Table node, or on the Subquery node
    around a derived table's query."""
    if isinstance(source, exp.Table):
        return list(source.args.get("pivots") or [])
    if isinstance(source, Scope) and isinstance(source.expression.parent, exp.Subquery):
        return list(source.expression.parent.args.get("pivots") or [])
    return []


# `* LIKE 'p%'` and its kin (DuckDB): a star that keeps the columns whose names match.
_STAR_PATTERNS = (exp.Like, exp.ILike, exp.Glob, exp.SimilarTo)


def _selects_columns(projection: exp.Expr) -> bool:
    """A projection that expands to several columns: DuckDB `COLUMNS(...)` (not unpacked into one
    call's arguments) or `* LIKE 'p%'`."""
    value = projection.unalias()
    if isinstance(value, _STAR_PATTERNS) and isinstance(value.this, exp.Star):
        return True
    node = value.find(exp.Columns)
    return node is not None and not node.args.get("unpack") and node.find_ancestor(exp.Select) is value.find_ancestor(exp.Select)


def _name_test(selector: exp.Expr) -> Callable[[str], bool] | None:
    """A test on column names for a DuckDB column selector, or None when it cannot be evaluated.
    Names are matched ignoring case: the engine has already folded unquoted names."""
    if isinstance(selector, exp.Column) and isinstance(selector.this, exp.Star):
        selector = selector.this
    if isinstance(selector, exp.Star):
        excluded = {e.name.casefold() for e in selector.args.get("except_") or selector.args.get("except") or []}
        return lambda name: name.casefold() not in excluded
    if isinstance(selector, _STAR_PATTERNS) and isinstance(selector.this, exp.Star):
        star_test = _name_test(selector.this)
        pattern = _pattern_test(selector, selector.expression)
        if star_test is None or pattern is None:
            return None
        return lambda name: star_test(name) and pattern(name)
    if isinstance(selector, exp.Literal) and selector.is_string:
        try:
            regex = re.compile(selector.name, re.IGNORECASE)
        except re.error:
            return None
        return lambda name: regex.search(name) is not None
    if isinstance(selector, exp.Lambda) and len(selector.expressions) == 1:
        parameter = selector.expressions[0].name
        body = selector.this
        if _predicate(body, parameter, "probe") is None:
            return None
        return lambda name: bool(_predicate(body, parameter, name))
    return None


def _pattern_test(operator: exp.Expr, pattern: exp.Expr | None) -> Callable[[str], bool] | None:
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        return None
    text = pattern.name
    if isinstance(operator, exp.Glob):
        regex = fnmatch.translate(text)
    elif isinstance(operator, exp.SimilarTo):
        regex = text + r"\Z"
    else:  # LIKE / ILIKE: % is any run, _ any one character
        regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in text) + r"\Z"
    try:
        compiled = re.compile(regex, re.IGNORECASE | re.DOTALL)
    except re.error:
        return None
    return lambda name: compiled.match(name) is not None


def _predicate(node: exp.Expr, parameter: str, name: str) -> bool | None:
    """A lambda's body evaluated for one column name; None where it says something we cannot judge."""

    def is_parameter(value: exp.Expr | None) -> bool:
        return isinstance(value, (exp.Identifier, exp.Column)) and value.name == parameter and not (
            isinstance(value, exp.Column) and value.table
        )

    def text(value: exp.Expr | None) -> str | None:
        return value.name if isinstance(value, exp.Literal) and value.is_string else None

    if isinstance(node, exp.Paren):
        return _predicate(node.this, parameter, name)
    if isinstance(node, exp.Not):
        inner = _predicate(node.this, parameter, name)
        return None if inner is None else not inner
    if isinstance(node, (exp.And, exp.Or)):
        left = _predicate(node.this, parameter, name)
        right = _predicate(node.expression, parameter, name)
        if left is None or right is None:
            return None
        return (left and right) if isinstance(node, exp.And) else (left or right)
    if isinstance(node, exp.In) and is_parameter(node.this):
        values = [text(v) for v in node.expressions]
        if any(v is None for v in values):
            return None
        return name.casefold() in {str(v).casefold() for v in values}
    if not is_parameter(node.this):
        return None
    argument = text(node.expression)
    if argument is None:
        return None
    folded, wanted = name.casefold(), argument.casefold()
    if isinstance(node, (exp.EQ, exp.NEQ)):
        return (folded == wanted) == isinstance(node, exp.EQ)
    if isinstance(node, exp.StartsWith):
        return folded.startswith(wanted)
    if isinstance(node, exp.EndsWith):
        return folded.endswith(wanted)
    if isinstance(node, exp.Contains):
        return wanted in folded
    if isinstance(node, exp.RegexpLike):
        try:
            return re.search(argument, name, re.IGNORECASE) is not None
        except re.error:
            return None
    if isinstance(node, _STAR_PATTERNS):
        test = _pattern_test(node, node.expression)
        return None if test is None else test(name)
    return None


def _reads_whole_rows(star: exp.Star) -> bool:
    """A `*` passed to a function other than COUNT: the function reads every column."""
    parent = star.parent
    return isinstance(parent, exp.Func) and not isinstance(parent, exp.Count)


# Ordered-set aggregates whose WITHIN GROUP (ORDER BY x) names the values themselves.
_ORDERED_SET_AGGREGATES = (exp.PercentileCont, exp.PercentileDisc)
_ORDERED_SET_NAMES = frozenset({"mode", "percentile_cont", "percentile_disc", "median", "rank", "dense_rank"})


def _orders_its_values(function: exp.Expr) -> bool:
    if isinstance(function, _ORDERED_SET_AGGREGATES):
        return True
    name = function.name if isinstance(function, exp.Anonymous) else type(function).__name__
    return str(name).lower() in _ORDERED_SET_NAMES


def _named_windows(window: exp.Window) -> list[exp.Window]:
    """The `WINDOW w AS (...)` definitions an `OVER w` (or `OVER (w ...)`) builds on, innermost
    reference first."""
    select = window.find_ancestor(exp.Select)
    definitions = {d.name: d for d in (select.args.get("windows") or [])} if select else {}
    found: list[exp.Window] = []
    reference = window.args.get("alias") or (window.this if isinstance(window.this, exp.Identifier) else None)
    seen: set[str] = set()
    while isinstance(reference, exp.Identifier) and reference.name in definitions and reference.name not in seen:
        seen.add(reference.name)
        definition = definitions[reference.name]
        found.append(definition)
        reference = definition.args.get("alias")
    return found


def merge_branches(traces: list[ColumnTrace]) -> ColumnTrace:
    """One column fed by several set-operation branches (or MERGE clauses)."""
    if len(traces) == 1:
        return traces[0]
    meaningful = [t for t in traces if not is_null(t)]
    direct = bool(meaningful) and all(t.direct for t in meaningful)
    readable: Readable = meaningful[0].readable if direct else UnionText(tuple(meaningful or traces))
    inputs: frozenset[frozenset[Leaf]] = frozenset().union(*(t.inputs for t in traces))
    if all(len(t.inputs) <= 1 for t in traces) and inputs:
        # Each branch computes the column from (at most) one input: position-wise it is one
        # logical input, fed by a column of each branch.
        inputs = frozenset({frozenset().union(*inputs)})
    return ColumnTrace(
        upstreams=frozenset().union(*(t.upstreams for t in traces)),
        indirect=frozenset().union(*(t.indirect for t in traces)),
        readable=readable,
        direct=direct,
        unresolved=frozenset().union(*(t.unresolved for t in traces)),
        inputs=inputs,
        confidence=min(t.confidence for t in traces),
    )


def is_null(trace: ColumnTrace) -> bool:
    """A NULL placeholder (`SELECT NULL AS x` in one branch of a UNION)."""
    readable = trace.readable
    return (
        isinstance(readable, ExprText)
        and not readable.refs
        and isinstance(unwrap_copy(readable.node), exp.Null)
    )


def tag_columns_selects(query: exp.Expr) -> None:
    """Number the selects that hold DuckDB COLUMNS(...) projections, in tree order, so that their
    expansion can be written back into a fresh parse of the same SQL (`columns_rewrite`)."""
    for tag, select in enumerate(_columns_selects(query)):
        select.meta[COLUMNS_META] = tag


def _json_keys(node: exp.JSONExtract | exp.JSONExtractScalar) -> list[str]:
    """The object keys a JSON path reads, in order (`o:a.b` -> [a, b]); empty past anything else."""
    path = node.expression
    keys: list[str] = []
    for step in path.expressions if isinstance(path, exp.JSONPath) else []:
        if isinstance(step, exp.JSONPathRoot):
            continue
        if not isinstance(step, exp.JSONPathKey) or not isinstance(step.this, str):
            break
        keys.append(step.this)
    return keys


def _for_one_column(value: exp.Expr, source_name: str, name: str) -> exp.Expr:
    """A COLUMNS(...) (or `* LIKE`) projection's value for one column it chose."""
    column = exp.column(name, table=source_name)
    if isinstance(value, (exp.Columns, *_STAR_PATTERNS)):
        return column
    expression = value.copy()
    target = expression.find(exp.Columns)
    if target is not None:
        target.replace(column)
    return expression


def _columns_selects(query: exp.Expr) -> list[exp.Select]:
    if query.find(exp.Columns, *_STAR_PATTERNS) is None:
        return []  # the common case, settled in one walk of the tree
    return [s for s in query.find_all(exp.Select) if any(_selects_columns(p) for p in s.expressions)]


def columns_rewrite(expansions: dict[int, dict[int, list[tuple[str, str, str]]]]) -> Callable[[exp.Expr], exp.Expr]:
    """A rewrite of a fresh parse that spells out each COLUMNS(...) projection as the columns it
    chose, so that qualify sees real names: an outer `SELECT *` over a CTE that used COLUMNS then
    expands to those columns instead of one `_col_0`."""

    def rewrite(statement: exp.Expr) -> exp.Expr:
        for tag, select in enumerate(_columns_selects(statement)):
            plan = expansions.get(tag)
            if not plan:
                continue
            projections: list[exp.Expr] = []
            ordinal = 0
            for projection in select.expressions:
                if not _selects_columns(projection):
                    projections.append(projection)
                    continue
                chosen = plan.get(ordinal)
                ordinal += 1
                if chosen is None:
                    projections.append(projection)
                    continue
                value = projection.unalias()
                for source_name, name, output in chosen:
                    expression = _for_one_column(value, source_name, name)
                    projections.append(exp.alias_(expression, exp.to_identifier(output, quoted=True)))
            select.set("expressions", projections)
        return statement

    return rewrite


def mark_projection_names(query: exp.Expr, dialect: str) -> None:
    """Name unaliased expressions as the dialect would, where qualify would name them `_col_0`...

    Inside CTEs and subqueries the name becomes an explicit alias, so that an enclosing query's
    `*` or `t.count` sees the name the warehouse gives the column; the outermost query's names are
    only remembered (its output is named from them)."""
    for select in query.find_all(exp.Select):
        inner = select is not query and _names_a_relation(select)
        columns_select = select.meta_get(COLUMNS_META) is not None
        for projection in list(select.expressions):
            if _is_star(projection):
                select.meta[STAR_META] = True
            if isinstance(projection, (exp.Alias, exp.Aliases, exp.Column, exp.Star, exp.Dot)):
                continue
            if columns_select and _selects_columns(projection):
                continue  # DuckDB COLUMNS(...): named per chosen column
            name = default_column_name(projection, dialect)
            if inner:
                alias = exp.Alias(alias=exp.to_identifier(name, quoted=True))
                projection.replace(alias)
                alias.set("this", projection)
            else:
                projection.meta[_NAME_META] = name


def _names_a_relation(select: exp.Select) -> bool:
    """Whether the select's column names are seen by name outside it: a CTE's or a derived
    table's (also through set operations), not a scalar or IN subquery's."""
    node: exp.Expr | None = select.parent
    while isinstance(node, (exp.Subquery, exp.SetOperation, exp.Paren)):
        node = node.parent
    return isinstance(node, (exp.CTE, exp.From, exp.Join, exp.Lateral))


# Dialects that name an unaliased expression after its function (Postgres's FigureColname).
_NAMED_BY_FUNCTION = frozenset({"postgres", "redshift", "materialize", "risingwave"})
# Dialects that name it by its text with lower-case function names (`sum(amount)`).
_NAMED_BY_LOWER_TEXT = frozenset({"duckdb", "spark", "spark2", "databricks", "hive"})
_FUNCTION_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(|$)")


def default_column_name(projection: exp.Expr, dialect: str) -> str:
    """The name a dialect gives an unaliased select expression."""
    if dialect in _NAMED_BY_FUNCTION:
        return _postgres_column_name(projection) or "?column?"
    if dialect in _NAMED_BY_LOWER_TEXT:
        return projection.sql(dialect=dialect_instance(dialect), normalize_functions="lower")
    return projection.sql(dialect=dialect_instance(dialect))


def _postgres_column_name(node: exp.Expr) -> str | None:
    """Postgres's FigureColname: a column's or field's name, a function's name, `case`; None for
    operators and literals (Postgres says `?column?`)."""
    if isinstance(node, (exp.Paren, exp.Window, exp.Filter)):
        return _postgres_column_name(node.this)
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Dot):
        return node.name
    if isinstance(node, exp.Cast):
        inner = _postgres_column_name(node.this)
        return inner or node.to.sql(dialect="postgres").lower().split("(")[0]
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select) and node.this.expressions:
        first = node.this.expressions[0]
        return first.alias or _postgres_column_name(first.unalias())
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        match = _FUNCTION_CALL.match(node.sql(dialect="postgres"))
        return match.group(1).lower() if match else None
    return None


def _is_generated_name(name: str) -> bool:
    """qualify's name for an unaliased projection (`_col_0`; `_COL_0` where names fold upper)."""
    return name[:5].casefold() == "_col_" and name[5:].isdigit()


def _output_name(projection: exp.Expr) -> str:
    inner = projection.unalias() if isinstance(projection, exp.Alias) else projection
    name = projection.alias_or_name
    original = inner.meta_get(_NAME_META)
    if original and (not name or _is_generated_name(name)):
        return str(original)
    return name or projection.sql()


def _by_folded_name(result: ScopeResult, name: str) -> ColumnTrace | None:
    found = result.by_name.get(name)
    if found is not None:
        return found
    folded = name.casefold()
    return next((trace for other, trace in result.columns if other.casefold() == folded), None)


def _as_filter(trace: ColumnTrace) -> ColumnTrace:
    """A set-operation branch that only removes rows (EXCEPT's right side): what it reads filters."""
    filters = frozenset((table, column, "filter") for table, column in trace.upstreams)
    return ColumnTrace(
        upstreams=frozenset(),
        indirect=trace.indirect | filters,
        readable=ExprText(exp.Null()),
        direct=True,
        confidence=trace.confidence,
    )


def _column_at(result: ScopeResult, index: int, name: str) -> ColumnTrace | None:
    if index < len(result.columns):
        return result.columns[index][1]
    return result.by_name.get(name)


def _is_star(projection: exp.Expr) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def unwrap_parens(expression: exp.Expr) -> exp.Expr:
    """Strip what leaves a value exactly as it was: parentheses and aliases."""
    node = expression
    while isinstance(node, (exp.Paren, exp.Alias)):
        node = node.this
    return node


def unwrap_copy(expression: exp.Expr) -> exp.Expr:
    """Strip what leaves a value a copy of its input: parentheses, aliases and casts."""
    node = expression
    while True:
        if isinstance(node, (exp.Paren, exp.Alias)):
            node = node.this
        elif isinstance(node, exp.Cast) and not node.args.get("format"):
            node = node.this
        else:
            return node


def _is_using_key(node: exp.Coalesce) -> bool:
    """COALESCE(a.k, b.k) that qualify writes for a key of `JOIN ... USING (k)`."""
    args = _coalesce_args(node)
    return (
        len(args) > 1
        and all(isinstance(a, exp.Column) and a.table for a in args)
        and len({a.name for a in args}) == 1
        and _from_using(node)
    )


def _from_using(node: exp.Coalesce) -> bool:
    select = node.find_ancestor(exp.Select)
    if select is None:
        return False
    name = _coalesce_args(node)[0].name.casefold()
    keys = [join.meta_get(USING_META) or () for join in select.args.get("joins") or []]
    return any(name in names or NATURAL_KEYS in names for names in keys)


def _coalesce_args(node: exp.Coalesce) -> list[exp.Expr]:
    return [node.this, *node.expressions]
