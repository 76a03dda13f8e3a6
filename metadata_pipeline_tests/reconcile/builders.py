"""Extractions built in code for the reconcile tests: a tiny shop project and a synthetic big one."""

from __future__ import annotations

import copy
import uuid

from sqlalchemy import Engine, func, select

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import Connection
from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction
from metadata_pipeline.lineage.edges import ColumnEdge, MappingType

STG_CUSTOMERS_SQL = "select id, name, lower(email) as email from {{ source('raw', 'customers') }}"
STG_ORDERS_SQL = "select id, customer_id, amount from {{ source('raw', 'orders') }}"
CUSTOMER_ORDERS_SQL = (
    "select c.id as customer_id, count(o.id) as order_count, sum(o.amount) as total_amount, "
    "current_date as loaded_on from {{ ref('stg_customers') }} c "
    "join {{ ref('stg_orders') }} o on o.customer_id = c.id group by 1"
)


def _cols(*names: str, described: bool = False) -> list[ColumnInfo]:
    return [
        ColumnInfo(name=n, data_type=None, description=f"The {n}." if described else None, position=i)
        for i, n in enumerate(names, start=1)
    ]


def shop() -> tuple[Extraction, list[ColumnEdge]]:
    """Two sources, two staging models, a mart, a seed and a test (which is not a dataset)."""
    objects = [
        DbtObject(
            "source.shop.raw.customers",
            "customers",
            "source",
            schema="raw",
            alias="customers",
            file_path="models/sources.yml",
            source_name="raw",
            declared_columns=_cols("id", "name", "email"),
        ),
        DbtObject(
            "source.shop.raw.orders",
            "orders",
            "source",
            schema="raw",
            alias="orders",
            file_path="models/sources.yml",
            source_name="raw",
            declared_columns=_cols("id", "customer_id", "amount"),
        ),
        DbtObject(
            "model.shop.stg_customers",
            "stg_customers",
            "model",
            materialization="view",
            file_path="models/staging/stg_customers.sql",
            raw_sql=STG_CUSTOMERS_SQL,
            compiled_sql=STG_CUSTOMERS_SQL.replace("{{ source('raw', 'customers') }}", "raw.customers"),
            description="Customers, cleaned.",
            tags=["staging"],
            declared_columns=_cols("id", "name", "email", described=True),
        ),
        DbtObject(
            "model.shop.stg_orders",
            "stg_orders",
            "model",
            materialization="view",
            file_path="models/staging/stg_orders.sql",
            raw_sql=STG_ORDERS_SQL,
            declared_columns=_cols("id", "customer_id", "amount"),
        ),
        DbtObject(
            "model.shop.customer_orders",
            "customer_orders",
            "model",
            materialization="table",
            file_path="models/marts/customer_orders.sql",
            raw_sql=CUSTOMER_ORDERS_SQL,
        ),
        DbtObject(
            "seed.shop.country_codes",
            "country_codes",
            "seed",
            materialization="seed",
            file_path="seeds/country_codes.csv",
            declared_columns=_cols("code", "country"),
        ),
        DbtObject("test.shop.not_null_stg_customers_id", "not_null_stg_customers_id", "test"),
    ]
    deps = [
        Dependency(
            "model.shop.stg_customers", "source.shop.raw.customers", "manifest", dependency_type="source"
        ),
        Dependency("model.shop.stg_orders", "source.shop.raw.orders", "manifest", dependency_type="source"),
        Dependency("model.shop.customer_orders", "model.shop.stg_customers", "manifest"),
        Dependency("model.shop.customer_orders", "model.shop.stg_orders", "manifest"),
        Dependency("test.shop.not_null_stg_customers_id", "model.shop.stg_customers", "manifest"),
    ]
    edges = [
        ColumnEdge("model.shop.stg_customers.id", "source.shop.raw.customers.id", "Direct"),
        ColumnEdge("model.shop.stg_customers.name", "source.shop.raw.customers.name", "Direct"),
        ColumnEdge(
            "model.shop.stg_customers.email",
            "source.shop.raw.customers.email",
            "Transform",
            transformation="lower(email)",
        ),
        ColumnEdge("model.shop.stg_orders.id", "source.shop.raw.orders.id", "Direct"),
        ColumnEdge("model.shop.stg_orders.customer_id", "source.shop.raw.orders.customer_id", "Direct"),
        ColumnEdge("model.shop.stg_orders.amount", "source.shop.raw.orders.amount", "Direct"),
        # customer_orders has no column list: its columns come from lineage (inferred).
        ColumnEdge("model.shop.customer_orders.customer_id", "model.shop.stg_customers.id", "Direct"),
        ColumnEdge(
            "model.shop.customer_orders.order_count",
            "model.shop.stg_orders.id",
            "Transform",
            transformation="count(o.id)",
        ),
        ColumnEdge(
            "model.shop.customer_orders.total_amount",
            "model.shop.stg_orders.amount",
            "Transform",
            transformation="sum(o.amount)",
        ),
        ColumnEdge("model.shop.customer_orders.loaded_on", None, "Calculated", transformation="current_date"),
        ColumnEdge(
            "model.shop.customer_orders.customer_id",
            "model.shop.stg_orders.customer_id",
            "Direct",
            lineage_type="indirect",
            role="join",
        ),
    ]
    return Extraction("shop", "/tmp/shop", "GOLD", objects=objects, dependencies=deps), edges


