"""Readable transformation text for traced columns, rendered only when asked for.

The scope walk records *how* to print each column (the projection's AST node and which trace each
column reference inside it resolved to) instead of building text eagerly. Rendering replaces each
reference to a CTE/subquery column with that column's own rendering, so a transformation reads in
terms of physical columns (`UPPER(a) || 'x'` rather than `cte_col || 'x'`). Only top-level columns
that need a transformation are rendered, which keeps AST copies out of the walk itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from metadata_pipeline.lineage.dialects import dialect_instance

if TYPE_CHECKING:
    from metadata_pipeline.lineage.scope_walk import ColumnTrace

# Above this many nodes a source column's rendering is not inlined into an outer expression; the
# column's name stands in for it so the text stays readable.
MAX_INLINE_NODES = 40
MAX_UNION_BRANCHES = 3
TABLE_META = "mp_table"  # meta key on rendered physical columns: the table they come from


class Readable:
    """How to print one traced column."""


@dataclass(frozen=True)
class LeafText(Readable):
    """A column printed by name: a physical column (with its table) or a UDTF output."""

    name: str
    table: str | None = None
    identifier: exp.Identifier | None = None  # keeps the reference's quoting


@dataclass(frozen=True)
class ColumnRef:
    """One column reference inside an expression and what it resolved to."""

    node_id: int
    trace: ColumnTrace | None  # None when nothing matched the name
    name: str
    identifier: exp.Identifier | None
    path: tuple[exp.Identifier, ...] = ()  # struct fields / JSON keys under the column


@dataclass(frozen=True)
class ExprText(Readable):
    """An expression of the query (not copied) and its resolved column references."""

    node: exp.Expr
    refs: tuple[ColumnRef, ...] = ()


@dataclass(frozen=True)
class UnionText(Readable):
    """A column fed by several set-operation branches (or MERGE clauses)."""

    branches: tuple[ColumnTrace, ...]


class Renderer:
    """Renders traces to expressions, memoizing each trace's rendering."""

    def __init__(self) -> None:
        self._memo: dict[int, exp.Expr] = {}

    def render(self, trace: ColumnTrace) -> exp.Expr:
        key = id(trace)
        cached = self._memo.get(key)
        if cached is None:
            cached = self._render(trace.readable)
            self._memo[key] = cached
        return cached

    def sql(self, trace: ColumnTrace, dialect: str) -> str:
        return readable_sql(self.render(trace), dialect)

    def _render(self, readable: Readable) -> exp.Expr:
        if isinstance(readable, LeafText):
            return leaf_column(readable.name, readable.table, readable.identifier)
        if isinstance(readable, UnionText):
            return self._render_union(readable)
        assert isinstance(readable, ExprText)
        return self._render_expression(readable)

    def _render_expression(self, readable: ExprText) -> exp.Expr:
        refs = {ref.node_id: ref for ref in readable.refs}
        if not refs:
            return readable.node.copy()
        if id(readable.node) in refs:
            # The whole expression is one column reference: no parentheses needed around it.
            return self._inline(refs[id(readable.node)], nested=False)
        originals = list(walk(readable.node))
        clone = readable.node.copy()
        # A copy walks in the same order as its original, so positions pair the nodes up.
        for original, copied in zip(originals, list(walk(clone)), strict=False):
            ref = refs.get(id(original))
            if ref is not None:
                copied.replace(self._inline(ref))
        return clone

    def _inline(self, ref: ColumnRef, nested: bool = True) -> exp.Expr:
        if ref.trace is None or _too_big(ref.trace.readable):
            replacement: exp.Expr = leaf_column(ref.name, None, ref.identifier)
        else:
            rendered = self.render(ref.trace)
            if size(rendered) > MAX_INLINE_NODES:
                replacement = leaf_column(ref.name, None, ref.identifier)
            else:
                replacement = rendered.copy()
                atomic = isinstance(replacement, (exp.Column, exp.Literal, exp.Func, exp.Paren, exp.Dot))
                if (nested or ref.path) and not atomic:
                    replacement = exp.Paren(this=replacement)
        if ref.path:
            replacement = exp.Dot.build([replacement, *(p.copy() for p in ref.path)])
        return replacement

    def _render_union(self, readable: UnionText) -> exp.Expr:
        # Long UNION chains (one branch per source system) would make an unreadable wall of text:
        # show the first few distinct branches.
        distinct: dict[str, exp.Expr] = {}
        for branch in _flat_branches(readable):
            rendered = self.render(branch)
            distinct.setdefault(rendered.sql(), rendered)
            if len(distinct) > MAX_UNION_BRANCHES:
                break
        if len(distinct) == 1:
            return next(iter(distinct.values()))
        shown = [e.copy() for e in list(distinct.values())[:MAX_UNION_BRANCHES]]
        if len(distinct) > MAX_UNION_BRANCHES:
            shown.append(exp.var("..."))
        return exp.Anonymous(this="UNION", expressions=shown)


def _flat_branches(readable: UnionText) -> list[ColumnTrace]:
    """Branches of nested set operations (`a UNION b UNION c` nests as `(a UNION b) UNION c`)."""
    flat: list[ColumnTrace] = []
    for branch in readable.branches:
        if isinstance(branch.readable, UnionText):
            flat.extend(_flat_branches(branch.readable))
        else:
            flat.append(branch)
    return flat


def _too_big(readable: Readable) -> bool:
    """Whether a rendering would surely exceed the inlining limit (checked before building it)."""
    return isinstance(readable, ExprText) and size(readable.node) > MAX_INLINE_NODES


def readable_sql(expression: exp.Expr, dialect: str) -> str:
    """SQL text of a rendered expression: bare column names, table-qualified only where two
    physical tables contribute a column of the same name."""
    tables_by_name: dict[str, set[str]] = {}
    for column in expression.find_all(exp.Column):
        table = column.meta_get(TABLE_META)
        if table:
            tables_by_name.setdefault(column.name, set()).add(table)
    clashing = {name for name, tables in tables_by_name.items() if len(tables) > 1}
    if clashing:
        expression = expression.copy()
        for column in expression.find_all(exp.Column):
            table = column.meta_get(TABLE_META)
            if table and column.name in clashing:
                column.set("table", exp.to_identifier(table.rsplit(".", 1)[-1]))
    return expression.sql(dialect=dialect_instance(dialect))


def leaf_column(name: str, table: str | None, identifier: exp.Identifier | None = None) -> exp.Column:
    ident = identifier.copy() if isinstance(identifier, exp.Identifier) else exp.to_identifier(name)
    column = exp.Column(this=ident)
    if table:
        column.meta[TABLE_META] = table
    return column


def size(expression: exp.Expr) -> int:
    """Nodes in `expression`, counted up to just past the inlining limit."""
    count = 0
    for _ in expression.walk():
        count += 1
        if count > MAX_INLINE_NODES:
            break
    return count


def walk(expression: exp.Expr) -> Iterator[exp.Expr]:
    """Depth-first pre-order over every node, in argument order."""
    stack = [expression]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(node.iter_expressions())))
