"""Enrichment cost and cache effectiveness: calls per 100 datasets cold and warm (target warm = 0).

Usage: python bench/bench_enrich.py [--datasets 100] [--corpus PROJECT] [--concurrency 4] [--latency-ms 50]

Runs the OpenAI provider (the real `openai` client) against the tests' local fake chat-completions
server, twice with one on-disk cache: cold, then warm. `--corpus tuva-health__tuva` reads a project's
manifest (and catalog) from /work/shared/corpus instead of generating synthetic datasets; corpus runs
have no column edges, so nothing is propagated. Also times the offline provider on the same input.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metadata_pipeline.enrich import (  # noqa: E402
    EnrichmentCache,
    EnrichmentResult,
    OfflineEnricher,
    OpenAIConfig,
    OpenAIEnricher,
    enrich_extraction,
)
from metadata_pipeline.enrich.context import is_enrichable  # noqa: E402
from metadata_pipeline.ingest.extraction import Extraction  # noqa: E402
from metadata_pipeline.lineage.edges import ColumnEdge  # noqa: E402
from metadata_pipeline_tests.enrich.fake_openai import FakeOpenAI  # noqa: E402
from metadata_pipeline_tests.enrich.synthetic import synthetic_project  # noqa: E402

CORPUS = Path("/work/shared/corpus/projects")
KEY_ENV = "BENCH_FAKE_OPENAI_KEY"


def load_corpus(name: str) -> tuple[Extraction, list[ColumnEdge]]:
    from metadata_pipeline.ingest.catalog_reader import attach_catalog
    from metadata_pipeline.ingest.manifest_reader import read_manifest

    root = CORPUS / name
    meta = json.loads((root / "_corpus_meta.json").read_text())
    extraction = read_manifest(root / meta["manifest_path"])
    if meta.get("catalog_path") and (root / meta["catalog_path"]).exists():
        attach_catalog(extraction, root / meta["catalog_path"])
    return extraction, []


def report(label: str, result: EnrichmentResult, n: int, server: FakeOpenAI) -> None:
    s = result.stats
    per_100 = 100 * s.calls / n if n else 0.0
    # The fake bills a fixed 120 + 60 tokens per answer; the prompt's size says what a real one would.
    prompt_chars = sum(len(json.dumps(c.body["messages"])) for c in server.calls)
    print(
        f"{label:>5}: {s.calls:4d} calls ({per_100:5.1f} per 100 datasets), {len(server.calls):4d} HTTP requests, "
        f"{s.cache_hits:4d} cache hits, {s.documented:3d} documented (no call), {s.propagated:4d} propagated "
        f"columns, billed tokens {s.prompt_tokens}+{s.completion_tokens} (~{prompt_chars // 4} prompt tokens "
        f"by size), est. ${s.estimated_cost_usd:.4f}, skipped {s.skipped}, {s.elapsed_s:.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=100)
    parser.add_argument("--corpus", help="a project directory name under /work/shared/corpus/projects")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="simulated model latency per request")
    args = parser.parse_args()

    extraction, edges = load_corpus(args.corpus) if args.corpus else synthetic_project(args.datasets)
    n = sum(1 for o in extraction.objects if is_enrichable(o))
    print(f"input: {args.corpus or 'synthetic'}, {n} enrichable datasets, {len(edges)} column edges")

    server = FakeOpenAI()
    server.start()
    try:
        config = OpenAIConfig(base_url=server.base_url, api_key_env=KEY_ENV, concurrency=args.concurrency)
        provider = OpenAIEnricher(config, env={KEY_ENV: "sk-bench"})
        with tempfile.TemporaryDirectory() as cache_dir:
            for label in ("cold", "warm"):
                server.reset()
                server.latency_s = args.latency_ms / 1000
                result = enrich_extraction(
                    extraction, edges, enricher=provider, cache=EnrichmentCache(cache_dir)
                )
                report(label, result, n, server)
    finally:
        server.stop()

    started = time.monotonic()
    offline = enrich_extraction(
        extraction, edges, enricher=OfflineEnricher(), cache=EnrichmentCache.in_memory()
    )
    print(
        f"offline provider: {len(offline.datasets)} datasets, {len(offline.columns)} columns described in "
        f"{time.monotonic() - started:.2f}s"
    )


if __name__ == "__main__":
    main()
