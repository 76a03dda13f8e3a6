"""The statement lineage specification, as a table of SQL cases.

Each case names its dialect, SQL and (optionally) schema and defaults, and spells out the exact
value upstreams and mapping type of every output column. `indirect` lists the (table, column, role)
triples the statement must report, when the case is about them. Columns are written "table.column"
(the table is everything before the last dot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Expect = dict[str, tuple[str, set[str]]]

ORDERS = {
    "orders": {"id": "int", "customer_id": "int", "amount": "numeric", "status": "text", "ts": "timestamp"}
}
CUSTOMERS = {"customers": {"id": "int", "name": "text", "region": "text"}}
SHOP = {**ORDERS, **CUSTOMERS}


@dataclass
class Case:
    id: str
    dialect: str
    sql: str
    expect: Expect
    schema: dict[str, Any] | None = None
    indirect: set[tuple[str, str, str]] | None = None  # exact statement-level indirect set
    tables: list[str] | None = None  # exact input tables (order ignored)
    target: str | None = None
    defaults: tuple[str | None, str | None] = (None, None)
    transformations: dict[str, str | None] = field(default_factory=dict)
    errors: bool = False  # the statement must report at least one error


CASES: list[Case] = [
    # ------------------------------------------------------------------------ classification
    Case("pass_through", "duckdb", "select id from orders", {"id": ("Direct", {"orders.id"})}, ORDERS),
    Case(
        "rename",
        "postgres",
        "select amount as total from orders",
        {"total": ("Direct", {"orders.amount"})},
        ORDERS,
    ),
    Case(
        "cast_is_a_transform",
        "duckdb",
        "select cast(amount as double) as amount from orders",
        {"amount": ("Transform", {"orders.amount"})},
        ORDERS,
        transformations={"amount": "CAST(amount AS DOUBLE)"},
    ),
    Case(
        "postgres_cast_shorthand",
        "postgres",
        "select ts::date as day from orders",
        {"day": ("Transform", {"orders.ts"})},
        ORDERS,
        transformations={"day": "CAST(ts AS DATE)"},
    ),
    Case(
        "transform_one_column",
        "postgres",
        "select upper(status) as status_u from orders",
        {"status_u": ("Transform", {"orders.status"})},
        ORDERS,
        transformations={"status_u": "UPPER(status)"},
    ),
    Case(
        "derived_two_columns",
        "duckdb",
        "select amount * customer_id as weird from orders",
        {"weird": ("Derived", {"orders.amount", "orders.customer_id"})},
        ORDERS,
    ),
    Case(
        "calculated_literals",
        "duckdb",
        "select 1 as one, 'x' as label, current_timestamp as loaded_at from orders",
        {"one": ("Calculated", set()), "label": ("Calculated", set()), "loaded_at": ("Calculated", set())},
        ORDERS,
    ),
    Case(
        "count_star_is_calculated",
        "postgres",
        "select status, count(*) as n from orders group by status",
        {"status": ("Direct", {"orders.status"}), "n": ("Calculated", set())},
        ORDERS,
        indirect={("orders", "status", "group_by")},
    ),
    Case(
        "aggregate_is_transform",
        "duckdb",
        "select customer_id, sum(amount) as total from orders group by 1",
        {"customer_id": ("Direct", {"orders.customer_id"}), "total": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "customer_id", "group_by")},
    ),
    Case(
        "count_distinct_is_transform",
        "snowflake",
        "select count(distinct customer_id) as buyers from orders",
        {"BUYERS": ("Transform", {"ORDERS.CUSTOMER_ID"})},
        ORDERS,
    ),
    Case(
        "coalesce_is_derived",
        "postgres",
        "select coalesce(status, cast(amount as text)) as label from orders",
        {"label": ("Derived", {"orders.status", "orders.amount"})},
        ORDERS,
    ),
    Case(
        "case_condition_is_value",
        "duckdb",
        "select case when status = 'done' then amount else 0 end as done_amount from orders",
        {"done_amount": ("Derived", {"orders.status", "orders.amount"})},
        ORDERS,
    ),
    Case(
        "case_over_one_column_is_transform",
        "redshift",
        "select case when amount > 100 then 'big' else 'small' end as size from orders",
        {"size": ("Transform", {"orders.amount"})},
        ORDERS,
    ),
    Case(
        "snowflake_iff",
        "snowflake",
        "select iff(status = 'done', amount, 0) as done_amount from orders",
        {"DONE_AMOUNT": ("Derived", {"ORDERS.STATUS", "ORDERS.AMOUNT"})},
        ORDERS,
    ),
    Case(
        "redshift_nvl_getdate",
        "redshift",
        "select nvl(status, 'none') as status, getdate() as loaded_at from orders",
        {"status": ("Transform", {"orders.status"}), "loaded_at": ("Calculated", set())},
        ORDERS,
    ),
    Case(
        "string_functions_transform",
        "bigquery",
        "select regexp_extract(status, r'(\\w+)') as word, length(status) as len from orders",
        {"word": ("Transform", {"orders.status"}), "len": ("Transform", {"orders.status"})},
        ORDERS,
    ),
    Case(
        "arithmetic_same_column_twice_is_transform",
        "duckdb",
        "select amount * amount as sq from orders",
        {"sq": ("Transform", {"orders.amount"})},
        ORDERS,
    ),
    # ----------------------------------------------------------------------------- indirect
    Case(
        "where_is_filter",
        "postgres",
        "select id from orders where status = 'done' and amount > 0",
        {"id": ("Direct", {"orders.id"})},
        ORDERS,
        indirect={("orders", "status", "filter"), ("orders", "amount", "filter")},
    ),
    Case(
        "join_keys_are_join",
        "duckdb",
        "select o.id, c.name from orders o join customers c on o.customer_id = c.id",
        {"id": ("Direct", {"orders.id"}), "name": ("Direct", {"customers.name"})},
        SHOP,
        indirect={("orders", "customer_id", "join"), ("customers", "id", "join")},
    ),
    Case(
        "unqualified_columns_resolved_through_schema",
        "postgres",
        "select name, amount from orders o join customers c on o.customer_id = c.id",
        {"name": ("Direct", {"customers.name"}), "amount": ("Direct", {"orders.amount"})},
        SHOP,
    ),
    Case(
        "having_is_having",
        "duckdb",
        "select customer_id, sum(amount) as total from orders group by customer_id having count(*) > 2 and max(ts) > now()",
        {"customer_id": ("Direct", {"orders.customer_id"}), "total": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "customer_id", "group_by"), ("orders", "ts", "having")},
    ),
    Case(
        "order_by_is_order_by",
        "postgres",
        "select id from orders order by ts desc",
        {"id": ("Direct", {"orders.id"})},
        ORDERS,
        indirect={("orders", "ts", "order_by")},
    ),
    Case(
        "row_number_is_calculated_with_window_roles",
        "snowflake",
        "select id, row_number() over (partition by customer_id order by ts) as rn from orders",
        {"ID": ("Direct", {"ORDERS.ID"}), "RN": ("Calculated", set())},
        ORDERS,
        indirect={("ORDERS", "CUSTOMER_ID", "partition_by"), ("ORDERS", "TS", "window_order")},
    ),
    Case(
        "windowed_sum_is_transform",
        "duckdb",
        "select sum(amount) over (partition by customer_id) as customer_total from orders",
        {"customer_total": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "customer_id", "partition_by")},
    ),
    Case(
        "lag_over_order",
        "bigquery",
        "select lag(amount) over (order by ts) as previous_amount from orders",
        {"previous_amount": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "ts", "window_order")},
    ),
    Case(
        "qualify_is_qualify",
        "snowflake",
        "select id, status from orders qualify row_number() over (partition by customer_id order by ts desc) = 1",
        {"ID": ("Direct", {"ORDERS.ID"}), "STATUS": ("Direct", {"ORDERS.STATUS"})},
        ORDERS,
        indirect={("ORDERS", "CUSTOMER_ID", "qualify"), ("ORDERS", "TS", "qualify")},
    ),
    Case(
        "qualify_on_window_alias",
        "databricks",
        "select id, row_number() over (partition by customer_id order by ts) as rn from orders qualify rn = 1",
        {"id": ("Direct", {"orders.id"}), "rn": ("Calculated", set())},
        ORDERS,
        # Filtering on a window value filters on what chose its rows too.
        indirect={
            ("orders", "customer_id", "partition_by"),
            ("orders", "ts", "window_order"),
            ("orders", "customer_id", "qualify"),
            ("orders", "ts", "qualify"),
        },
    ),
    Case(
        "exists_subquery_filters_only",
        "postgres",
        "select c.id from customers c where exists (select 1 from orders o where o.customer_id = c.id and o.status = 'done')",
        {"id": ("Direct", {"customers.id"})},
        SHOP,
        indirect={
            ("orders", "customer_id", "filter"),
            ("customers", "id", "filter"),
            ("orders", "status", "filter"),
        },
        tables=["customers", "orders"],
    ),
    Case(
        "in_subquery_filter",
        "duckdb",
        "select name from customers where id in (select customer_id from orders where amount > 10)",
        {"name": ("Direct", {"customers.name"})},
        SHOP,
        indirect={
            ("customers", "id", "filter"),
            ("orders", "customer_id", "filter"),
            ("orders", "amount", "filter"),
        },
    ),
    Case(
        "filters_in_cte_flow_to_outer_columns",
        "postgres",
        "with done as (select * from orders where status = 'done') select id, amount from done",
        {"id": ("Direct", {"orders.id"}), "amount": ("Direct", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "status", "filter")},
    ),
    # ------------------------------------------------------------- CTEs, subqueries, set ops
    Case(
        "cte_chain_stays_direct",
        "duckdb",
        "with a as (select id, amount from orders), b as (select id as order_id, amount from a) select order_id, amount from b",
        {"order_id": ("Direct", {"orders.id"}), "amount": ("Direct", {"orders.amount"})},
        ORDERS,
    ),
    Case(
        "transform_inside_cte",
        "snowflake",
        "with a as (select upper(status) as s from orders) select s as status_upper from a",
        {"STATUS_UPPER": ("Transform", {"ORDERS.STATUS"})},
        ORDERS,
        transformations={"STATUS_UPPER": "UPPER(STATUS)"},
    ),
    Case(
        "derived_across_ctes",
        "postgres",
        "with a as (select id, amount from orders), b as (select id, amount * 2 as double_amount from a) "
        "select double_amount + id as x from b",
        {"x": ("Derived", {"orders.amount", "orders.id"})},
        ORDERS,
        transformations={"x": "(amount * 2) + id"},
    ),
    Case(
        "cte_column_list",
        "postgres",
        "with c(order_id, total) as (select id, amount from orders) select order_id, total from c",
        {"order_id": ("Direct", {"orders.id"}), "total": ("Direct", {"orders.amount"})},
        ORDERS,
    ),
    Case(
        "derived_table",
        "redshift",
        "select t.total from (select customer_id, sum(amount) as total from orders group by customer_id) t",
        {"total": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "customer_id", "group_by")},
    ),
    Case(
        "nested_subqueries",
        "bigquery",
        "select z from (select y + 1 as z from (select amount as y from orders) a) b",
        {"z": ("Transform", {"orders.amount"})},
        ORDERS,
    ),
    Case(
        "union_all_branch_wise",
        "duckdb",
        "select id, amount from orders union all select id, null from customers",
        {"id": ("Direct", {"orders.id", "customers.id"}), "amount": ("Direct", {"orders.amount"})},
        SHOP,
    ),
    Case(
        "function_over_union_of_copies_is_transform",
        "duckdb",
        "with u as (select id from orders union all select id from customers) select id + 1 as next_id from u",
        {"next_id": ("Transform", {"orders.id", "customers.id"})},
        SHOP,
    ),
    Case(
        "union_branch_with_two_inputs_is_derived",
        "postgres",
        "select status as label from orders union all select name || region from customers",
        {"label": ("Derived", {"orders.status", "customers.name", "customers.region"})},
        SHOP,
    ),
    Case(
        "union_with_unexpanded_stars_pairs_by_name",
        "snowflake",
        "with u as (select 'web' as src, * from raw.web union all select 'app' as src, * from raw.app) "
        "select src, upper(page) as page from u",
        {"SRC": ("Calculated", set()), "PAGE": ("Transform", {"RAW.WEB.PAGE", "RAW.APP.PAGE"})},
    ),
    Case(
        "union_by_position_not_name",
        "postgres",
        "select id as key, status as label from orders union select id, name from customers",
        {
            "key": ("Direct", {"orders.id", "customers.id"}),
            "label": ("Direct", {"orders.status", "customers.name"}),
        },
        SHOP,
    ),
    Case(
        "union_mixed_branches_transform",
        "snowflake",
        "select status as label from orders union all select upper(name) from customers",
        # Each branch computes the column from one input: one logical input, transformed.
        {"LABEL": ("Transform", {"ORDERS.STATUS", "CUSTOMERS.NAME"})},
        SHOP,
    ),
    Case(
        "three_branch_union_in_cte",
        "duckdb",
        "with u as (select id from orders union all select id from customers union all select 0) select id from u",
        {"id": ("Transform", {"orders.id", "customers.id"})},
        SHOP,
    ),
    Case(
        "intersect",
        "postgres",
        "select customer_id from orders intersect select id from customers",
        {"customer_id": ("Direct", {"orders.customer_id", "customers.id"})},
        SHOP,
    ),
    Case(
        "except",
        "databricks",
        "select id from customers except select customer_id from orders",
        {"id": ("Direct", {"customers.id"})},
        SHOP,
        # EXCEPT returns rows of its first branch; the second only removes some.
        indirect={("orders", "customer_id", "filter")},
    ),
    Case(
        "scalar_subquery",
        "postgres",
        "select c.id, (select max(o.amount) from orders o where o.customer_id = c.id) as biggest from customers c",
        {"id": ("Direct", {"customers.id"}), "biggest": ("Transform", {"orders.amount"})},
        SHOP,
        indirect={("orders", "customer_id", "filter"), ("customers", "id", "filter")},
    ),
    Case(
        "scalar_subquery_count_is_calculated",
        "snowflake",
        "select c.id, (select count(*) from orders o where o.customer_id = c.id) as n_orders from customers c",
        {"ID": ("Direct", {"CUSTOMERS.ID"}), "N_ORDERS": ("Calculated", set())},
        SHOP,
    ),
    Case(
        "recursive_cte",
        "postgres",
        "with recursive r as (select id, 1 as depth from customers union all select r.id, r.depth + 1 from r where r.depth < 3) "
        "select id, depth from r",
        {"id": ("Direct", {"customers.id"}), "depth": ("Calculated", set())},
        CUSTOMERS,
    ),
    Case(
        "cte_shadows_table_name",
        "duckdb",
        "with orders as (select id, name from customers) select name from orders",
        {"name": ("Direct", {"customers.name"})},
        SHOP,
        tables=["customers"],
    ),
    Case(
        "distinct",
        "bigquery",
        "select distinct status from orders",
        {"status": ("Direct", {"orders.status"})},
        ORDERS,
    ),
    # ------------------------------------------------------------------------------ joins
    Case(
        "using_join_key_is_direct_from_both",
        "postgres",
        "select id, name, amount from customers join (select customer_id as id, amount from orders) o using (id)",
        {
            "id": ("Direct", {"customers.id", "orders.customer_id"}),
            "name": ("Direct", {"customers.name"}),
            "amount": ("Direct", {"orders.amount"}),
        },
        SHOP,
    ),
    Case(
        "self_join",
        "duckdb",
        "select child.name, parent.name as parent_name from customers child join customers parent on child.region = parent.id",
        {"name": ("Direct", {"customers.name"}), "parent_name": ("Direct", {"customers.name"})},
        CUSTOMERS,
        indirect={("customers", "region", "join"), ("customers", "id", "join")},
    ),
    Case(
        "concat_across_joined_tables",
        "redshift",
        "select o.status || '-' || c.region as label from orders o left join customers c on c.id = o.customer_id",
        {"label": ("Derived", {"orders.status", "customers.region"})},
        SHOP,
    ),
    Case(
        "cross_join",
        "snowflake",
        "select o.id, c.name from orders o cross join customers c",
        {"ID": ("Direct", {"ORDERS.ID"}), "NAME": ("Direct", {"CUSTOMERS.NAME"})},
        SHOP,
        indirect=set(),
    ),
    # ----------------------------------------------------------------------------- stars
    Case(
        "star_expands_with_schema",
        "duckdb",
        "select * from customers",
        {
            "id": ("Direct", {"customers.id"}),
            "name": ("Direct", {"customers.name"}),
            "region": ("Direct", {"customers.region"}),
        },
        CUSTOMERS,
    ),
    Case(
        "table_star_in_join",
        "postgres",
        "select c.*, o.amount from customers c join orders o on o.customer_id = c.id",
        {
            "id": ("Direct", {"customers.id"}),
            "name": ("Direct", {"customers.name"}),
            "region": ("Direct", {"customers.region"}),
            "amount": ("Direct", {"orders.amount"}),
        },
        SHOP,
    ),
    Case(
        "star_without_schema",
        "postgres",
        "select * from raw.events",
        {"*": ("Direct", {"raw.events.*"})},
    ),
    Case(
        "names_through_unexpanded_star",
        "duckdb",
        "with e as (select * from raw.events) select user_id, upper(kind) as kind from e",
        {"user_id": ("Direct", {"raw.events.user_id"}), "kind": ("Transform", {"raw.events.kind"})},
    ),
    Case(
        "snowflake_star_exclude",
        "snowflake",
        "select * exclude (status, ts) from orders",
        {
            "ID": ("Direct", {"ORDERS.ID"}),
            "CUSTOMER_ID": ("Direct", {"ORDERS.CUSTOMER_ID"}),
            "AMOUNT": ("Direct", {"ORDERS.AMOUNT"}),
        },
        ORDERS,
    ),
    Case(
        "duckdb_star_exclude",
        "duckdb",
        "select * exclude (region) from customers",
        {"id": ("Direct", {"customers.id"}), "name": ("Direct", {"customers.name"})},
        CUSTOMERS,
    ),
    Case(
        "duckdb_columns_regex",
        "duckdb",
        "select columns('^(id|amount)$'), status from orders",
        {
            "id": ("Direct", {"orders.id"}),
            "amount": ("Direct", {"orders.amount"}),
            "status": ("Direct", {"orders.status"}),
        },
        ORDERS,
    ),
    Case(
        "duckdb_columns_in_an_aggregate_with_alias_pattern",
        "duckdb",
        "select status, max(columns(c -> c like '%id')) as \"max_\\0\" from orders group by status",
        {
            "status": ("Direct", {"orders.status"}),
            "max_id": ("Transform", {"orders.id"}),
            "max_customer_id": ("Transform", {"orders.customer_id"}),
        },
        ORDERS,
        indirect={("orders", "status", "group_by")},
    ),
    Case(
        "duckdb_columns_in_a_cte_expand_an_outer_star",
        "duckdb",
        "with picked as (select columns(['name', 'id']) from customers) select * from picked",
        {"name": ("Direct", {"customers.name"}), "id": ("Direct", {"customers.id"})},
        CUSTOMERS,
    ),
    Case(
        "duckdb_star_like_and_unpacked_columns",
        "duckdb",
        "select * like 'c%', coalesce(*columns(['status', 'ts'])) as state from orders",
        {
            "customer_id": ("Direct", {"orders.customer_id"}),
            "state": ("Derived", {"orders.status", "orders.ts"}),
        },
        ORDERS,
    ),
    Case(
        "bigquery_star_except",
        "bigquery",
        "select * except (name) from customers",
        {"id": ("Direct", {"customers.id"}), "region": ("Direct", {"customers.region"})},
        CUSTOMERS,
    ),
    Case(
        "bigquery_star_replace",
        "bigquery",
        "select * replace (upper(name) as name) from customers",
        {
            "id": ("Direct", {"customers.id"}),
            "name": ("Transform", {"customers.name"}),
            "region": ("Direct", {"customers.region"}),
        },
        CUSTOMERS,
    ),
    Case(
        "snowflake_star_rename",
        "snowflake",
        "select * rename (name as customer_name) from customers",
        {
            "ID": ("Direct", {"CUSTOMERS.ID"}),
            "CUSTOMER_NAME": ("Direct", {"CUSTOMERS.NAME"}),
            "REGION": ("Direct", {"CUSTOMERS.REGION"}),
        },
        CUSTOMERS,
    ),
    # -------------------------------------------------------------------- lateral aliases
    Case(
        "lateral_alias_without_schema",
        "snowflake",
        "select amount * 2 as doubled, doubled + 1 as plus_one from orders",
        {"DOUBLED": ("Transform", {"ORDERS.AMOUNT"}), "PLUS_ONE": ("Transform", {"ORDERS.AMOUNT"})},
    ),
    Case(
        "lateral_alias_with_schema",
        "duckdb",
        "select amount * 2 as doubled, doubled + customer_id as mixed from orders",
        {
            "doubled": ("Transform", {"orders.amount"}),
            "mixed": ("Derived", {"orders.amount", "orders.customer_id"}),
        },
        ORDERS,
    ),
    Case(
        "databricks_lateral_alias",
        "databricks",
        "select lower(status) as s, concat(s, '!') as shout from orders",
        {"s": ("Transform", {"orders.status"}), "shout": ("Transform", {"orders.status"})},
        ORDERS,
    ),
    # ------------------------------------------------------------- structs, JSON, arrays
    Case(
        "bigquery_struct_field_to_base_column",
        "bigquery",
        "select info.address.city as city from customers_nested",
        {"city": ("Transform", {"customers_nested.info"})},
        {"customers_nested": {"id": "INT64", "info": "STRUCT<address STRUCT<city STRING>>"}},
    ),
    Case(
        "bigquery_struct_field_qualified",
        "bigquery",
        "select c.info.address.city from customers_nested c",
        {"city": ("Transform", {"customers_nested.info"})},
        {"customers_nested": {"id": "INT64", "info": "STRUCT<address STRUCT<city STRING>>"}},
    ),
    Case(
        "snowflake_json_path",
        "snowflake",
        "select payload:customer.id::int as customer_id from events",
        {"CUSTOMER_ID": ("Transform", {"EVENTS.PAYLOAD"})},
        {"events": {"payload": "variant"}},
    ),
    Case(
        "postgres_json_operators",
        "postgres",
        "select payload ->> 'kind' as kind, payload -> 'user' ->> 'id' as user_id from events",
        {"kind": ("Transform", {"events.payload"}), "user_id": ("Transform", {"events.payload"})},
        {"events": {"payload": "jsonb"}},
    ),
    Case(
        "databricks_json_and_struct",
        "databricks",
        "select get_json_object(payload, '$.kind') as kind from events",
        {"kind": ("Transform", {"events.payload"})},
        {"events": {"payload": "string"}},
    ),
    Case(
        "bigquery_unnest_to_exploded_column",
        "bigquery",
        "select o.id, item from orders_nested o, unnest(o.items) as item",
        {"id": ("Direct", {"orders_nested.id"}), "item": ("Transform", {"orders_nested.items"})},
        {"orders_nested": {"id": "INT64", "items": "ARRAY<STRING>"}},
    ),
    Case(
        "bigquery_unnest_struct_field",
        "bigquery",
        "select li.sku from orders_nested o cross join unnest(o.lines) as li",
        {"sku": ("Transform", {"orders_nested.lines"})},
        {"orders_nested": {"id": "INT64", "lines": "ARRAY<STRUCT<sku STRING, qty INT64>>"}},
    ),
    Case(
        "snowflake_lateral_flatten",
        "snowflake",
        "select e.id, f.value:sku::string as sku from events e, lateral flatten(input => e.items) f",
        {"ID": ("Direct", {"EVENTS.ID"}), "SKU": ("Transform", {"EVENTS.ITEMS"})},
        {"events": {"id": "int", "items": "variant"}},
    ),
    Case(
        "databricks_lateral_view_explode",
        "databricks",
        "select e.id, item from events e lateral view explode(e.items) x as item",
        {"id": ("Direct", {"events.id"}), "item": ("Transform", {"events.items"})},
        {"events": {"id": "int", "items": "array<string>"}},
    ),
    Case(
        "explode_in_select",
        "databricks",
        "select id, explode(items) as item from events",
        {"id": ("Direct", {"events.id"}), "item": ("Transform", {"events.items"})},
        {"events": {"id": "int", "items": "array<string>"}},
    ),
    Case(
        "postgres_unnest_with_column_alias",
        "postgres",
        "select t.tag from events e cross join lateral unnest(e.tags) as t(tag)",
        {"tag": ("Transform", {"events.tags"})},
        {"events": {"id": "int", "tags": "text[]"}},
    ),
    Case(
        "postgres_json_arrow_inside_function_arguments",
        "postgres",
        "select coalesce(payload->'name', fallback) as name from events",
        {"name": ("Derived", {"events.payload", "events.fallback"})},
        {"events": {"payload": "jsonb", "fallback": "text"}},
    ),
    Case(
        "duckdb_json_arrow_inside_function_arguments",
        "duckdb",
        "select coalesce(payload->'name', fallback) as name from events",
        {"name": ("Derived", {"events.payload", "events.fallback"})},
        {"events": {"payload": "json", "fallback": "varchar"}},
    ),
    Case(
        "postgres_set_returning_function_alias_is_its_column",
        "postgres",
        "select e.id, tag from events e, jsonb_array_elements_text(e.payload->'tags') as tag",
        {"id": ("Direct", {"events.id"}), "tag": ("Transform", {"events.payload"})},
        {"events": {"id": "int", "payload": "jsonb"}},
    ),
    Case(
        "postgres_chained_set_returning_functions_in_a_correlated_subquery",
        "postgres",
        """select e.id,
                  (select string_agg(distinct code, '|')
                   from jsonb_array_elements(e.payload) as item,
                        jsonb_array_elements_text(item->'codes') as code
                   where item->>'kind' = 'x') as codes
           from events e""",
        {"id": ("Direct", {"events.id"}), "codes": ("Transform", {"events.payload"})},
        {"events": {"id": "int", "payload": "jsonb"}},
    ),
    Case(
        "lambda_parameters_are_not_columns",
        "duckdb",
        "select list_transform(items, x -> x + 1) as bumped from events",
        {"bumped": ("Transform", {"events.items"})},
        {"events": {"items": "int[]"}},
    ),
    Case(
        "table_function_has_no_upstream",
        "postgres",
        "select g as n from generate_series(1, 10) as g",
        {"n": ("Calculated", set())},
        tables=[],
    ),
    Case(
        "values_derived_table",
        "duckdb",
        "select v.k, v.label from (values (1, 'a'), (2, 'b')) as v(k, label)",
        {"k": ("Calculated", set()), "label": ("Calculated", set())},
    ),
    Case(
        "snowflake_pivot",
        "snowflake",
        "select * from orders pivot (sum(amount) as total for status in ('done', 'open')) as p",
        {
            "ID": ("Direct", {"ORDERS.ID"}),
            "CUSTOMER_ID": ("Direct", {"ORDERS.CUSTOMER_ID"}),
            "TS": ("Direct", {"ORDERS.TS"}),
            "'done'_total": ("Transform", {"ORDERS.AMOUNT"}),
            "'open'_total": ("Transform", {"ORDERS.AMOUNT"}),
        },
        ORDERS,
        indirect={("ORDERS", "STATUS", "filter")},
    ),
    Case(
        # No schema: an unqualified name in a join is placed by the query's own qualified use of
        # it (valid SQL means exactly one side has it; `cat.src_d` proves which). A name qualified
        # with both sides stays unplaced (Cam0505: dbt_utils surrogate keys over two sources).
        "unqualified_column_placed_by_its_qualified_use",
        "duckdb",
        """select ct.a, md5(src_c || src_d) as sk, id
           from ct join cat on ct.id = cat.id
           where cat.src_d is not null and ct.src_c > 0""",
        {
            "a": ("Direct", {"ct.a"}),
            "sk": ("Derived", {"ct.src_c", "cat.src_d"}),
            "id": ("Direct", set()),
        },
    ),
    Case(
        # The alias list renames by position: the passed-through columns first, then the pivoted.
        "snowflake_pivot_column_aliases",
        "snowflake",
        "select * from orders pivot (sum(amount) for status in ('done', 'open')) as p (id, buyer, ts, done, open)",
        {
            "ID": ("Direct", {"ORDERS.ID"}),
            "BUYER": ("Direct", {"ORDERS.CUSTOMER_ID"}),
            "TS": ("Direct", {"ORDERS.TS"}),
            "DONE": ("Transform", {"ORDERS.AMOUNT"}),
            "OPEN": ("Transform", {"ORDERS.AMOUNT"}),
        },
        ORDERS,
        indirect={("ORDERS", "STATUS", "filter")},
    ),
    Case(
        # A pivot over a derived table (cagov caldata: survey answers pivoted per participant).
        "snowflake_pivot_over_subquery",
        "snowflake",
        """select p.participant_id, p.income, p.age from (
             select participant_id, answer, question from survey
           ) pivot (max(answer) for question in ('Income', 'Age')) as p (participant_id, income, age)""",
        {
            "PARTICIPANT_ID": ("Direct", {"SURVEY.PARTICIPANT_ID"}),
            "INCOME": ("Transform", {"SURVEY.ANSWER"}),
            "AGE": ("Transform", {"SURVEY.ANSWER"}),
        },
        {"survey": {"participant_id": "int", "answer": "text", "question": "text"}},
        indirect={("SURVEY", "QUESTION", "filter")},
    ),
    Case(
        "snowflake_unpivot_over_subquery",
        "snowflake",
        "select * from (select id, jan, feb from sales) unpivot (amount for month in (jan, feb)) as u",
        {
            "ID": ("Direct", {"SALES.ID"}),
            "MONTH": ("Calculated", set()),
            "AMOUNT": ("Direct", {"SALES.JAN", "SALES.FEB"}),
        },
        {"sales": {"id": "int", "jan": "int", "feb": "int"}},
    ),
    Case(
        "snowflake_unpivot",
        "snowflake",
        "select * from sales unpivot (amount for month in (jan, feb)) as u",
        {
            "ID": ("Direct", {"SALES.ID"}),
            "MONTH": ("Calculated", set()),
            "AMOUNT": ("Direct", {"SALES.JAN", "SALES.FEB"}),
        },
        {"sales": {"id": "int", "jan": "int", "feb": "int"}},
    ),
    Case(
        "in_subquery_without_schema_is_not_an_error",
        "duckdb",
        "select a, b from t where a in (select a from u)",
        {"a": ("Direct", {"t.a"}), "b": ("Direct", {"t.b"})},
        indirect={("t", "a", "filter"), ("u", "a", "filter")},
    ),
    Case(
        "table_function_star",
        "duckdb",
        "select * from read_csv('orders.csv')",
        {"*": ("Calculated", set())},
        tables=[],
    ),
    # -------------------------------------------------------------- writes: INSERT/CTAS/MERGE
    Case(
        "insert_select_with_column_list",
        "postgres",
        "insert into mart.daily (day, total) select ts::date, sum(amount) from orders group by 1",
        {"day": ("Transform", {"orders.ts"}), "total": ("Transform", {"orders.amount"})},
        ORDERS,
        target="mart.daily",
        transformations={"day": "CAST(ts AS DATE)"},
    ),
    Case(
        "insert_select_positional_to_target_schema",
        "redshift",
        "insert into mart.names select id, upper(name) from customers",
        {"customer_key": ("Direct", {"customers.id"}), "display_name": ("Transform", {"customers.name"})},
        {**CUSTOMERS, "mart.names": {"customer_key": "int", "display_name": "text"}},
        target="mart.names",
        tables=["customers"],
    ),
    Case(
        "insert_with_cte",
        "duckdb",
        "insert into agg (customer_id, n) with x as (select customer_id from orders) select customer_id, count(*) from x group by 1",
        {"customer_id": ("Direct", {"orders.customer_id"}), "n": ("Calculated", set())},
        ORDERS,
        target="agg",
    ),
    Case(
        "ctas",
        "snowflake",
        "create or replace table analytics.big_orders as select id, amount from orders where amount > 100",
        {"ID": ("Direct", {"ORDERS.ID"}), "AMOUNT": ("Direct", {"ORDERS.AMOUNT"})},
        ORDERS,
        target="ANALYTICS.BIG_ORDERS",
        indirect={("ORDERS", "AMOUNT", "filter")},
    ),
    Case(
        "create_view_with_column_list",
        "postgres",
        "create view v_customers (key, label) as select id, name from customers",
        {"key": ("Direct", {"customers.id"}), "label": ("Direct", {"customers.name"})},
        CUSTOMERS,
        target="v_customers",
    ),
    Case(
        "databricks_create_table_as",
        "databricks",
        "create table gold.customer_totals as select c.name, sum(o.amount) as total from orders o join customers c on o.customer_id = c.id group by c.name",
        {"name": ("Direct", {"customers.name"}), "total": ("Transform", {"orders.amount"})},
        SHOP,
        target="gold.customer_totals",
    ),
    Case(
        "merge_into_target_columns",
        "snowflake",
        "merge into dim_customers d using customers s on d.id = s.id "
        "when matched then update set d.name = s.name, d.region = upper(s.region) "
        "when not matched then insert (id, name, region) values (s.id, s.name, s.region)",
        {
            "NAME": ("Direct", {"CUSTOMERS.NAME"}),
            "REGION": ("Transform", {"CUSTOMERS.REGION"}),
            "ID": ("Direct", {"CUSTOMERS.ID"}),
        },
        CUSTOMERS,
        target="DIM_CUSTOMERS",
        tables=["CUSTOMERS"],
    ),
    Case(
        "merge_bigquery_insert_row_columns",
        "bigquery",
        "merge into ds.target t using ds.source s on t.id = s.id "
        "when not matched then insert (id, value) values (id, value)",
        {"id": ("Direct", {"ds.source.id"}), "value": ("Direct", {"ds.source.value"})},
        target="ds.target",
        tables=["ds.source"],
    ),
    Case(
        "update_from",
        "postgres",
        "update dim_customers set region = s.region from customers s where dim_customers.id = s.id",
        {"region": ("Direct", {"customers.region"})},
        {**CUSTOMERS, "dim_customers": {"id": "int", "region": "text"}},
        target="dim_customers",
        indirect={("dim_customers", "id", "filter"), ("customers", "id", "filter")},
    ),
    Case(
        "select_into",
        "postgres",
        "select id, name into archive_customers from customers",
        {"id": ("Direct", {"customers.id"}), "name": ("Direct", {"customers.name"})},
        CUSTOMERS,
        target="archive_customers",
    ),
    # --------------------------------------------------------------- names, case, defaults
    Case(
        "defaults_qualify_tables",
        "postgres",
        "select id from orders",
        {"id": ("Direct", {"shop.public.orders.id"})},
        {"shop.public.orders": {"id": "int"}},
        defaults=("shop", "public"),
        tables=["shop.public.orders"],
    ),
    Case(
        "schema_name_completes_partial_reference",
        "duckdb",
        "select o.amount from orders o",
        {"amount": ("Direct", {"shop.main.orders.amount"})},
        {"shop.main.orders": {"amount": "int"}},
        tables=["shop.main.orders"],
    ),
    Case(
        "snowflake_uppercases_unquoted",
        "snowflake",
        'select Name, "region" from Customers',
        {"NAME": ("Direct", {"CUSTOMERS.NAME"}), "region": ("Direct", {"CUSTOMERS.region"})},
    ),
    Case(
        "snowflake_quoted_mixed_case_column",
        "snowflake",
        'select "CustomerName" as "FullName" from db.sch.tbl',
        {"FullName": ("Direct", {"DB.SCH.TBL.CustomerName"})},
        {"db.sch.tbl": {'"CustomerName"': "varchar"}},
    ),
    Case(
        "snowflake_quoted_reference_to_unquoted_schema",
        "snowflake",
        'select sum(o."totalprice") as total from orders o',
        {"TOTAL": ("Transform", {"ORDERS.TOTALPRICE"})},
        {"orders": {"totalprice": "number"}},
    ),
    Case(
        "bigquery_backticked_project_table",
        "bigquery",
        "select id from `my-project.shop.orders`",
        {"id": ("Direct", {"my-project.shop.orders.id"})},
        {"my-project.shop.orders": {"id": "INT64"}},
    ),
    Case(
        "databricks_backticks_case_insensitive",
        "databricks",
        "select `Amount` as amt from shop.Orders",
        {"amt": ("Direct", {"shop.orders.amount"})},
        {"shop.orders": {"amount": "int"}},
    ),
    Case(
        "redshift_three_part_names",
        "redshift",
        "select s.amount from dev.sales.orders s",
        {"amount": ("Direct", {"dev.sales.orders.amount"})},
        {"dev.sales.orders": {"amount": "int"}},
    ),
    Case(
        "dbt_style_quoted_relations",
        "postgres",
        'select "id", "status" from "analytics"."staging"."stg_orders"',
        {
            "id": ("Direct", {"analytics.staging.stg_orders.id"}),
            "status": ("Direct", {"analytics.staging.stg_orders.status"}),
        },
    ),
    # ------------------------------------------------------------ ordering inside aggregates
    Case(
        "aggregate_order_by_is_indirect",
        "postgres",
        "select customer_id, string_agg(status, ',' order by ts) as statuses from orders group by customer_id",
        {"customer_id": ("Direct", {"orders.customer_id"}), "statuses": ("Transform", {"orders.status"})},
        ORDERS,
        indirect={("orders", "customer_id", "group_by"), ("orders", "ts", "order_by")},
    ),
    Case(
        "listagg_within_group_order_is_indirect",
        "snowflake",
        "select listagg(status, ',') within group (order by ts) as statuses from orders",
        {"STATUSES": ("Transform", {"ORDERS.STATUS"})},
        ORDERS,
        indirect={("ORDERS", "TS", "order_by")},
    ),
    Case(
        "percentile_within_group_orders_its_values",
        "snowflake",
        "select percentile_cont(0.5) within group (order by amount) as median_amount from orders",
        {"MEDIAN_AMOUNT": ("Transform", {"ORDERS.AMOUNT"})},
        ORDERS,
        indirect=set(),
    ),
    Case(
        "named_window_keeps_partition_and_order",
        "postgres",
        "select id, sum(amount) over w as running from orders window w as (partition by customer_id order by ts)",
        {"id": ("Direct", {"orders.id"}), "running": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "customer_id", "partition_by"), ("orders", "ts", "window_order")},
    ),
    Case(
        "group_by_all_groups_by_the_plain_projections",
        "duckdb",
        "select customer_id, sum(amount) as total from orders group by all",
        {"customer_id": ("Direct", {"orders.customer_id"}), "total": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "customer_id", "group_by")},
    ),
    Case(
        "clickhouse_prewhere_is_a_filter",
        "clickhouse",
        "select id from orders final prewhere ts > now()",
        {"id": ("Direct", {"orders.id"})},
        ORDERS,
        indirect={("orders", "ts", "filter")},
    ),
    # ------------------------------------------------------------------ writes, continued
    Case(
        "merge_update_set_star_reads_the_source_only",
        "databricks",
        "merge into gold.customers t using silver.customers s on t.id = s.id "
        "when matched then update set * when not matched then insert *",
        {
            "id": ("Direct", {"silver.customers.id"}),
            "name": ("Direct", {"silver.customers.name"}),
        },
        {"gold.customers": {"id": "int", "name": "string"}, "silver.customers": {"id": "int", "name": "string"}},
        target="gold.customers",
    ),
    Case(
        "merge_delete_condition_is_indirect",
        "snowflake",
        "merge into gold.customers t using silver.customers s on t.id = s.id "
        "when matched and s.status = 'gone' then delete "
        "when matched then update set t.name = s.name",
        {"NAME": ("Direct", {"SILVER.CUSTOMERS.NAME"})},
        {
            "gold.customers": {"id": "int", "name": "text"},
            "silver.customers": {"id": "int", "name": "text", "status": "text"},
        },
        indirect={
            ("SILVER.CUSTOMERS", "STATUS", "filter"),
            ("SILVER.CUSTOMERS", "ID", "join"),
            ("GOLD.CUSTOMERS", "ID", "join"),
        },
    ),
    Case(
        "insert_overwrite_static_partition",
        "databricks",
        "insert overwrite table gold.daily partition (day = '2024-01-01') "
        "select sum(amount) from silver.orders where order_date = '2024-01-01'",
        {"revenue": ("Transform", {"silver.orders.amount"}), "day": ("Calculated", set())},
        {"gold.daily": {"day": "date", "revenue": "decimal"}, "silver.orders": {"amount": "decimal", "order_date": "date"}},
        target="gold.daily",
    ),
    Case(
        "insert_by_name_matches_columns_by_name",
        "duckdb",
        "insert into orders_copy by name select amount * 100 as amount, id from orders",
        {"amount": ("Transform", {"orders.amount"}), "id": ("Direct", {"orders.id"})},
        {**ORDERS, "orders_copy": {"id": "int", "amount": "numeric"}},
        target="orders_copy",
    ),
    # ------------------------------------------------------------------ set operations by name
    Case(
        "union_all_by_name_pairs_columns_by_name",
        "duckdb",
        "select id, amount from orders union all by name select amount, id, status from orders_archive",
        {
            "id": ("Direct", {"orders.id", "orders_archive.id"}),
            "amount": ("Direct", {"orders.amount", "orders_archive.amount"}),
            "status": ("Direct", {"orders_archive.status"}),
        },
        {**ORDERS, "orders_archive": ORDERS["orders"]},
    ),
    # ------------------------------------------------------------------ rows and filters
    Case(
        "star_inside_a_function_reads_every_column",
        "snowflake",
        "select object_construct(*) as payload, count(*) as n from customers",
        {
            "PAYLOAD": ("Derived", {"CUSTOMERS.ID", "CUSTOMERS.NAME", "CUSTOMERS.REGION"}),
            "N": ("Calculated", set()),
        },
        CUSTOMERS,
    ),
    Case(
        "bigquery_dedupe_keeps_each_field_of_the_latest_row",
        "bigquery",
        """select latest.*
           from (
             select array_agg(src order by ts desc limit 1)[offset(0)] as latest
             from orders src
             group by id
           )""",
        {
            "id": ("Transform", {"orders.id"}),
            "customer_id": ("Transform", {"orders.customer_id"}),
            "amount": ("Transform", {"orders.amount"}),
            "status": ("Transform", {"orders.status"}),
            "ts": ("Transform", {"orders.ts"}),
        },
        ORDERS,
        indirect={("orders", "ts", "order_by"), ("orders", "id", "group_by")},
    ),
    Case(
        "a_table_alias_as_a_value_reads_its_whole_row",
        "bigquery",
        "select to_json_string(c) as doc from customers c",
        {"doc": ("Derived", {"customers.id", "customers.name", "customers.region"})},
        CUSTOMERS,
    ),
    Case(
        "aggregate_filter_clause_is_indirect",
        "postgres",
        "select sum(amount) filter (where status = 'paid') as paid from orders",
        {"paid": ("Transform", {"orders.amount"})},
        ORDERS,
        indirect={("orders", "status", "filter")},
    ),
    Case(
        "asof_match_condition_is_a_join",
        "snowflake",
        "select o.id, c.region from orders o asof join customers c "
        "match_condition(o.ts >= c.id) on o.customer_id = c.id",
        {"ID": ("Direct", {"ORDERS.ID"}), "REGION": ("Direct", {"CUSTOMERS.REGION"})},
        SHOP,
        indirect={
            ("ORDERS", "TS", "join"),
            ("ORDERS", "CUSTOMER_ID", "join"),
            ("CUSTOMERS", "ID", "join"),
        },
    ),
    Case(
        "unpivot_in_list_aliases_only_rename_values",
        "databricks",
        "select * from (select id, amount as q1, customer_id as q2 from orders) "
        "unpivot (v for quarter in (q1 as `Q1`, q2 as `Q2`))",
        {
            "id": ("Direct", {"orders.id"}),
            "quarter": ("Calculated", set()),
            "v": ("Direct", {"orders.amount", "orders.customer_id"}),
        },
        ORDERS,
    ),
    Case(
        "column_missing_from_a_stale_schema_comes_from_the_only_table",
        "postgres",
        "select id, discount_code from orders",
        {"id": ("Direct", {"orders.id"}), "discount_code": ("Direct", {"orders.discount_code"})},
        ORDERS,
    ),
    Case(
        "duckdb_pivot_statement",
        "duckdb",
        "pivot orders on status in ('paid', 'open') using sum(amount) group by customer_id",
        {
            "customer_id": ("Direct", {"orders.customer_id"}),
            "paid": ("Transform", {"orders.amount"}),
            "open": ("Transform", {"orders.amount"}),
        },
        ORDERS,
        indirect={("orders", "status", "filter")},
    ),
    Case(
        "duckdb_unpivot_statement",
        "duckdb",
        "unpivot monthly on jan, feb into name month value sales",
        {
            "id": ("Direct", {"monthly.id"}),
            "month": ("Calculated", set()),
            "sales": ("Direct", {"monthly.jan", "monthly.feb"}),
        },
        {"monthly": {"id": "int", "jan": "int", "feb": "int"}},
    ),
    Case(
        "materialized_view_with_data",
        "postgres",
        "create materialized view mv as select id from orders with no data",
        {"id": ("Direct", {"orders.id"})},
        ORDERS,
        target="mv",
    ),
    Case(
        "jinja_leftovers_are_removed",
        "duckdb",
        "{{ config(materialized='table') }}\nselect id from orders",
        {"id": ("Direct", {"orders.id"})},
        ORDERS,
    ),
    Case(
        "statement_without_a_query_reports_why",
        "postgres",
        "vacuum orders",
        {},
        errors=True,
    ),
    # ------------------------------------------------------------------ case and quoting
    Case(
        "postgres_quoted_mixed_case_names_keep_their_case",
        "postgres",
        'select "CustomerId", "Total Amount" as total from "Sales"."Orders"',
        {
            "CustomerId": ("Direct", {"Sales.Orders.CustomerId"}),
            "total": ("Direct", {"Sales.Orders.Total Amount"}),
        },
        {'"Sales"."Orders"': {"CustomerId": "int", "Total Amount": "numeric"}},
    ),
    # ------------------------------------------------------------------ audited: pivots, names
    Case(
        "snowflake_unpivot_over_a_cte",
        "snowflake",
        "with k as (select id, revenue, cost from raw.kpis) select * from k unpivot (val for metric in (revenue, cost))",
        {
            "ID": ("Direct", {"RAW.KPIS.ID"}),
            "METRIC": ("Calculated", set()),
            "VAL": ("Direct", {"RAW.KPIS.REVENUE", "RAW.KPIS.COST"}),
        },
        {"raw.kpis": {"id": "int", "revenue": "number", "cost": "number"}},
        tables=["RAW.KPIS"],
    ),
    Case(
        "snowflake_pivot_over_a_cte_with_renamed_outputs",
        "snowflake",
        "with src as (select customer_id, status, amount from orders) "
        "select * from src pivot (sum(amount) for status in ('paid', 'open')) as p (customer_id, paid, open)",
        {
            "CUSTOMER_ID": ("Direct", {"ORDERS.CUSTOMER_ID"}),
            "PAID": ("Transform", {"ORDERS.AMOUNT"}),
            "OPEN": ("Transform", {"ORDERS.AMOUNT"}),
        },
        ORDERS,
        indirect={("ORDERS", "STATUS", "filter")},
    ),
    Case(
        "bigquery_pivot_over_a_cte_keeps_passed_through_columns",
        "bigquery",
        "with k as (select id, revenue, cost from raw.kpis) "
        "select * from k pivot (sum(revenue) as r for id in (1 as one, 2 as two))",
        {
            "cost": ("Direct", {"raw.kpis.cost"}),
            "r_one": ("Transform", {"raw.kpis.revenue"}),
            "r_two": ("Transform", {"raw.kpis.revenue"}),
        },
        {"raw.kpis": {"id": "int", "revenue": "numeric", "cost": "numeric"}},
    ),
    Case(
        "bigquery_multi_column_unpivot_over_a_cte_pairs_values_by_position",
        "bigquery",
        "with k as (select * from t) select * from k unpivot((v, w) for kpi in ((a, b) as 'X', (c, d) as 'Y'))",
        {
            "id": ("Direct", {"t.id"}),
            "kpi": ("Calculated", set()),
            "v": ("Direct", {"t.a", "t.c"}),
            "w": ("Direct", {"t.b", "t.d"}),
        },
        {"t": {"id": "int64", "a": "int64", "b": "int64", "c": "int64", "d": "int64"}},
    ),
    Case(
        "quoted_mixed_case_table_qualifies_its_columns",
        "snowflake",
        'select "Events"."UserId" as user_id, "Events".kind from raw."Events"',
        {"USER_ID": ("Direct", {"RAW.Events.UserId"}), "KIND": ("Direct", {"RAW.Events.KIND"})},
        {'raw."Events"': {'"UserId"': "int", "kind": "varchar"}},
    ),
    Case(
        "postgres_unaliased_expressions_through_a_cte_star",
        "postgres",
        "with t as (select customer_id, sum(amount), count(*) from orders group by 1) select * from t",
        {
            "customer_id": ("Direct", {"orders.customer_id"}),
            "sum": ("Transform", {"orders.amount"}),
            "count": ("Calculated", set()),
        },
        ORDERS,
    ),
    Case(
        "postgres_derived_table_column_named_after_its_function",
        "postgres",
        "select t.upper from (select customer_id, upper(status) from orders) t",
        {"upper": ("Transform", {"orders.status"})},
        ORDERS,
    ),
    Case(
        "duckdb_unaliased_call_named_by_its_text",
        "duckdb",
        "with t as (select customer_id, sum(amount) from orders group by 1) select * from t",
        {"customer_id": ("Direct", {"orders.customer_id"}), "sum(amount)": ("Transform", {"orders.amount"})},
        ORDERS,
    ),
    Case(
        "natural_join_key_is_a_copy_of_both_sides",
        "postgres",
        "select id, name, region from customers natural join customer_regions",
        {
            "id": ("Direct", {"customers.id", "customer_regions.id"}),
            "name": ("Direct", {"customers.name"}),
            "region": ("Direct", {"customer_regions.region"}),
        },
        {"customers": {"id": "int", "name": "text"}, "customer_regions": {"id": "int", "region": "text"}},
    ),
    Case(
        "correlated_scalar_subquery_copying_a_column_is_direct",
        "postgres",
        "select o.id, (select c.name from customers c where c.id = o.customer_id) as customer_name, "
        "(select max(c.name) from customers c) as last_name from orders o",
        {
            "id": ("Direct", {"orders.id"}),
            "customer_name": ("Direct", {"customers.name"}),
            "last_name": ("Transform", {"customers.name"}),
        },
        SHOP,
        indirect={("customers", "id", "filter"), ("orders", "customer_id", "filter")},
    ),
    # ------------------------------------------------------------------ audited: structs, generators
    Case(
        "databricks_struct_star_expands_to_the_schema_fields",
        "databricks",
        "select id, address.* from silver.c",
        {
            "id": ("Direct", {"silver.c.id"}),
            "city": ("Transform", {"silver.c.address"}),
            "zip": ("Transform", {"silver.c.address"}),
        },
        {"silver.c": {"id": "bigint", "address": "struct<city:string,zip:string>"}},
    ),
    Case(
        "duckdb_parenthesized_struct_star_and_unnest_of_a_struct",
        "duckdb",
        "select (info).*, unnest(home) from people",
        {
            "city": ("Transform", {"people.info"}),
            "zip": ("Transform", {"people.info"}),
            "street": ("Transform", {"people.home"}),
            "floor": ("Transform", {"people.home"}),
        },
        {"people": {"info": "STRUCT(city VARCHAR, zip VARCHAR)", "home": "STRUCT(street VARCHAR, floor INT)"}},
    ),
    Case(
        "spark_generators_with_several_aliases_and_inline",
        "databricks",
        "select id, posexplode(items) as (pos, item), explode(props) as (k, v), inline(lines) from silver.events",
        {
            "id": ("Direct", {"silver.events.id"}),
            "pos": ("Transform", {"silver.events.items"}),
            "item": ("Transform", {"silver.events.items"}),
            "k": ("Transform", {"silver.events.props"}),
            "v": ("Transform", {"silver.events.props"}),
            "sku": ("Transform", {"silver.events.lines"}),
            "qty": ("Transform", {"silver.events.lines"}),
        },
        {
            "silver.events": {
                "id": "bigint",
                "items": "array<string>",
                "props": "map<string,string>",
                "lines": "array<struct<sku:string,qty:int>>",
            }
        },
    ),
    Case(
        "field_of_a_struct_built_upstream_has_that_fields_lineage",
        "bigquery",
        "with x as (select struct(id as cid, upper(name) as cname) as c from shop.customers) select c.cid, c.cname from x",
        {"cid": ("Direct", {"shop.customers.id"}), "cname": ("Transform", {"shop.customers.name"})},
        {"shop.customers": {"id": "int64", "name": "string"}},
    ),
    Case(
        "bigquery_merge_insert_row_copies_every_source_column",
        "bigquery",
        "merge shop.dim t using shop.stg s on t.id = s.id when not matched then insert row",
        {"id": ("Direct", {"shop.stg.id"}), "name": ("Direct", {"shop.stg.name"})},
        {"shop.dim": {"id": "int64", "name": "string"}, "shop.stg": {"id": "int64", "name": "string"}},
        target="shop.dim",
    ),
    Case(
        "delete_using_reports_what_decides_the_rows",
        "postgres",
        "delete from orders o using staging.cancelled c where o.id = c.order_id and c.reason <> 'test'",
        {},
        {**ORDERS, "staging.cancelled": {"order_id": "int", "reason": "text"}},
        indirect={
            ("orders", "id", "filter"),
            ("staging.cancelled", "order_id", "filter"),
            ("staging.cancelled", "reason", "filter"),
        },
        tables=["staging.cancelled"],
        target="orders",
    ),
    # ------------------------------------------------------------------ audited: arrays of structs
    Case(
        "bigquery_field_of_an_unnested_struct_array",
        "bigquery",
        "with p as (select array_agg(struct(email, phone)) as cs from c) select x.email from p, unnest(p.cs) x",
        {"email": ("Direct", {"c.email"})},
        {"c": {"id": "int64", "email": "string", "phone": "string"}},
    ),
    Case(
        "databricks_field_of_an_exploded_collect_list",
        "databricks",
        "with p as (select collect_list(struct(email, phone)) as cs from c) "
        "select x.email from p lateral view explode(cs) t as x",
        {"email": ("Direct", {"c.email"})},
        {"c": {"id": "int", "email": "string", "phone": "string"}},
    ),
    Case(
        "snowflake_key_of_an_object_built_upstream",
        "snowflake",
        "with p as (select object_construct('email', email, 'phone', phone) as contact from c) "
        "select contact:email as email from p",
        {"EMAIL": ("Direct", {"C.EMAIL"})},
        {"c": {"id": "int", "email": "varchar", "phone": "varchar"}},
    ),
    Case(
        "databricks_star_of_a_struct_built_in_a_cte",
        "databricks",
        "with p as (select id, struct(a, upper(b) as b) as j from silver.c) select id, j.* from p",
        {
            "id": ("Direct", {"silver.c.id"}),
            "a": ("Direct", {"silver.c.a"}),
            "b": ("Transform", {"silver.c.b"}),
        },
        {"silver.c": {"id": "bigint", "a": "int", "b": "string"}},
    ),
    Case(
        "spark_from_json_struct_star_directly_and_through_a_cte",
        "databricks",
        "with p as (select id, from_json(payload, 'a int, b string') as j from silver.events) "
        "select id, j.*, from_json(payload2, 'c int').* from p join silver.more using (id)",
        {
            "id": ("Direct", {"silver.events.id", "silver.more.id"}),
            "a": ("Transform", {"silver.events.payload"}),
            "b": ("Transform", {"silver.events.payload"}),
            "c": ("Transform", {"silver.more.payload2"}),
        },
        {"silver.events": {"id": "bigint", "payload": "string"}, "silver.more": {"id": "bigint", "payload2": "string"}},
    ),
    Case(
        "postgres_multi_argument_unnest_zips_its_arrays",
        "postgres",
        "select e.id, u.tag, u.n from events e cross join lateral unnest(e.tags, e.nums) as u(tag, n) where n > 0",
        {
            "id": ("Direct", {"events.id"}),
            "tag": ("Transform", {"events.tags"}),
            "n": ("Transform", {"events.nums"}),
        },
        {"events": {"id": "int", "tags": "text[]", "nums": "int[]"}},
        indirect={("events", "nums", "filter")},
    ),
    Case(
        "postgres_rows_from_gives_each_function_its_column",
        "postgres",
        "select u.tag, u.n, s.v from events e, rows from (unnest(e.tags), unnest(e.nums)) as u(tag, n), "
        "rows from (generate_series(1, 3)) as s(v)",
        {
            "tag": ("Transform", {"events.tags"}),
            "n": ("Transform", {"events.nums"}),
            "v": ("Calculated", set()),
        },
        {"events": {"id": "int", "tags": "text[]", "nums": "int[]"}},
        tables=["events"],
    ),
    Case(
        "leftover_jinja_relations_keep_their_names",
        "databricks",
        "select o.id, c.name from {{ ref('orders') }} o join {{ source('crm', 'customers') }} c "
        "on o.customer_id = c.id where o.status = 'x'",
        {"id": ("Direct", {"orders.id"}), "name": ("Direct", {"crm.customers.name"})},
        {**ORDERS, "crm.customers": {"id": "int", "name": "string"}},
        tables=["orders", "crm.customers"],
    ),
    # --------------------------------------------------------------------------- robustness
    Case(
        "ambiguous_column_without_schema",
        "postgres",
        "select id from a join b on a.k = b.k",
        {"id": ("Direct", set())},
    ),
    Case(
        "unparseable_sql_reports_error",
        "duckdb",
        "select from where (",
        {},
        errors=True,
    ),
    Case(
        "column_of_an_undefined_alias_is_reported",
        "duckdb",
        "select ghost.code as code, o.id from orders o",
        {"code": ("Transform", set()), "id": ("Direct", {"orders.id"})},
        ORDERS,
        errors=True,
    ),
    Case(
        "multiple_statements_take_the_last",
        "snowflake",
        "use warehouse wh; select id from orders",
        {"ID": ("Direct", {"ORDERS.ID"})},
        ORDERS,
    ),
]
