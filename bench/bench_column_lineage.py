"""Benchmark column lineage over the corpus of real dbt projects.

Usage: python bench/bench_column_lineage.py [--corpus DIR] [--project NAME ...] [--workers N]
                                            [--baseline-models N] [--skip-baseline] [--skip-warm]
                                            [--per-project]

Prints, per project and in total:
1. coverage: % of model output columns with lineage (value upstreams, or Calculated), with and
   without catalog.json (targets: >= 97%); `bad` counts models whose SQL cannot run as written
   (names an undefined table alias, or only partly parses), and a total over the others follows.
   Both runs are measured against the same columns: the catalog's, else those the run with the
   catalog found (see `expected_columns`);
2. agreement: where a catalog exists, % of columns whose upstream set computed without the
   catalog equals the one computed with it (target: >= 98%);
3. speed: models/second for our one-pass engine vs a per-column `sqlglot.lineage()` baseline on
   the same models, and their ratio (target: >= 10x);
4. incremental: a warm re-run after touching one model vs a cold run (target: >= 50x), and how
   much of the warm run was re-analysing the touched models (`--per-project` for each project).

Projects are read with `metadata_pipeline.ingest.extract_project` when it exists, otherwise with the
small manifest/catalog loader below.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlglot  # noqa: E402
from sqlglot import exp  # noqa: E402
from sqlglot.lineage import lineage as sqlglot_lineage  # noqa: E402

from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction  # noqa: E402
from metadata_pipeline.lineage.dialects import dialect_for_adapter  # noqa: E402
from metadata_pipeline.lineage.edges import ColumnEdge  # noqa: E402
from metadata_pipeline.lineage.project_lineage import (  # noqa: E402
    ProjectLineage,
    _is_python_model,
    _ProjectRun,
    compute_project_lineage,
)

DEFAULT_CORPUS = Path("/work/shared/corpus/projects")


# ------------------------------------------------------------------------------------ loading


def load_project(project_dir: Path) -> Extraction | None:
    meta = json.loads((project_dir / "_corpus_meta.json").read_text())
    manifest = project_dir / meta["manifest_path"]
    catalog = project_dir / meta["catalog_path"] if meta.get("catalog_path") else None
    root = project_dir / (meta.get("project_root") or "")
    try:
        from metadata_pipeline.ingest import extract_project  # type: ignore[attr-defined]
    except ImportError:
        extract_project = None
    if extract_project is not None:
        try:
            return extract_project(
                root, manifest=manifest, catalog=catalog if catalog and catalog.exists() else None
            )
        except Exception as exc:  # noqa: BLE001 - fall back to the bench's own loader
            print(
                f"  extract_project failed ({type(exc).__name__}: {exc}); using the bench loader",
                file=sys.stderr,
            )
    return _load_manifest(manifest, catalog if catalog and catalog.exists() else None, root)


def _columns(raw: dict[str, Any] | None, source: str) -> list[ColumnInfo]:
    columns = []
    for position, (key, value) in enumerate((raw or {}).items()):
        value = value or {}
        columns.append(
            ColumnInfo(
                name=value.get("name") or key,
                data_type=value.get("data_type") or value.get("type"),
                position=value.get("index", position),
                source=source,  # type: ignore[arg-type]
            )
        )
    return columns


def _load_manifest(manifest_path: Path, catalog_path: Path | None, root: Path) -> Extraction:
    manifest = json.loads(manifest_path.read_text())
    catalog = json.loads(catalog_path.read_text()) if catalog_path else {}
    catalog_nodes = {**(catalog.get("nodes") or {}), **(catalog.get("sources") or {})}
    metadata = manifest.get("metadata") or {}
    extraction = Extraction(
        project_name=metadata.get("project_name") or manifest_path.parent.name,
        project_root=str(root),
        tier="GOLD",
        adapter_type=metadata.get("adapter_type"),
    )
    for uid, node in (manifest.get("nodes") or {}).items():
        config = node.get("config") or {}
        catalog_entry = catalog_nodes.get(uid)
        extraction.objects.append(
            DbtObject(
                unique_id=uid,
                name=node.get("name") or uid.rsplit(".", 1)[-1],
                resource_type=node.get("resource_type") or uid.split(".", 1)[0],
                package_name=node.get("package_name"),
                database=node.get("database"),
                schema=node.get("schema"),
                alias=node.get("alias") or node.get("name"),
                materialization=config.get("materialized"),
                compiled_sql=node.get("compiled_code") or node.get("compiled_sql"),
                declared_columns=_columns(node.get("columns"), "manifest"),
                catalog_columns=_columns(catalog_entry.get("columns"), "catalog") if catalog_entry else None,
                enabled=config.get("enabled", True) is not False,
                original_file_path=node.get("original_file_path"),
            )
        )
        for target in (node.get("depends_on") or {}).get("nodes") or []:
            extraction.dependencies.append(Dependency(source=uid, target=target, extracted_from="manifest"))
    for uid, source in (manifest.get("sources") or {}).items():
        catalog_entry = catalog_nodes.get(uid)
        extraction.objects.append(
            DbtObject(
                unique_id=uid,
                name=source.get("name") or uid.rsplit(".", 1)[-1],
                resource_type="source",
                database=source.get("database"),
                schema=source.get("schema"),
                alias=source.get("identifier") or source.get("name"),
                declared_columns=_columns(source.get("columns"), "manifest"),
                catalog_columns=_columns(catalog_entry.get("columns"), "catalog") if catalog_entry else None,
                source_name=source.get("source_name"),
            )
        )
    return extraction


def without_catalog(extraction: Extraction) -> Extraction:
    return replace(extraction, objects=[replace(o, catalog_columns=None) for o in extraction.objects])


# ------------------------------------------------------------------------------------ metrics


def _model_ids(extraction: Extraction) -> list[str]:
    """Models and snapshots with compiled SQL (a Python model's compiled code is Python)."""
    return [
        o.unique_id
        for o in extraction.objects
        if o.resource_type in ("model", "snapshot")
        and (o.compiled_sql or "").strip()
        and o.enabled
        and not _is_python_model(o.compiled_sql or "")
    ]


def expected_columns(extraction: Extraction, reference: ProjectLineage) -> dict[str, list[str]]:
    """Each model's real output columns, the denominator of coverage: the catalog's list where the
    catalog has the model, else the columns `reference` (the run that had the catalog: the most
    any run knows) found in its SQL. Both runs of a project are measured against this one list;
    measuring each run against the columns it found itself would let a run that knows fewer
    columns (a `select *` it cannot expand) shrink its own denominator."""
    by_id = extraction.by_id()
    expected: dict[str, list[str]] = {}
    for uid in _model_ids(extraction):
        names = [c.name for c in by_id[uid].catalog_columns or []]
        if not names:
            statement = reference.statements.get(uid)
            names = [c.column for c in statement.columns if c.column != "*"] if statement else []
        expected[uid] = names
    return expected


def coverage(expected: dict[str, list[str]], lineage: ProjectLineage) -> tuple[int, int]:
    """(columns with lineage, columns) over `expected` (see `expected_columns`). A column has lineage
    when it has a value edge to a source column, or is Calculated."""
    with_lineage = {
        e.target.casefold()
        for e in lineage.edges
        if e.lineage_type == "direct" and (e.source or e.mapping_type == "Calculated")
    }
    covered = total = 0
    for uid, names in expected.items():
        for name in names:
            total += 1
            covered += f"{uid}.{name}".casefold() in with_lineage
    return covered, total


def unrunnable_models(lineage: ProjectLineage) -> set[str]:
    """Models whose SQL cannot run as written: it names a table or alias no FROM clause defines,
    or only part of it parses. Their missing columns have no lineage to find."""
    return {
        uid
        for uid, statement in lineage.statements.items()
        if any(e.startswith("unresolved:") or "recovered a partial statement" in e for e in statement.errors)
    }


def coverage_of_found(lineage: ProjectLineage) -> tuple[int, int]:
    """(columns with lineage, columns) over the output columns the engine itself found."""
    with_lineage = {
        e.target.casefold()
        for e in lineage.edges
        if e.lineage_type == "direct" and (e.source or e.mapping_type == "Calculated")
    }
    total = covered = 0
    for uid, statement in lineage.statements.items():
        for column in statement.columns:
            if column.column == "*":
                continue
            total += 1
            covered += f"{uid}.{column.column}".casefold() in with_lineage
    return covered, total


def _value_sets(edges: Iterable[ColumnEdge]) -> dict[str, set[str]]:
    sets: dict[str, set[str]] = {}
    for edge in edges:
        if edge.lineage_type != "direct":
            continue
        entry = sets.setdefault(edge.target.casefold(), set())
        if edge.source:
            entry.add(edge.source.casefold())
    return sets


def agreement(with_catalog: ProjectLineage, without: ProjectLineage) -> tuple[int, int]:
    """(columns whose upstream sets agree, columns compared): columns present in both runs."""
    a, b = _value_sets(with_catalog.edges), _value_sets(without.edges)
    shared = set(a) & set(b)
    return sum(a[k] == b[k] for k in shared), len(shared)


# -------------------------------------------------------------------------------------- speed


def baseline_seconds(extraction: Extraction, model_ids: list[str], budget_s: float) -> tuple[float, int]:
    """Time `sqlglot.lineage()` called once per output column, as tools built on it do."""
    run = _ProjectRun(extraction, use_catalog=True, timeout_s=10)
    order = [uid for wave in run.waves() for uid in wave]
    wanted = set(model_ids)
    # Schemas flow in dependency order exactly as in our engine, so both see the same inputs.
    ours = compute_project_lineage(extraction, workers=1)
    done = 0
    elapsed = 0.0
    for uid in order:
        if uid not in wanted:
            continue
        task = run.task(uid)
        statement = ours.statements.get(uid)
        columns = [c.column for c in statement.columns if c.column != "*"] if statement else []
        uniform = _uniform({".".join(k): v for k, v in task.schema.items() if len(k) > 1})
        started = time.perf_counter()
        for column in columns:
            try:
                sqlglot_lineage(column, task.sql, schema=uniform, dialect=task.dialect or None)
            except Exception:  # noqa: BLE001 - the baseline fails on some columns; time it anyway
                pass
        elapsed += time.perf_counter() - started
        done += 1
        run.absorb(uid, statement) if statement else None
        if elapsed > budget_s:
            break
    return elapsed, done


def _uniform(schema: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """sqlglot's MappingSchema needs one depth for all tables: keep the deepest ones."""
    if not schema:
        return {}
    depth = max(k.count(".") for k in schema)
    return {k: v for k, v in schema.items() if k.count(".") == depth}


def our_seconds(extraction: Extraction, model_ids: list[str]) -> float:
    run = _ProjectRun(extraction, use_catalog=True, timeout_s=10)
    from metadata_pipeline.lineage.project_lineage import analyze_task

    elapsed = 0.0
    wanted = set(model_ids)
    for wave in run.waves():
        for uid in wave:
            task = run.task(uid)
            started = time.perf_counter()
            lineage = analyze_task(task)
            if uid in wanted:
                elapsed += time.perf_counter() - started
            run.absorb(uid, lineage)
    return elapsed


# --------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # sqlglot warns about every odd scope
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--project", action="append", help="only these project directories")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--baseline-models", type=int, default=25, help="models per project timed on both engines"
    )
    parser.add_argument(
        "--baseline-budget", type=float, default=20.0, help="max baseline seconds per project"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-warm", action="store_true")
    parser.add_argument("--per-project", action="store_true", help="print cold/warm per project")
    args = parser.parse_args(argv)

    dirs = sorted(p for p in args.corpus.iterdir() if (p / "_corpus_meta.json").exists())
    if args.project:
        dirs = [d for d in dirs if d.name in set(args.project)]

    totals = {
        "cov_cat": [0, 0],
        "cov_nocat": [0, 0],
        "found_nocat": [0, 0],
        "agree": [0, 0],
        "cov_cat_runnable": [0, 0],
        "cov_nocat_runnable": [0, 0],
        "ours_s": 0.0,
        "base_s": 0.0,
        "base_models": 0,
    }
    warm = {"cold": 0.0, "warm": 0.0, "analysis": 0.0}
    incremental: list[tuple[str, float, float, dict[str, Any]]] = []
    print(
        f"{'project':<48} {'dialect':<10} {'models':>6} {'cov+cat':>8} {'cov-cat':>8} {'agree':>7} {'errs':>5} {'bad':>4} {'sec':>6}"
    )
    for project_dir in dirs:
        extraction = load_project(project_dir)
        if extraction is None or not _model_ids(extraction):
            print(f"{project_dir.name:<48} (no models with compiled SQL)")
            continue
        has_catalog = any(o.catalog_columns for o in extraction.objects)
        started = time.perf_counter()
        with_cat = compute_project_lineage(extraction, workers=args.workers)
        elapsed = time.perf_counter() - started
        no_cat = compute_project_lineage(without_catalog(extraction), workers=args.workers)
        expected = expected_columns(extraction, with_cat)
        cov_c = coverage(expected, with_cat)
        cov_n = coverage(expected, no_cat)
        agree = agreement(with_cat, no_cat) if has_catalog else (0, 0)
        found = coverage_of_found(no_cat)
        unrunnable = unrunnable_models(with_cat)
        runnable = {uid: names for uid, names in expected.items() if uid not in unrunnable}
        for key, value in (
            ("cov_cat", cov_c),
            ("cov_nocat", cov_n),
            ("found_nocat", found),
            ("agree", agree),
            ("cov_cat_runnable", coverage(runnable, with_cat)),
            ("cov_nocat_runnable", coverage(runnable, no_cat)),
        ):
            totals[key][0] += value[0]
            totals[key][1] += value[1]
        print(
            f"{project_dir.name[:48]:<48} {with_cat.stats['dialect'] or 'generic':<10} {with_cat.stats['models']:>6} "
            f"{_pct(cov_c):>8} {_pct(cov_n):>8} {(_pct(agree) if has_catalog else 'n/a'):>7} "
            f"{len(with_cat.errors):>5} {len(unrunnable):>4} {elapsed:>6.2f}"
        )
        models = _model_ids(extraction)
        if not args.skip_baseline:
            sample = models[: args.baseline_models]
            base_s, base_n = baseline_seconds(extraction, sample, args.baseline_budget)
            sample = [uid for uid in _ordered(extraction, sample)][:base_n]
            totals["base_s"] += base_s
            totals["ours_s"] += our_seconds(extraction, sample)
            totals["base_models"] += base_n
        if not args.skip_warm:
            cold, warm_s, stats = warm_rerun(extraction, args.workers)
            warm["cold"] += cold
            warm["warm"] += warm_s
            warm["analysis"] += stats["analysis_seconds"]
            incremental.append((project_dir.name, cold, warm_s, stats))

    print()
    print(
        f"coverage with catalog:    {_pct(totals['cov_cat'])} of {totals['cov_cat'][1]} model columns (target >= 97%)"
    )
    print(
        f"coverage without catalog: {_pct(totals['cov_nocat'])} of {totals['cov_nocat'][1]} model columns (target >= 97%)"
    )
    print(
        f"  without catalog, over the columns the engine found in the SQL: {_pct(totals['found_nocat'])} "
        f"of {totals['found_nocat'][1]} (the rest sit behind `select *` over sources nothing describes)"
    )
    print(
        f"  over models whose SQL can run as written (column `bad` counts the others): with catalog "
        f"{_pct(totals['cov_cat_runnable'])}, without {_pct(totals['cov_nocat_runnable'])} "
        f"of {totals['cov_cat_runnable'][1]}"
    )
    print(
        f"agreement no-catalog vs catalog: {_pct(totals['agree'])} of {totals['agree'][1]} columns (target >= 98%)"
    )
    if not args.skip_baseline and totals["base_models"]:
        n = totals["base_models"]
        ours_rate = n / max(totals["ours_s"], 1e-9)
        base_rate = n / max(totals["base_s"], 1e-9)
        print(
            f"speed on {n} models: ours {ours_rate:.1f} models/s, per-column sqlglot.lineage() {base_rate:.2f} models/s, "
            f"ratio {ours_rate / base_rate:.1f}x (target >= 10x)"
        )
    if not args.skip_warm and warm["warm"]:
        print(
            f"incremental: cold {warm['cold']:.2f}s, warm after touching one model {warm['warm']:.3f}s, "
            f"ratio {warm['cold'] / warm['warm']:.0f}x (target >= 50x)"
        )
        print(
            f"  of the warm time, re-analysing the touched models took {warm['analysis']:.3f}s and the "
            f"cache path (snapshot, fingerprints, restoring, bookkeeping) "
            f"{warm['warm'] - warm['analysis']:.3f}s; the ratio "
            f"with the analysis alone as the warm time would be {warm['cold'] / max(warm['analysis'], 1e-9):.0f}x"
        )
        if args.per_project:
            print()
            print(
                f"{'incremental per project':<48} {'cold s':>8} {'warm s':>8} {'ratio':>6} {'analysed':>8} {'replayed':>8}"
            )
            for name, cold, warm_s, stats in incremental:
                print(
                    f"{name[:48]:<48} {cold:>8.3f} {warm_s:>8.3f} {cold / warm_s:>5.0f}x "
                    f"{stats['analyzed']:>8} {stats['replayed']:>8}"
                )
    return 0


def _ordered(extraction: Extraction, sample: list[str]) -> list[str]:
    run = _ProjectRun(extraction, use_catalog=True, timeout_s=10)
    wanted = set(sample)
    return [uid for wave in run.waves() for uid in wave if uid in wanted]


def warm_rerun(extraction: Extraction, workers: int | None) -> tuple[float, float, dict[str, Any]]:
    """Cold run into an empty cache, then a run after one leaf model's SQL changed: the two wall
    times and the warm run's stats.

    Each run starts after a full garbage collection, so that neither pays for collecting what the
    bench or the other run left behind (a full collection of this process takes 40-150 ms and
    otherwise lands in whichever run happens to cross the threshold). Each still collects its own
    garbage as it goes."""
    cache_dir = Path(tempfile.mkdtemp(prefix="lineage-bench-"))
    try:
        gc.collect()
        started = time.perf_counter()
        compute_project_lineage(extraction, cache_dir=cache_dir, workers=workers)
        cold = time.perf_counter() - started
        touched = _touch_one_model(extraction)
        gc.collect()
        started = time.perf_counter()
        result = compute_project_lineage(touched, cache_dir=cache_dir, workers=workers)
        warm_s = time.perf_counter() - started
        return cold, warm_s, result.stats
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)


def _touch_one_model(extraction: Extraction) -> Extraction:
    """The same project with one model that nothing depends on changed in meaning: a literal column
    added to what it selects, so it must be analysed again and its schema changes."""
    upstream = {d.target for d in extraction.dependencies}
    models = _model_ids(extraction)
    leaf = next((uid for uid in models if uid not in upstream), models[-1])
    dialect = dialect_for_adapter(extraction.adapter_type)
    objects = [
        replace(o, compiled_sql=_with_literal_column(o.compiled_sql or "", dialect))
        if o.unique_id == leaf
        else o
        for o in extraction.objects
    ]
    return replace(extraction, objects=objects)


def _with_literal_column(sql: str, dialect: str) -> str:
    """`sql` selecting one more column, `1 as bench_touched`: added to its outermost SELECT, or,
    when that is not a plain SELECT (a UNION, unparsable SQL), around the whole query."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect or None)
    except Exception:  # noqa: BLE001 - any parse failure: wrap the text instead
        tree = None
    if isinstance(tree, exp.Select):
        tree.select(exp.alias_(exp.Literal.number(1), "bench_touched"), copy=False)
        return tree.sql(dialect=dialect or None)
    body = sql.rstrip().rstrip(";")
    return f"select *, 1 as bench_touched from (\n{body}\n) as bench_touched_query"


def _pct(pair: tuple[int, int] | list[int]) -> str:
    done, total = pair
    return f"{100.0 * done / total:.1f}%" if total else "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
