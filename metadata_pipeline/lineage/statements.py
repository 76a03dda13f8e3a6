"""Reduce any statement to the queries whose output columns feed a target.

SELECT is its own query. INSERT...SELECT, CREATE TABLE/VIEW AS and SELECT...INTO feed their query's
columns (renamed by position when the statement lists target columns). UPDATE and MERGE have no
query of their own, so each SET list / WHEN clause becomes a synthetic SELECT over the same sources
whose aliases are the target columns: the scope walk then treats them like any other query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

# Statement kinds, named like DataHub's query types so results read alike.
SELECT = "SELECT"
INSERT = "INSERT"
CREATE_TABLE_AS_SELECT = "CREATE_TABLE_AS_SELECT"
CREATE_VIEW = "CREATE_VIEW"
CREATE_DDL = "CREATE_DDL"
MERGE = "MERGE"
UPDATE = "UPDATE"
DELETE = "DELETE"
UNKNOWN = "UNKNOWN"


@dataclass
class SourceQuery:
    """A query whose output feeds the target; `target_columns` renames its outputs by position."""

    query: exp.Expr
    target_columns: list[str] | None = None
    by_name: bool = False  # outputs already carry their target column names (UPDATE/MERGE)
    # INSERT without a column list writes the target's columns in order, when the schema knows them.
    fill_from_target: bool = False
    # Moves no values, only decides which rows the target keeps (MERGE ... THEN DELETE): its
    # columns count as indirect lineage of the statement; its outputs are not target columns.
    indirect_only: bool = False
    # Hive/Spark `INSERT ... PARTITION (day = '2024-01-01') SELECT ...`: columns set to a constant,
    # which the query's columns skip when they fill the target by position.
    static_columns: dict[str, exp.Expr] = field(default_factory=dict)


@dataclass
class StatementShape:
    kind: str
    queries: list[SourceQuery] = field(default_factory=list)
    target: exp.Table | None = None
    columns: list[str] = field(default_factory=list)  # columns a DDL statement declares


def shape_of(statement: exp.Expr) -> StatementShape:
    """Split a parsed statement into its target and the queries feeding it."""
    if isinstance(statement, exp.Query):
        return _select_shape(statement)
    if isinstance(statement, exp.Insert):
        return _insert_shape(statement)
    if isinstance(statement, exp.Create):
        return _create_shape(statement)
    if isinstance(statement, exp.Merge):
        return _merge_shape(statement)
    if isinstance(statement, exp.Update):
        return _update_shape(statement)
    if isinstance(statement, exp.Delete):
        return _delete_shape(statement)
    if isinstance(statement, exp.Pivot) and isinstance(statement.this, exp.Table):
        query = _pivot_statement_query(statement)
        if query is not None:
            return StatementShape(kind=SELECT, queries=[SourceQuery(query)])
    if isinstance(statement, (exp.Drop, exp.Alter)) and str(statement.args.get("kind") or "").upper() in (
        "TABLE",
        "VIEW",
    ):
        tables = statement.args.get("tables") or [statement.this]
        target = next((t for t in tables if isinstance(t, exp.Table)), None)
        return StatementShape(kind=UNKNOWN, target=target)
    return StatementShape(kind=UNKNOWN)


def _pivot_statement_query(statement: exp.Pivot) -> exp.Select | None:
    """DuckDB's `PIVOT t ON f IN (...) USING agg GROUP BY g` and `UNPIVOT t ON c1, c2 INTO NAME n
    VALUE v` as the standard `SELECT * FROM ... PIVOT (...)` / `UNPIVOT (...)` they mean."""
    table = statement.this
    if statement.args.get("unpivot"):
        into = statement.args.get("into")
        if not isinstance(into, exp.UnpivotColumns) or len(into.expressions) != 1:
            return None
        pivot = exp.Pivot(
            expressions=[exp.to_identifier(into.expressions[0].name)],
            fields=[exp.In(this=exp.to_identifier(into.this.name), expressions=[c.copy() for c in statement.expressions])],
            unpivot=True,
        )
        source: exp.Expr = table.copy()
    else:
        fields = statement.expressions
        using = statement.args.get("using") or []
        if len(fields) != 1 or not isinstance(fields[0], exp.In) or len(using) != 1:
            return None  # no IN list: the pivoted columns are the data's values, unknowable here
        field = fields[0]
        # DuckDB names each pivoted column after its value (`Q1`), or `Q1_total` under an alias.
        suffix = f"_{using[0].alias}" if isinstance(using[0], exp.Alias) else ""
        columns = [exp.to_identifier(f"{value.name}{suffix}") for value in field.expressions]
        pivot = exp.Pivot(expressions=[using[0].copy()], fields=[field.copy()], columns=columns)
        group = statement.args.get("group")
        source = table.copy()
        if isinstance(group, exp.Group) and group.expressions:
            # With GROUP BY only those columns stay beside the pivoted ones.
            read = [*group.expressions, field.this, *using[0].find_all(exp.Column)]
            inner = exp.Select(expressions=[c.copy() for c in read]).from_(table.copy())
            source = inner.subquery()
    source.set("pivots", [pivot])
    return exp.Select(expressions=[exp.Star()]).from_(source)


def _select_shape(query: exp.Query) -> StatementShape:
    into = query.args.get("into")
    if isinstance(query, exp.Select) and isinstance(into, exp.Into):
        query = query.copy()
        query.set("into", None)
        target = into.this if isinstance(into.this, exp.Table) else None
        return StatementShape(kind=SELECT, queries=[SourceQuery(query)], target=target)
    return StatementShape(kind=SELECT, queries=[SourceQuery(query)])


def _target_and_columns(node: exp.Expr | None) -> tuple[exp.Table | None, list[str] | None]:
    """`t` or `t (a, b)` / `t (a INT, b INT)` as a table and its listed columns."""
    if isinstance(node, exp.Schema):
        table = node.this if isinstance(node.this, exp.Table) else None
        columns = [
            c.name for c in node.expressions if isinstance(c, (exp.Identifier, exp.ColumnDef, exp.Column))
        ]
        return table, columns or None
    if isinstance(node, exp.Table):
        return node, None
    return None, None


def _with_statement_ctes(statement: exp.Expr, query: exp.Expr) -> exp.Expr:
    """`WITH c AS (...) INSERT ... SELECT ... FROM c`: the CTEs belong to the query."""
    with_ = statement.args.get("with_")
    if with_ is None or not isinstance(query, exp.Query) or query.args.get("with_"):
        return query
    query = query.copy()
    query.set("with_", with_.copy())
    return query


def _insert_shape(insert: exp.Insert) -> StatementShape:
    target, columns = _target_and_columns(insert.this)
    query = insert.expression
    if query is None:
        return StatementShape(kind=INSERT, target=target)
    query = _with_statement_ctes(insert, query)
    if insert.args.get("by_name"):
        # INSERT ... BY NAME: each output goes to the target column of the same name.
        return StatementShape(kind=INSERT, queries=[SourceQuery(query, by_name=True)], target=target)
    source = SourceQuery(
        query, columns, fill_from_target=columns is None, static_columns=_static_partition(target)
    )
    return StatementShape(kind=INSERT, queries=[source], target=target)


def _static_partition(table: exp.Table | None) -> dict[str, exp.Expr]:
    partition = table.args.get("partition") if table is not None else None
    if not isinstance(partition, exp.Partition):
        return {}
    return {
        eq.this.name: eq.expression
        for eq in partition.expressions
        if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column) and eq.expression is not None
    }


def _create_shape(create: exp.Create) -> StatementShape:
    target, columns = _target_and_columns(create.this)
    properties = create.args.get("properties")
    to_table = properties.find(exp.ToTableProperty) if properties else None
    if to_table is not None and isinstance(to_table.this, exp.Table):
        # ClickHouse `CREATE MATERIALIZED VIEW v TO t AS SELECT ...` writes into t.
        target = to_table.this
    kind = str(create.args.get("kind") or "").upper()
    query = create.expression
    if not isinstance(query, exp.Query):
        if kind != "TABLE":
            return StatementShape(kind=UNKNOWN, target=target)
        return StatementShape(kind=CREATE_DDL, target=target, columns=columns or [])
    shape_kind = CREATE_VIEW if "VIEW" in kind else CREATE_TABLE_AS_SELECT
    query = _with_statement_ctes(create, query)
    return StatementShape(kind=shape_kind, queries=[SourceQuery(query, columns)], target=target)


def _delete_shape(delete: exp.Delete) -> StatementShape:
    """DELETE moves no values; the columns its WHERE (and USING tables) read decide which rows
    of the target are left, so they are the statement's indirect lineage."""
    target = delete.this if isinstance(delete.this, exp.Table) else None
    if target is None:
        return StatementShape(kind=DELETE)
    select = exp.Select(expressions=[exp.alias_(exp.Null(), "__deleted__")])
    select.set("from_", exp.From(this=_bare(target)))
    using = [u for u in delete.args.get("using") or [] if isinstance(u, exp.Expr)]
    if using:
        select.set("joins", [exp.Join(this=u.copy()) for u in using])
    _keep_where_and_ctes(delete, select)
    return StatementShape(kind=DELETE, queries=[SourceQuery(select, indirect_only=True)], target=target)


def _update_shape(update: exp.Update) -> StatementShape:
    target = update.this if isinstance(update.this, exp.Table) else None
    if target is None:
        return StatementShape(kind=UPDATE)
    projections = [_assignment(eq) for eq in update.expressions if isinstance(eq, exp.EQ)]
    select = exp.Select(expressions=[p for p in projections if p is not None])
    select.set("from_", exp.From(this=_bare(target)))
    joins: list[exp.Expr] = []
    from_ = update.args.get("from_")
    if isinstance(from_, exp.From):
        joins.append(exp.Join(this=_bare(from_.this)))
        joins.extend(j.copy() for j in from_.this.args.get("joins") or [])
    joins.extend(j.copy() for j in update.args.get("joins") or [])
    if joins:
        select.set("joins", joins)
    _keep_where_and_ctes(update, select)
    return StatementShape(kind=UPDATE, queries=[SourceQuery(select, by_name=True)], target=target)


def _keep_where_and_ctes(statement: exp.Expr, select: exp.Select) -> None:
    """Give the synthetic SELECT of an UPDATE/DELETE the statement's WHERE and WITH."""
    for key in ("where", "with_"):
        clause = statement.args.get(key)
        if clause is not None:
            select.set(key, clause.copy())


def _merge_shape(merge: exp.Merge) -> StatementShape:
    target = merge.this if isinstance(merge.this, exp.Table) else None
    using = merge.args.get("using")
    if target is None or not isinstance(using, exp.Expr):
        return StatementShape(kind=MERGE, target=target)
    queries: list[SourceQuery] = []
    whens = merge.args.get("whens")
    for when in whens.expressions if isinstance(whens, exp.Whens) else []:
        query = _when_query(when, target, using, merge.args.get("on"))
        if query is not None:
            with_ = merge.args.get("with_")
            if with_ is not None:
                query.set("with_", with_.copy())
            queries.append(SourceQuery(query, by_name=True, indirect_only=_is_delete(when)))
    return StatementShape(kind=MERGE, queries=queries, target=target)


def _is_delete(when: exp.When) -> bool:
    then = when.args.get("then")
    return isinstance(then, exp.Var) and then.name.upper() == "DELETE"


def _when_query(when: exp.When, target: exp.Table, using: exp.Expr, on: exp.Expr | None) -> exp.Select | None:
    then = when.args.get("then")
    if isinstance(then, exp.Insert):
        # WHEN NOT MATCHED THEN INSERT: only the source's columns are visible.
        select = exp.Select(expressions=_insert_projections(then))
        select.set("from_", exp.From(this=using.copy()))
    elif isinstance(then, exp.Update):
        projections = [_assignment(eq) for eq in then.expressions if isinstance(eq, exp.EQ)]
        if any(isinstance(e, exp.Star) for e in then.expressions):
            # UPDATE SET *: every target column from the source's column of the same name.
            projections.append(exp.Column(this=exp.Star(), table=exp.to_identifier(using.alias_or_name)))
        select = _source_joined_to_target(projections, target, using, on)
    elif _is_delete(when):
        # Moves no value; what decides the deletion still shapes the target's rows.
        select = _source_joined_to_target([exp.alias_(exp.Null(), "__deleted__")], target, using, on)
    else:
        return None  # DO NOTHING moves nothing
    if not select.expressions:
        return None
    condition = when.args.get("condition")
    if condition is not None:
        select.set("where", exp.Where(this=condition.copy()))
    return select


def _source_joined_to_target(
    projections: list[exp.Expr | None], target: exp.Table, using: exp.Expr, on: exp.Expr | None
) -> exp.Select:
    select = exp.Select(expressions=[p for p in projections if p is not None])
    select.set("from_", exp.From(this=using.copy()))
    join = exp.Join(this=_bare(target), on=on.copy() if on is not None else None)
    select.set("joins", [join])
    return select


def _insert_projections(insert: exp.Insert) -> list[exp.Expr]:
    if isinstance(insert.this, exp.Star) or (isinstance(insert.this, exp.Var) and insert.this.name.upper() == "ROW"):
        # Databricks `INSERT *`, BigQuery `INSERT ROW`: every column of the source.
        return [exp.Star()]
    columns = insert.this.expressions if isinstance(insert.this, exp.Tuple) else []
    values_node = insert.expression
    values = values_node.expressions if isinstance(values_node, exp.Tuple) else []
    if not columns:
        return [v.copy() for v in values]
    return [exp.alias_(v.copy(), c.name) for c, v in zip(columns, values, strict=False)]


def _assignment(eq: exp.EQ) -> exp.Expr | None:
    column = eq.this
    if not isinstance(column, exp.Column) or eq.expression is None:
        return None
    return exp.alias_(eq.expression.copy(), column.this.copy())


def _bare(table: exp.Expr) -> exp.Expr:
    """A copy of a relation without the joins hanging off it (they move onto the SELECT)."""
    copy = table.copy()
    copy.set("joins", None)
    return copy
