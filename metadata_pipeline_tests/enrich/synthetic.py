"""Small generated dbt projects (extraction + column edges) for the enrichment tests and benchmark."""

from __future__ import annotations

from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction
from metadata_pipeline.lineage.edges import ColumnEdge, MappingType

SRC_CUSTOMERS = "source.shop.raw.customers"
SRC_ORDERS = "source.shop.raw.orders"
SEED = "seed.shop.country_codes"
STG_CUSTOMERS = "model.shop.stg_customers"
STG_ORDERS = "model.shop.stg_orders"
DIM_CUSTOMERS = "model.shop.dim_customers"
FCT_ORDERS = "model.shop.fct_orders"
SNAPSHOT = "snapshot.shop.customers_snapshot"


def cols(*specs: str | tuple[str, str | None, str | None]) -> list[ColumnInfo]:
    """"name" or (name, type, description)."""
    out = []
    for i, spec in enumerate(specs):
        name, dtype, desc = (spec, None, None) if isinstance(spec, str) else spec
        out.append(ColumnInfo(name=name, data_type=dtype, description=desc, position=i + 1))
    return out


def edge(target: str, source: str | None, mapping: MappingType = "Direct", transformation: str | None = None):
    return ColumnEdge(target=target, source=source, mapping_type=mapping, transformation=transformation)


def small_project() -> tuple[Extraction, list[ColumnEdge]]:
    objects = [
        DbtObject(
            unique_id=SRC_CUSTOMERS,
            name="customers",
            resource_type="source",
            source_name="raw",
            description="Customers as exported by the shop.",
            declared_columns=cols(
                ("id", "integer", "Unique customer id from the shop."),
                ("email", "varchar", "Customer email address."),
                ("first_name", "varchar", None),
                ("created_at", "timestamp", None),
            ),
        ),
        DbtObject(
            unique_id=SRC_ORDERS,
            name="orders",
            resource_type="source",
            source_name="raw",
            declared_columns=cols("id", "customer_id", "amount", "status", "ordered_at"),
        ),
        DbtObject(
            unique_id=SEED,
            name="country_codes",
            resource_type="seed",
            materialization="seed",
            file_path="seeds/country_codes.csv",
            catalog_columns=cols(("code", "varchar", None), ("name", "varchar", None)),
        ),
        DbtObject(
            unique_id=STG_CUSTOMERS,
            name="stg_customers",
            resource_type="model",
            materialization="view",
            file_path="models/staging/stg_customers.sql",
            compiled_sql="select id as customer_id, email, first_name, created_at from raw.customers",
            catalog_columns=cols(
                ("customer_id", "integer", None),
                ("email", "varchar", None),
                ("first_name", "varchar", None),
                ("created_at", "timestamp", None),
            ),
        ),
        DbtObject(
            unique_id=STG_ORDERS,
            name="stg_orders",
            resource_type="model",
            materialization="view",
            file_path="models/staging/stg_orders.sql",
            compiled_sql="select id as order_id, customer_id, amount, status, ordered_at from raw.orders",
            catalog_columns=cols("order_id", "customer_id", "amount", "status", "ordered_at"),
        ),
        DbtObject(
            unique_id=DIM_CUSTOMERS,
            name="dim_customers",
            resource_type="model",
            materialization="table",
            file_path="models/marts/dim_customers.sql",
            description="One row per customer, written by a person.",
            compiled_sql=(
                "with orders as (select * from stg_orders)\n"
                "select c.customer_id, c.email, count(o.order_id) as n_orders,\n"
                "  sum(o.amount) as lifetime_value, max(o.ordered_at) as last_ordered_at,\n"
                "  count(o.order_id) > 0 as is_active\n"
                "from stg_customers c left join orders o on o.customer_id = c.customer_id\n"
                "group by 1, 2"
            ),
            declared_columns=cols(
                "customer_id", "email", "n_orders", "lifetime_value", "last_ordered_at", "is_active"
            ),
        ),
        DbtObject(
            unique_id=FCT_ORDERS,
            name="fct_orders",
            resource_type="model",
            materialization="table",
            file_path="models/marts/fct_orders.sql",
            compiled_sql="select order_id, customer_id, amount, status, ordered_at from stg_orders",
            declared_columns=cols("order_id", "customer_id", "amount", "status", "ordered_at"),
        ),
        DbtObject(
            unique_id=SNAPSHOT,
            name="customers_snapshot",
            resource_type="snapshot",
            materialization="snapshot",
            raw_sql="{% snapshot customers_snapshot %} select * from {{ ref('stg_customers') }} {% endsnapshot %}",
            catalog_columns=cols("customer_id", "email", "dbt_valid_from", "dbt_valid_to"),
        ),
        DbtObject(unique_id="test.shop.not_null_x", name="not_null_x", resource_type="test"),
    ]
    deps = [
        (STG_CUSTOMERS, SRC_CUSTOMERS),
        (STG_ORDERS, SRC_ORDERS),
        (DIM_CUSTOMERS, STG_CUSTOMERS),
        (DIM_CUSTOMERS, STG_ORDERS),
        (FCT_ORDERS, STG_ORDERS),
        (SNAPSHOT, STG_CUSTOMERS),
    ]
    edges = [
        edge(f"{STG_CUSTOMERS}.customer_id", f"{SRC_CUSTOMERS}.id"),
        edge(f"{STG_CUSTOMERS}.email", f"{SRC_CUSTOMERS}.email"),
        edge(f"{STG_CUSTOMERS}.first_name", f"{SRC_CUSTOMERS}.first_name"),
        edge(f"{STG_CUSTOMERS}.created_at", f"{SRC_CUSTOMERS}.created_at"),
        edge(f"{STG_ORDERS}.order_id", f"{SRC_ORDERS}.id"),
        edge(f"{STG_ORDERS}.customer_id", f"{SRC_ORDERS}.customer_id"),
        edge(f"{STG_ORDERS}.amount", f"{SRC_ORDERS}.amount"),
        edge(f"{STG_ORDERS}.status", f"{SRC_ORDERS}.status"),
        edge(f"{STG_ORDERS}.ordered_at", f"{SRC_ORDERS}.ordered_at"),
        edge(f"{DIM_CUSTOMERS}.customer_id", f"{STG_CUSTOMERS}.customer_id"),
        edge(f"{DIM_CUSTOMERS}.email", f"{STG_CUSTOMERS}.email"),
        edge(f"{DIM_CUSTOMERS}.n_orders", f"{STG_ORDERS}.order_id", "Transform", "count(o.order_id)"),
        edge(f"{DIM_CUSTOMERS}.lifetime_value", f"{STG_ORDERS}.amount", "Transform", "sum(o.amount)"),
        edge(f"{DIM_CUSTOMERS}.last_ordered_at", f"{STG_ORDERS}.ordered_at", "Transform", "max(o.ordered_at)"),
        edge(f"{DIM_CUSTOMERS}.is_active", f"{STG_ORDERS}.order_id", "Transform", "count(o.order_id) > 0"),
        edge(f"{FCT_ORDERS}.order_id", f"{STG_ORDERS}.order_id"),
        edge(f"{FCT_ORDERS}.customer_id", f"{STG_ORDERS}.customer_id"),
        edge(f"{FCT_ORDERS}.amount", f"{STG_ORDERS}.amount"),
        edge(f"{FCT_ORDERS}.status", f"{STG_ORDERS}.status"),
        edge(f"{FCT_ORDERS}.ordered_at", f"{STG_ORDERS}.ordered_at"),
        edge(f"{SNAPSHOT}.customer_id", f"{STG_CUSTOMERS}.customer_id"),
        edge(f"{SNAPSHOT}.email", f"{STG_CUSTOMERS}.email"),
    ]
    extraction = Extraction(
        project_name="shop",
        project_root="/tmp/shop",
        tier="GOLD",
        objects=objects,
        dependencies=[Dependency(source=s, target=t, extracted_from="manifest") for s, t in deps],
        adapter_type="duckdb",
    )
    return extraction, edges


