"""A small dbt-duckdb project built in memory: sources, staging models, an ephemeral model, a mart
and a `select *` model with no catalog entry, as the manifest/catalog readers would extract it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction

DB = "shop"
SRC_ORDERS = "source.shop.raw.orders"
SRC_CUSTOMERS = "source.shop.raw.customers"
STG_ORDERS = "model.shop.stg_orders"
STG_CUSTOMERS = "model.shop.stg_customers"
INT_ORDERS = "model.shop.int_orders"  # ephemeral
FCT_ORDERS = "model.shop.fct_orders"
MART = "model.shop.customer_orders"  # select * from fct_orders, no catalog entry

INT_ORDERS_SQL = """select order_id, customer_id, amount * 100 as amount_cents
from "shop"."main"."stg_orders"
where status = 'completed'"""

SQL = {
    STG_ORDERS: 'select id as order_id, customer_id, amount, status from "shop"."raw"."orders"',
    STG_CUSTOMERS: 'select * from "shop"."raw"."customers"',
    INT_ORDERS: INT_ORDERS_SQL,
    FCT_ORDERS: f"""with __dbt__cte__int_orders as (
{INT_ORDERS_SQL}
)
select o.order_id, c.full_name as customer_name, o.amount_cents
from __dbt__cte__int_orders as o
join "shop"."main"."stg_customers" as c on o.customer_id = c.customer_id""",
    MART: 'select * from "shop"."main"."fct_orders"',
}

DEPENDS_ON = {
    STG_ORDERS: [SRC_ORDERS],
    STG_CUSTOMERS: [SRC_CUSTOMERS],
    INT_ORDERS: [STG_ORDERS],
    FCT_ORDERS: [INT_ORDERS, STG_CUSTOMERS],
    MART: [FCT_ORDERS],
}

CATALOG = {
    SRC_ORDERS: ["id", "customer_id", "amount", "status"],
    SRC_CUSTOMERS: ["customer_id", "full_name"],
    STG_ORDERS: ["order_id", "customer_id", "amount", "status"],
    STG_CUSTOMERS: ["customer_id", "full_name"],
    FCT_ORDERS: ["order_id", "customer_name", "amount_cents"],
}


def _columns(names: list[str], source: str) -> list[ColumnInfo]:
    return [ColumnInfo(name=n, data_type="integer", position=i, source=source) for i, n in enumerate(names)]  # type: ignore[arg-type]


def shop_extraction(with_catalog: bool = True) -> Extraction:
    objects = [
        DbtObject(
            SRC_ORDERS, "orders", "source", database=DB, schema="raw", alias="orders", source_name="raw"
        ),
        DbtObject(
            SRC_CUSTOMERS,
            "customers",
            "source",
            database=DB,
            schema="raw",
            alias="customers",
            source_name="raw",
        ),
    ]
    for uid, sql in SQL.items():
        name = uid.rsplit(".", 1)[-1]
        objects.append(
            DbtObject(
                uid,
                name,
                "model",
                package_name="shop",
                database=DB,
                schema="main",
                alias=name,
                materialization="ephemeral" if uid == INT_ORDERS else "table",
                compiled_sql=sql,
            )
        )
    if with_catalog:
        objects = [
            replace(o, catalog_columns=_columns(CATALOG[o.unique_id], "catalog"))
            if o.unique_id in CATALOG
            else o
            for o in objects
        ]
    dependencies = [
        Dependency(source=uid, target=target, extracted_from="manifest")
        for uid, targets in DEPENDS_ON.items()
        for target in targets
    ]
    return Extraction(
        project_name="shop",
        project_root="/nonexistent",
        tier="GOLD",
        objects=objects,
        dependencies=dependencies,
        adapter_type="duckdb",
    )


def write_manifest_project(root: Path) -> tuple[Path, Path]:
    """The same project as manifest.json + catalog.json files (for the CLI and the real readers)."""
    nodes = {}
    for uid, sql in SQL.items():
        name = uid.rsplit(".", 1)[-1]
        nodes[uid] = {
            "unique_id": uid,
            "name": name,
            "resource_type": "model",
            "package_name": "shop",
            "database": DB,
            "schema": "main",
            "alias": name,
            "config": {"materialized": "ephemeral" if uid == INT_ORDERS else "table", "enabled": True},
            "original_file_path": f"models/{name}.sql",
            "raw_code": sql,
            "compiled_code": sql,
            "columns": {},
            "depends_on": {"nodes": DEPENDS_ON[uid], "macros": []},
        }
    sources = {
        uid: {
            "unique_id": uid,
            "name": uid.rsplit(".", 1)[-1],
            "resource_type": "source",
            "package_name": "shop",
            "source_name": "raw",
            "database": DB,
            "schema": "raw",
            "identifier": uid.rsplit(".", 1)[-1],
            "columns": {},
        }
        for uid in (SRC_ORDERS, SRC_CUSTOMERS)
    }
    manifest = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.9.0",
            "adapter_type": "duckdb",
            "project_name": "shop",
        },
        "nodes": nodes,
        "sources": sources,
        "exposures": {},
        "metrics": {},
        "macros": {},
        "parent_map": {uid: deps for uid, deps in DEPENDS_ON.items()},
    }
    catalog = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
        "nodes": {},
        "sources": {},
        "errors": None,
    }
    for uid, names in CATALOG.items():
        section = "sources" if uid.startswith("source.") else "nodes"
        catalog[section][uid] = {
            "unique_id": uid,
            "metadata": {
                "type": "BASE TABLE",
                "schema": "raw" if section == "sources" else "main",
                "name": uid.rsplit(".", 1)[-1],
            },
            "columns": {
                n: {"type": "INTEGER", "index": i + 1, "name": n, "comment": None}
                for i, n in enumerate(names)
            },
            "stats": {},
        }
    target = root / "target"
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / "manifest.json"
    catalog_path = target / "catalog.json"
    manifest_path.write_text(json.dumps(manifest))
    catalog_path.write_text(json.dumps(catalog))
    (root / "dbt_project.yml").write_text("name: shop\nversion: '1.0'\nprofile: shop\n")
    return manifest_path, catalog_path
