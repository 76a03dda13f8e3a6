"""Benchmark metadata-as-code sync: commit and pull of 1,000 datasets (~20 columns each, lineage).

    .venv/bin/python bench/bench_sync.py [--datasets 1000] [--columns 20] [--edits 500]
                                         [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Prints the time of a full first commit, an incremental commit, and a pull after editing many files
in another clone. With --postgres (an admin DSN), the same runs on a scratch PostgreSQL database.
Target: each under 10 s.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, update

from metadata_pipeline.catalog.database import (
    Tenant,
    ensure_default_tenant,
    make_engine,
    session_scope,
    upgrade,
)
from metadata_pipeline.catalog.models import Column, Dataset, Lineage
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.commit import commit_workspace
from metadata_pipeline.sync.pull import pull_workspace

LAYERS = ["Raw", "Bronze", "Silver", "Gold"]
TYPES = ["BIGINT", "STRING", "TIMESTAMP", "BOOLEAN", "DECIMAL(18,2)", "DATE"]


def git(*args: str, cwd: Path | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return result.stdout.strip()


def _rows(
    tenant: Tenant, datasets: int, columns: int, rng: random.Random
) -> tuple[list[dict[str, Any]], ...]:
    ds_rows, col_rows, lin_rows = [], [], []
    previous: list[uuid.UUID] = []
    for i in range(datasets):
        layer = LAYERS[i % 4]
        ds_id = uuid.uuid4()
        fqn = f"{layer.lower()}.analytics.model_{i:05d}"
        ds_rows.append(
            {
                "dataset_id": ds_id,
                "company_id": tenant.company_id,
                "fqn": fqn,
                "name": f"model_{i:05d}",
                "resource_type": "model",
                "medallion_layer": layer,
                "entity_type": "Table",
                "materialization_type": "table",
                "description": f"Model {i}: a realistic one-line description of what this table holds.",
                "metadata": {"owner": f"team-{i % 7}", "refresh": "daily", "tags": ["finance", "core"]},
                "has_uncommitted_changes": True,
                "sync_status": "pending",
            }
        )
        cols = [uuid.uuid4() for _ in range(columns)]
        for j, col_id in enumerate(cols):
            col_rows.append(
                {
                    "column_id": col_id,
                    "company_id": tenant.company_id,
                    "dataset_id": ds_id,
                    "fqn": f"{fqn}.col_{j}",
                    "name": f"col_{j}",
                    "data_type": rng.choice(TYPES),
                    "description": f"Column {j} of model {i}",
                    "is_primary_key": j == 0,
                    "is_foreign_key": False,
                    "is_nullable": j != 0,
                    "position": j + 1,
                    "reference_column_id": previous[0] if previous and j == 1 else None,
                    "reference_type": "FK" if previous and j == 1 else None,
                }
            )
            if previous:
                lin_rows.append(
                    {
                        "lineage_id": uuid.uuid4(),
                        "company_id": tenant.company_id,
                        "downstream_dataset_id": ds_id,
                        "downstream_column_id": col_id,
                        "upstream_dataset_id": ds_rows[-2]["dataset_id"],
                        "upstream_column_id": previous[j % len(previous)],
                        "mapping_type": "Direct" if j % 3 else "Transform",
                        "transformation_expression": None if j % 3 else f"upper(col_{j})",
                        "lineage_type": "direct",
                        "confidence": 1.0,
                    }
                )
        previous = cols
    return ds_rows, col_rows, lin_rows


def build(engine: Engine, datasets: int, columns: int) -> Tenant:
    with session_scope(engine) as session:
        tenant = ensure_default_tenant(session)
        ds_rows, col_rows, lin_rows = _rows(tenant, datasets, columns, random.Random(1))
        session.execute(insert(Dataset), ds_rows)
        for start in range(0, len(col_rows), 5000):
            session.execute(insert(Column), col_rows[start : start + 5000])
        for start in range(0, len(lin_rows), 5000):
            session.execute(insert(Lineage), lin_rows[start : start + 5000])
    return tenant


def timed(label: str, action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:6.2f} s   {result.summary()}")
    return elapsed, result


def edit_files(clone: Path, count: int) -> None:
    files = sorted((clone / "datasets").rglob("*.yml"))[:count]
    for n, path in enumerate(files):
        text = path.read_text()
        text = re.sub(
            r"description: Model (\d+):", rf"description: Edited in Git {n}, model \1:", text, count=1
        )
        text = re.sub(r"data_type: [A-Z(),0-9]+\n", "data_type: VARCHAR(64)\n", text, count=1)
        path.write_text(text)
    git("commit", "-qam", f"edit {count} files", cwd=clone)
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=clone)


def run(url: str, label: str, args: argparse.Namespace, work: Path) -> dict[str, float]:
    print(f"\n{label}: {args.datasets} datasets x {args.columns} columns, lineage between neighbours")
    upgrade(url)
    engine = make_engine(url)
    try:
        tenant = build(engine, args.datasets, args.columns)
        settings = Settings(home=work / "home", catalog_url=url)
        t_commit, first = timed(
            "commit (all files, first commit)", lambda: commit_workspace(engine, settings, tenant)
        )
        with session_scope(engine) as session:  # the catalog changes 100 datasets
            ids = [uuid.UUID(f["dataset_id"]) for f in first.files[:100]]
            session.execute(
                update(Dataset)
                .where(Dataset.dataset_id.in_(ids))
                .values(description="Changed in the catalog", has_uncommitted_changes=True)
            )
        t_incr, _ = timed("commit (100 changed datasets)", lambda: commit_workspace(engine, settings, tenant))
        t_noop, _ = timed("commit (nothing to commit)", lambda: commit_workspace(engine, settings, tenant))
        clone = work / "clone"
        git("clone", "-q", str(settings.metadata_remote_dir), str(clone))
        edit_files(clone, args.edits)
        t_pull, _ = timed(
            f"pull ({args.edits} files edited in another clone)",
            lambda: pull_workspace(engine, settings, tenant),
        )
        t_up, _ = timed("pull (up to date)", lambda: pull_workspace(engine, settings, tenant))
        return {"commit": t_commit, "incremental": t_incr, "noop": t_noop, "pull": t_pull, "up_to_date": t_up}
    finally:
        engine.dispose()


@contextmanager
def scratch_postgres(admin_dsn: str) -> Iterator[str]:
    import psycopg2

    name = f"mp_bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(admin_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--edits", type=int, default=500, help="files edited in Git before the pull")
    parser.add_argument(
        "--postgres", default=None, help="admin DSN: also run on a scratch PostgreSQL database"
    )
    args = parser.parse_args()
    results = {}
    work = Path(tempfile.mkdtemp(prefix="bench_sync_"))
    try:
        results["SQLite"] = run(
            f"sqlite:///{work / 'sqlite' / 'catalog.db'}", "SQLite", args, work / "sqlite"
        )
        if args.postgres:
            with scratch_postgres(args.postgres) as url:
                results["PostgreSQL"] = run(url, "PostgreSQL", args, work / "pg")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nsummary (target: commit and pull each under 10 s)")
    for backend, figures in results.items():
        verdict = "OK" if figures["commit"] < 10 and figures["pull"] < 10 else "SLOW"
        print(
            f"  {backend:<11} commit {figures['commit']:5.2f} s   pull {figures['pull']:5.2f} s   {verdict}"
        )


if __name__ == "__main__":
    main()