def without(
    extraction: Extraction, edges: list[ColumnEdge], unique_id: str
) -> tuple[Extraction, list[ColumnEdge]]:
    """The project with one object (and its dependencies and edges) removed."""
    ex = copy.deepcopy(extraction)
    ex.objects = [o for o in ex.objects if o.unique_id != unique_id]
    ex.dependencies = [d for d in ex.dependencies if unique_id not in (d.source, d.target)]
    kept = [e for e in edges if e.target_model != unique_id and e.source_model != unique_id]
    return ex, kept


def renamed(
    extraction: Extraction, edges: list[ColumnEdge], old: str, new: str, file_path: str | None = None
) -> tuple[Extraction, list[ColumnEdge]]:
    """The project with model `old` renamed to `new` (its SQL unchanged; optionally its file moved)."""
    ex = copy.deepcopy(extraction)
    for obj in ex.objects:
        if obj.unique_id == old:
            obj.unique_id, obj.name = new, new.rsplit(".", 1)[-1]
            if file_path is not None:
                obj.file_path = file_path
    for dep in ex.dependencies:
        dep.source = new if dep.source == old else dep.source
        dep.target = new if dep.target == old else dep.target

    def move(ref: str | None) -> str | None:
        if ref is None or not ref.startswith(old + "."):
            return ref
        return new + ref[len(old) :]

    return ex, [
        ColumnEdge(
            move(e.target) or "",
            move(e.source),
            e.mapping_type,
            e.lineage_type,
            e.transformation,
            e.confidence,
            e.role,
        )
        for e in edges
    ]


def synthetic(models: int, columns: int = 20, project: str = "big") -> tuple[Extraction, list[ColumnEdge]]:
    """Chains of models: model i reads model i-1 (a new chain every 10), one column edge per column."""
    objects: list[DbtObject] = []
    deps: list[Dependency] = []
    edges: list[ColumnEdge] = []
    names = [f"c{j}" for j in range(columns)]
    for i in range(models):
        uid = f"model.{project}.m{i}"
        sql = f"select {', '.join(names)} from upstream_{i}"
        objects.append(
            DbtObject(
                uid,
                f"m{i}",
                "model",
                materialization="view",
                file_path=f"models/m{i}.sql",
                raw_sql=sql,
                compiled_sql=sql,
                declared_columns=_cols(*names),
            )
        )
        if i % 10:
            upstream = f"model.{project}.m{i - 1}"
            deps.append(Dependency(uid, upstream, "manifest"))
            for j, name in enumerate(names):
                kind: MappingType = "Direct" if j % 4 else "Transform"
                edges.append(
                    ColumnEdge(
                        f"{uid}.{name}",
                        f"{upstream}.{name}",
                        kind,
                        transformation=None if j % 4 else f"upper({name})",
                    )
                )
    return Extraction(project, f"/tmp/{project}", "GOLD", objects=objects, dependencies=deps), edges


def make_connection(engine: Engine, tenant: Tenant, name: str = "shop") -> uuid.UUID:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        existing = session.scalar(select(func.count()).select_from(Connection).where(Connection.name == name))
        assert not existing
        connection = Connection(
            company_id=tenant.company_id,
            project_id=tenant.project_id,
            workspace_id=tenant.workspace_id,
            name=name,
            url=f"/repos/{name}",
        )
        session.add(connection)
        session.flush()
        return connection.connection_id
