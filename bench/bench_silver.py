"""SILVER (no manifest) dependencies compared with what dbt recorded, over the corpus of real projects.

For each corpus project: materialize.py writes its SQL back out of the manifest into a temporary
dbt project, the SILVER reader extracts it, and its edges between the project's own models, seeds
and snapshots (and sources) are compared with the manifest's `depends_on.nodes`.

materialize.py writes .sql files only and writes a snapshot's body without its `{% snapshot %}`
block, while a real checkout also has seed CSVs, Python models and whole snapshot files; and it
writes Windows paths (`models\\a.sql`) as single file names. The bench puts those back (an empty
CSV per seed, each Python model's code, snapshot blocks, folders) so the project on disk is the one
dbt parsed. Projects built from a harness (integration_tests/ installing the project as a local
package) are read from that harness, as dbt was run. Prints figures; asserts nothing.

    .venv/bin/python bench/bench_silver.py [--corpus DIR] [--verbose] [project ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot

from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.ingest.raw_sql import read_dbt_project

DEFAULT_CORPUS = Path("/work/shared/corpus")
DIALECTS = {
    "snowflake": "snowflake", "bigquery": "bigquery", "postgres": "postgres", "duckdb": "duckdb",
    "databricks": "databricks", "redshift": "redshift", "clickhouse": "clickhouse", "sqlserver": "tsql",
    "trino": "trino", "spark": "spark",
}  # fmt: skip
OWN_TYPES = ("model", "seed", "snapshot")
Edge = tuple[str, str]


@dataclass
class ProjectResult:
    name: str
    expected: set[Edge]
    found: set[Edge]
    objects: int
    seconds: float
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the project cannot be compared at all
    parsed_ours: tuple[int, int] = (0, 0)  # (compiled SQL sqlglot parses, models with compiled SQL)
    parsed_dbt: tuple[int, int] = (0, 0)

    @property
    def matched(self) -> int:
        return len(self.expected & self.found)

    @property
    def recall(self) -> float:
        return self.matched / len(self.expected) if self.expected else 1.0

    @property
    def extra(self) -> int:
        return len(self.found - self.expected)

    @property
    def extra_rate(self) -> float:
        return self.extra / len(self.found) if self.found else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--verbose", action="store_true", help="list every missed and extra edge")
    parser.add_argument("projects", nargs="*", help="corpus directory names (default: all)")
    args = parser.parse_args()
    names = args.projects or sorted(
        p.parent.name for p in (args.corpus / "projects").glob("*/_corpus_meta.json")
    )
    results = [run_project(args.corpus, name) for name in names]
    for result in results:
        print_result(result, verbose=args.verbose)
    print_totals(results)


def run_project(corpus: Path, name: str) -> ProjectResult:
    source = corpus / "projects" / name
    meta = json.loads((source / "_corpus_meta.json").read_text())
    manifest = json.loads((source / meta["manifest_path"]).read_text())
    project = manifest.get("metadata", {}).get("project_name") or meta.get("project_name")
    with tempfile.TemporaryDirectory(prefix="silver-") as tmp:
        out = Path(tmp) / "project"
        subprocess.run(
            [sys.executable, str(corpus / "materialize.py"), str(source), str(out)],
            check=True,
            capture_output=True,
        )
        fix_windows_paths(out)
        complete_checkout(manifest, project, out)
        started = time.perf_counter()
        extraction = read_dbt_project(silver_root(meta, manifest, project, out))
        seconds = time.perf_counter() - started
    dialect = DIALECTS.get(str(manifest.get("metadata", {}).get("adapter_type")))
    return ProjectResult(
        name=name,
        expected=manifest_edges(manifest, project),
        found=extraction_edges(extraction, project),
        objects=len(extraction.objects),
        seconds=seconds,
        errors=[str(e) for e in extraction.errors],
        skipped=None if has_sql(manifest, project) else "the manifest holds no SQL (dbt Fusion placeholders)",
        parsed_ours=parse_rate(
            [o.compiled_sql for o in extraction.objects if own_model(o.unique_id, project, o.enabled)],
            dialect,
        ),
        parsed_dbt=parse_rate(
            [
                n.get("compiled_code", n.get("compiled_sql"))
                for u, n in manifest["nodes"].items()
                if own_model(u, project, True)
            ],
            dialect,
        ),
    )


def has_sql(manifest: dict[str, Any], project: str) -> bool:
    codes = [
        n.get("raw_code", n.get("raw_sql"))
        for u, n in manifest.get("nodes", {}).items()
        if own_model(u, project, True)
    ]
    return not codes or any(c and c.strip() != "--placeholder--" for c in codes)


def own_model(unique_id: str, project: str, enabled: bool) -> bool:
    return enabled and unique_id.startswith(f"model.{project}.")


def parse_rate(sqls: list[str | None], dialect: str | None) -> tuple[int, int]:
    """How many compiled SQL texts sqlglot parses without error (the input column lineage needs)."""
    present = [s for s in sqls if s and s.strip()]
    ok = 0
    for sql in present:
        try:
            sqlglot.parse(sql, read=dialect)
            ok += 1
        except sqlglot.errors.SqlglotError:
            pass
    return ok, len(present)


def silver_root(meta: dict[str, Any], manifest: dict[str, Any], project: str, out: Path) -> Path:
    """Where dbt ran: a harness project (integration_tests/) that installs this one as a local package.

    Its vars (e.g. tuva's `claims_enabled: true`) decide which models are enabled, so SILVER must
    start from the same root to be compared with that manifest.
    """
    generator = manifest_root_package(manifest)
    if generator and generator != project:
        for note in meta.get("notes") or []:
            if note.startswith(f"local_package:{generator}@"):
                return out / note.split("@", 1)[1]
    return out


def manifest_root_package(manifest: dict[str, Any]) -> str | None:
    metadata = manifest.get("metadata") or {}
    if metadata.get("project_name"):
        return str(metadata["project_name"])
    packages = {n.get("package_name") for n in manifest.get("nodes", {}).values()}
    for package in packages:
        if package and hashlib.md5(package.encode()).hexdigest() == metadata.get("project_id"):  # noqa: S324
            return package
    return None


def fix_windows_paths(out: Path) -> None:
    """Manifests written on Windows keep `models\\x.sql`; materialize.py makes that one file name."""
    for path in list(out.iterdir()):
        if "\\" in path.name:
            target = out.joinpath(*path.name.split("\\"))
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)


def complete_checkout(manifest: dict[str, Any], project: str, out: Path) -> None:
    """Add what materialize.py leaves out but a real checkout has.

    Seed CSVs (empty), Python models, and the `{% snapshot name %}` wrapper: the manifest stores a
    snapshot's body only, so several snapshots of one file are written back as blocks again.
    """
    snapshots: dict[Path, list[str]] = {}
    for node in manifest.get("nodes", {}).values():
        relative = str(node.get("original_file_path") or "").replace("\\", "/")
        if node.get("package_name") != project or not relative:
            continue
        path = out / relative
        code = node.get("raw_code", node.get("raw_sql"))
        if node.get("resource_type") == "snapshot" and code is not None and relative.endswith(".sql"):
            snapshots.setdefault(path, []).append(f"{{% snapshot {node['name']} %}}{code}{{% endsnapshot %}}")
        elif path.exists():
            continue
        elif node.get("resource_type") == "seed":
            _write(path, "")
        elif node.get("language") == "python" and code:
            _write(path, code)
    for path, blocks in snapshots.items():
        _write(path, "\n\n".join(blocks) + "\n")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def is_own(unique_id: str, project: str) -> bool:
    parts = unique_id.split(".")
    return len(parts) >= 3 and parts[0] in OWN_TYPES and parts[1] == project


def counts_as_target(unique_id: str, project: str) -> bool:
    return is_own(unique_id, project) or unique_id.startswith("source.")


def manifest_edges(manifest: dict[str, Any], project: str) -> set[Edge]:
    edges = set()
    for unique_id, node in manifest.get("nodes", {}).items():
        if not is_own(unique_id, project):
            continue
        for target in (node.get("depends_on") or {}).get("nodes") or []:
            if counts_as_target(target, project):
                edges.add((unique_id, target))
    return edges


def extraction_edges(extraction: Extraction, project: str) -> set[Edge]:
    return {
        (d.source, d.target)
        for d in extraction.dependencies
        if is_own(d.source, project) and counts_as_target(d.target, project)
    }


def print_result(result: ProjectResult, *, verbose: bool) -> None:
    if result.skipped:
        print(f"SKIP {result.name:<52} {result.skipped}")
        return
    status = "OK " if not (result.expected ^ result.found) else "DIFF"
    print(
        f"{status} {result.name:<52} edges {len(result.expected):>4}  recall {result.recall:7.2%}  "
        f"extra {result.extra:>3} ({result.extra_rate:6.2%})  objects {result.objects:>4}  "
        f"{result.seconds:6.2f}s  sqlglot parses ours {_rate(result.parsed_ours)} dbt's {_rate(result.parsed_dbt)}"
        f"  errors {len(result.errors)}"
    )
    limit = None if verbose else 5
    for source, target in sorted(result.expected - result.found)[:limit]:
        print(f"      missed  {source} -> {target}")
    for source, target in sorted(result.found - result.expected)[:limit]:
        print(f"      extra   {source} -> {target}")
    if verbose:
        for error in result.errors:
            print(f"      error   {error}")


def _rate(pair: tuple[int, int]) -> str:
    return f"{pair[0]:>3}/{pair[1]:<3}"


def print_totals(results: list[ProjectResult]) -> None:
    compared = [r for r in results if not r.skipped]
    expected = sum(len(r.expected) for r in compared)
    matched = sum(r.matched for r in compared)
    found = sum(len(r.found) for r in compared)
    extra = sum(r.extra for r in compared)
    print(
        f"\nTOTAL {len(compared)} projects compared ({len(results) - len(compared)} skipped): {expected} manifest "
        f"edges, recall {matched / max(expected, 1):.2%} ({matched}/{expected}), "
        f"extra {extra / max(found, 1):.2%} ({extra}/{found})"
    )
    ours = [sum(r.parsed_ours[i] for r in compared) for i in (0, 1)]
    dbts = [sum(r.parsed_dbt[i] for r in compared) for i in (0, 1)]
    print(
        f"compiled SQL that sqlglot parses: ours {ours[0]}/{ours[1]} ({ours[0] / max(ours[1], 1):.1%}), "
        f"dbt's {dbts[0]}/{dbts[1]} ({dbts[0] / max(dbts[1], 1):.1%})"
    )
    largest = max(compared, key=lambda r: r.objects)
    print(
        f"speed: {largest.name} {largest.objects} objects in {largest.seconds:.2f}s = "
        f"{largest.objects / largest.seconds:,.0f} objects/s (SILVER read incl. Jinja rendering)"
    )


if __name__ == "__main__":
    main()
