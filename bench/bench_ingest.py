"""GOLD manifest reading over the corpus: exact edges, speed and memory. Prints figures; asserts nothing.

For every corpus project: read its manifest with the streaming reader, compare the dependencies of
models, snapshots and seeds with the manifest's own `depends_on.nodes` (read with json.load), and
attach the catalog. Then time the largest manifest, and measure peak memory in a fresh subprocess
for the largest manifest and for a synthetic ~100 MB one (the largest manifest's nodes repeated),
next to what json.load alone needs for the same file.

    .venv/bin/python bench/bench_ingest.py [--corpus DIR] [--synthetic-mb 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from metadata_pipeline.ingest import ManifestError, attach_catalog, read_manifest

DEFAULT_CORPUS = Path("/work/shared/corpus")
EDGE_TYPES = ("model", "snapshot", "seed")
Edge = tuple[str, str]

# Run in a fresh interpreter and read VmHWM (peak resident memory of this process image): unlike
# ru_maxrss, it is not inherited from the parent across fork/exec.
_MEMORY_PROBE = """
import json, sys
from pathlib import Path

def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

mode, path = sys.argv[1], Path(sys.argv[2])
import metadata_pipeline.ingest.manifest_reader as reader
before = peak_kb()
if mode == "reader":
    extraction = reader.read_manifest(path)
    count = len(extraction.objects)
else:
    with open(path, "rb") as handle:
        count = len(json.load(handle)["nodes"])
print(json.dumps({"baseline_kb": before, "peak_kb": peak_kb(), "count": count}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--synthetic-mb", type=int, default=100)
    args = parser.parse_args()
    projects = sorted((args.corpus / "projects").glob("*/_corpus_meta.json"))
    total_expected = total_found = total_matched = 0
    largest: tuple[int, Path] = (0, Path())
    print("project                                               version  objects  edges  result       read")
    for meta_path in projects:
        meta = json.loads(meta_path.read_text())
        manifest_path = meta_path.parent / meta["manifest_path"]
        expected = manifest_edges(json.loads(manifest_path.read_text()))
        started = time.perf_counter()
        try:
            extraction = read_manifest(manifest_path)
        except ManifestError as exc:
            print(f"{meta_path.parent.name:<52}  refused: {exc}")
            total_expected += len(expected)
            continue
        seconds = time.perf_counter() - started
        found = {
            (d.source, d.target) for d in extraction.dependencies if d.source.split(".")[0] in EDGE_TYPES
        }
        catalog = meta.get("catalog_path")
        matched_catalog = attach_catalog(extraction, meta_path.parent / catalog) if catalog else 0
        total_expected, total_found = total_expected + len(expected), total_found + len(found)
        total_matched += len(expected & found)
        status = "match" if found == expected else f"DIFF -{len(expected - found)} +{len(found - expected)}"
        print(
            f"{meta_path.parent.name:<52}  v{extraction.manifest_schema_version:<6} {len(extraction.objects):>7}  "
            f"{len(expected):>5}  {status:<11} {seconds * 1000:6.1f} ms  (catalog matched {matched_catalog})"
        )
        largest = max(largest, (manifest_path.stat().st_size, manifest_path))
    print(
        f"\nTOTAL edges: manifest {total_expected}, ours {total_found}, identical {total_matched} "
        f"({'all match' if total_matched == total_expected == total_found else 'MISMATCH'})"
    )
    speed(largest[1])
    memory(largest[1], "largest corpus manifest")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        synthetic = synthetic_manifest(largest[1], Path(tmp) / "manifest.json", args.synthetic_mb)
        speed(synthetic)
        memory(synthetic, "synthetic manifest")


def manifest_edges(manifest: dict[str, Any]) -> set[Edge]:
    return {
        (unique_id, target)
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") in EDGE_TYPES
        for target in (node.get("depends_on") or {}).get("nodes") or []
    }


def speed(path: Path, repeats: int = 3) -> None:
    best = float("inf")
    objects = 0
    for _ in range(repeats):
        started = time.perf_counter()
        objects = len(read_manifest(path).objects)
        best = min(best, time.perf_counter() - started)
    size_mb = path.stat().st_size / 1e6
    print(
        f"speed: {path.name} ({size_mb:.1f} MB, {objects} objects) read in {best:.3f}s = "
        f"{objects / best:,.0f} objects/s, {size_mb / best:.1f} MB/s (best of {repeats})"
    )


def memory(path: Path, label: str) -> None:
    size_mb = path.stat().st_size / 1e6
    figures = {mode: _probe(mode, path) for mode in ("reader", "json.load")}
    for mode, result in figures.items():
        grown_mb = (result["peak_kb"] - result["baseline_kb"]) / 1024
        print(
            f"memory ({label}, {size_mb:.1f} MB) {mode:>9}: peak RSS {result['peak_kb'] / 1024:.0f} MB, "
            f"+{grown_mb:.0f} MB over the interpreter = {grown_mb / size_mb:.2f}x the file"
        )


def _probe(mode: str, path: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, mode, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def synthetic_manifest(source: Path, target: Path, megabytes: int) -> Path:
    """The source manifest with its nodes repeated (ids suffixed) until it reaches `megabytes`."""
    document = json.loads(source.read_text())
    nodes = document["nodes"]
    copies = max(1, round(megabytes * 1e6 / source.stat().st_size))
    document["nodes"] = {
        f"{unique_id}_{copy}": _renamed(node, copy)
        for copy in range(copies)
        for unique_id, node in nodes.items()
    }
    target.write_text(json.dumps(document))
    return target


def _renamed(node: dict[str, Any], copy: int) -> dict[str, Any]:
    renamed = dict(node)
    renamed["unique_id"] = f"{node['unique_id']}_{copy}"
    depends_on = dict(node.get("depends_on") or {})
    depends_on["nodes"] = [f"{n}_{copy}" for n in depends_on.get("nodes") or []]
    renamed["depends_on"] = depends_on
    return renamed


if __name__ == "__main__":
    main()