_LAYERS = ("stg", "int", "dim", "fct")
_COLUMN_POOL = (
    ("id", "integer"),
    ("customer_id", "integer"),
    ("email", "varchar"),
    ("amount", "numeric"),
    ("status", "varchar"),
    ("created_at", "timestamp"),
    ("is_active", "boolean"),
    ("n_items", "integer"),
    ("country_code", "varchar"),
    ("order_date", "date"),
)


def synthetic_project(n_datasets: int = 100, n_columns: int = 8) -> tuple[Extraction, list[ColumnEdge]]:
    """`n_datasets` datasets: a tenth sources (half documented), the rest models in four layers, each
    model reading the previous dataset, with Direct edges on half its columns."""
    objects: list[DbtObject] = []
    deps: list[Dependency] = []
    edges: list[ColumnEdge] = []
    n_sources = max(1, n_datasets // 10)
    pool = _COLUMN_POOL[:n_columns]
    for i in range(n_sources):
        documented = i % 2 == 0
        objects.append(
            DbtObject(
                unique_id=f"source.bench.raw.table_{i}",
                name=f"table_{i}",
                resource_type="source",
                source_name="raw",
                declared_columns=[
                    ColumnInfo(name=c, data_type=t, description=f"Documented {c}." if documented else None)
                    for c, t in pool
                ],
            )
        )
    for j in range(n_datasets - n_sources):
        layer = _LAYERS[j % len(_LAYERS)]
        uid = f"model.bench.{layer}_entity_{j}"
        parent = objects[-1].unique_id if j % len(_LAYERS) else f"source.bench.raw.table_{j % n_sources}"
        objects.append(
            DbtObject(
                unique_id=uid,
                name=f"{layer}_entity_{j}",
                resource_type="model",
                materialization="table",
                file_path=f"models/{layer}/{layer}_entity_{j}.sql",
                compiled_sql=_model_sql(pool, parent, j),
                catalog_columns=[ColumnInfo(name=c, data_type=t) for c, t in pool],
            )
        )
        deps.append(Dependency(source=uid, target=parent, extracted_from="manifest"))
        for k, (c, _) in enumerate(pool):
            mapping: MappingType = "Direct" if k % 2 == 0 else "Transform"
            edges.append(ColumnEdge(target=f"{uid}.{c}", source=f"{parent}.{c}", mapping_type=mapping))
    extraction = Extraction(
        project_name="bench",
        project_root="/tmp/bench",
        tier="GOLD",
        objects=objects,
        dependencies=deps,
        adapter_type="duckdb",
    )
    return extraction, edges


def _model_sql(pool: tuple[tuple[str, str], ...], parent: str, j: int) -> str:
    select = ",\n  ".join(c if k % 2 == 0 else f"coalesce({c}, {c}) as {c}" for k, (c, _) in enumerate(pool))
    return f"-- model {j}\nselect\n  {select}\nfrom {parent.rsplit('.', 1)[-1]}\nwhere {pool[0][0]} is not null"
