"""Lineage first: carry documented descriptions down Direct (pass-through / rename) column edges
and cast-only Transform edges (a cast changes the type, not what the value means).

As dbt Cloud does for reused columns: `customer_id` selected unchanged from a documented staging model
means the same thing downstream, so it needs no model call. Datasets are visited parents first so a
description travels any number of hops in one pass. Only those edges qualify; any other Transform
or an aggregate changes the meaning, and those columns are left to a provider (with the upstream text as
context). A column fed by several documented upstreams that disagree is ambiguous and also left alone.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from metadata_pipeline.enrich.context import (
    DatasetView,
    HumanDescriptions,
    HumanGuard,
    build_views,
    dependency_order,
    split_ref,
)
from metadata_pipeline.enrich.models import ColumnEnrichment, FieldKey, lineage_source
from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.lineage.edges import ColumnEdge

# A copied description is as good as its origin, but each hop is one more chance that a rename hid a
# change of meaning, hence a small decay with a floor.
FIRST_HOP_CONFIDENCE = 90
PER_HOP_DECAY = 5
MIN_CONFIDENCE = 70


@dataclass(frozen=True)
class Propagated:
    text: str
    origin: str  # "unique_id.column" where a person wrote the text
    hops: int

    @property
    def confidence(self) -> int:
        return max(MIN_CONFIDENCE, FIRST_HOP_CONFIDENCE - PER_HOP_DECAY * (self.hops - 1))

    def as_enrichment(self, column: str) -> ColumnEnrichment:
        return ColumnEnrichment(
            name=column,
            description=self.text,
            confidence=self.confidence,
            extracted_from=lineage_source(self.origin),
        )


def direct_sources(edges: Iterable[ColumnEdge]) -> dict[str, list[str]]:
    """target ref (lower-cased column) -> the source refs whose meaning it keeps."""
    sources: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        if edge.lineage_type == "direct" and edge.source and keeps_meaning(edge):
            sources[_key(edge.target)].append(edge.source)
    return sources


def keeps_meaning(edge: ColumnEdge) -> bool:
    """A copy (Direct) or a cast of one column (`CAST(amount AS DECIMAL(10, 2))`)."""
    if edge.mapping_type == "Direct":
        return True
    return edge.mapping_type == "Transform" and _is_cast_of_a_column(edge.transformation or "")


@functools.lru_cache(maxsize=4096)
def _is_cast_of_a_column(transformation: str) -> bool:
    if "CAST" not in transformation.upper():
        return False
    try:
        node = sqlglot.parse_one(transformation)
    except SqlglotError:
        return False
    while isinstance(node, (exp.Paren, exp.Cast)):
        node = node.this  # (TryCast is a Cast)
    return isinstance(node, exp.Column)


def _key(ref: str) -> str:
    model, column = split_ref(ref)
    return f"{model}.{column.lower()}"


def propagate(
    views: Mapping[str, DatasetView], edges: Iterable[ColumnEdge], order: Iterable[str]
) -> dict[FieldKey, Propagated]:
    """Descriptions for undocumented, unprotected columns reachable by Direct edges from documented ones."""
    edges = list(edges)
    sources = direct_sources(edges)
    known: dict[str, Propagated] = _documented(views)
    result: dict[FieldKey, Propagated] = {}
    for uid in order:
        for column in views[uid].columns:
            if column.human:
                continue
            found = _from_sources(sources.get(_key(f"{uid}.{column.name}"), []), known)
            if found is not None:
                known[_key(f"{uid}.{column.name}")] = found
                result[(uid, column.name)] = found
    return result


def _documented(views: Mapping[str, DatasetView]) -> dict[str, Propagated]:
    return {
        _key(f"{uid}.{c.name}"): Propagated(c.human_description, f"{uid}.{c.name}", 0)
        for uid, view in views.items()
        for c in view.columns
        if c.human_description
    }


def _from_sources(refs: list[str], known: Mapping[str, Propagated]) -> Propagated | None:
    candidates = [known[_key(ref)] for ref in refs if _key(ref) in known]
    texts = {c.text for c in candidates}
    if len(texts) != 1:  # nothing known, or upstreams disagree
        return None
    best = min(candidates, key=lambda c: (c.hops, c.origin))
    return Propagated(best.text, best.origin, best.hops + 1)


def propagate_descriptions(
    extraction: Extraction,
    edges: Iterable[ColumnEdge],
    human_descriptions: HumanDescriptions | None = None,
) -> dict[FieldKey, ColumnEnrichment]:
    """Convenience entry point: propagated column descriptions for a whole extraction."""
    edges = list(edges)
    views = build_views(extraction, edges, HumanGuard(human_descriptions))
    found = propagate(views, edges, dependency_order(views, edges))
    return {key: p.as_enrichment(key[1] or "") for key, p in found.items()}
