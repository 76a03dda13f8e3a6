"""Benchmark reconcile on PostgreSQL: 10,000 models, 200,000 columns, column lineage.

    .venv/bin/python bench/bench_reconcile.py [--models 10000] [--columns 20] [--keep]

Creates a fresh database next to `postgres` (PG_ADMIN_DSN or postgresql://postgres@127.0.0.1:5432/postgres),
migrates it, then times: the first reconcile, a re-run with no change, and a re-run with one model changed.
Targets on a 2-core machine: first < 60 s, no change < 10 s, one change < 5 s.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable

import psycopg2
from sqlalchemy import Engine, func, select

from metadata_pipeline.catalog.database import (
    Tenant,
    ensure_default_tenant,
    make_engine,
    session_scope,
    set_company,
    upgrade,
)
from metadata_pipeline.catalog.models import AuditLog, Column, Connection, Dataset, Lineage
from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.reconcile import ReconcileOptions, ReconcileResult, reconcile_extraction

ADMIN_DSN = os.environ.get("PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
CHAIN = 10  # models per chain: model i reads model i-1 within a chain


def synthetic_project(models: int, columns: int) -> tuple[Extraction, list[ColumnEdge]]:
    """Chains of models with declared columns, every 4th column a transform, the rest direct."""
    names = [f"col_{j}" for j in range(columns)]
    declared = [ColumnInfo(name=n, data_type="varchar", position=j + 1) for j, n in enumerate(names)]
    objects, deps, edges = [], [], []
    for i in range(models):
        uid = f"model.bench.m{i:05d}"
        upstream = f"model.bench.m{i - 1:05d}" if i % CHAIN else None
        sql = f"select {', '.join(names)} from {{{{ ref('m{i - 1:05d}') }}}}" if upstream else "select 1"
        objects.append(
            DbtObject(
                uid,
                f"m{i:05d}",
                "model",
                materialization="table",
                file_path=f"models/m{i:05d}.sql",
                raw_sql=sql,
                compiled_sql=sql.replace("{{", "").replace("}}", ""),
                description=f"Model {i}",
                declared_columns=declared,
                tags=["bench"],
            )
        )
        if upstream is None:
            continue
        deps.append(Dependency(uid, upstream, "manifest"))
        for j, name in enumerate(names):
            transform = j % 4 == 0
            edges.append(
                ColumnEdge(
                    f"{uid}.{name}",
                    f"{upstream}.{name}",
                    "Transform" if transform else "Direct",
                    transformation=f"upper({name})" if transform else None,
                )
            )
    return Extraction("bench", "/bench", "GOLD", objects=objects, dependencies=deps), edges


def one_model_changed(extraction: Extraction, edges: list[ColumnEdge]) -> tuple[Extraction, list[ColumnEdge]]:
    """A new description, one column more, and its SQL edited, on one model in the middle."""
    changed = copy.copy(extraction)
    changed.objects = list(extraction.objects)
    index = len(changed.objects) // 2
    obj = copy.deepcopy(changed.objects[index])
    obj.description = "Changed by the benchmark"
    obj.raw_sql = (obj.raw_sql or "") + " -- edited"
    obj.declared_columns.append(ColumnInfo(name="added_col", data_type="int"))
    changed.objects[index] = obj
    return changed, edges


def create_database() -> tuple[str, str]:
    name = f"mp_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    return name, f"{base}/{name}"


def drop_database(name: str) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def setup_tenant(engine: Engine) -> tuple[Tenant, uuid.UUID]:
    with session_scope(engine) as session:
        tenant = ensure_default_tenant(session)
        connection = Connection(
            company_id=tenant.company_id,
            project_id=tenant.project_id,
            workspace_id=tenant.workspace_id,
            name="bench",
            url="/bench",
        )
        session.add(connection)
        session.flush()
        return tenant, connection.connection_id


def counts(engine: Engine, tenant: Tenant) -> dict[str, int]:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Dataset, Column, Lineage, AuditLog)
        }


def timed(label: str, run: Callable[[], ReconcileResult]) -> float:
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    print(f"{label:<22} {elapsed:7.2f} s   {result.summary()}")
    print(f"{'':<22} phases: {phases}")
    return elapsed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database for inspection")
    parser.add_argument(
        "--full-audit",
        action="store_true",
        help="one audit row per created column and edge too (ReconcileOptions.audit_children_of_new_datasets)",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    extraction, edges = synthetic_project(args.models, args.columns)
    changed, changed_edges = one_model_changed(extraction, edges)
    print(
        f"synthetic project: {len(extraction.objects)} models, "
        f"{sum(len(o.declared_columns) for o in extraction.objects)} columns, {len(edges)} column edges "
        f"({time.perf_counter() - started:.1f}s to build)"
    )
    name, url = create_database()
    try:
        upgrade(url)
        engine = make_engine(url)
        tenant, connection_id = setup_tenant(engine)

        options = ReconcileOptions(audit_children_of_new_datasets=args.full_audit)

        def run(ex: Extraction, es: list[ColumnEdge]) -> Callable[[], ReconcileResult]:
            return lambda: reconcile_extraction(
                engine,
                tenant=tenant,
                connection_id=connection_id,
                extraction=ex,
                column_edges=es,
                options=options,
            )

        first = timed("first reconcile", run(extraction, edges))
        print(f"{'':<22} rows: {counts(engine, tenant)}")
        again = timed("no-change re-run", run(extraction, edges))
        one = timed("one-model-changed", run(changed, changed_edges))
        print(f"peak memory (max RSS): {peak_rss_mb():.0f} MiB")
        targets = [("first", first, 60.0), ("no change", again, 10.0), ("one change", one, 5.0)]
        failed = [f"{label} {t:.1f}s > {limit:.0f}s" for label, t, limit in targets if t > limit]
        print("targets: " + ("all met" if not failed else "MISSED: " + "; ".join(failed)))
        engine.dispose()
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept database {name}: {url}")
        else:
            drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
