"""The provider used when no API key is configured: conventions, SQL and lineage, no network.

Deterministic (same request, same answer) and honest about it: confidences between 20 and 55. For each
column, in order: what the SQL computes (`sum(amount)` -> "Total amount"), naming conventions
(`*_id`, `*_at`, `is_*`, `email`...), the description of the single upstream column it is derived from,
and finally a humanised name with its type.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp

from metadata_pipeline.enrich.enricher import Enricher
from metadata_pipeline.enrich.models import (
    ColumnEnrichment,
    ColumnRequest,
    DatasetEnrichment,
    DatasetRequest,
    TokenUsage,
    consistent_subtype,
)
from metadata_pipeline.enrich.naming import business_name
from metadata_pipeline.enrich.offline_rules import (
    ColumnGuess,
    classify,
    describe_dataset,
    fallback_column,
    guess_column,
    pii_of,
)
from metadata_pipeline.enrich.sql_hints import describe_expression, projections

HEURISTICS_VERSION = "heuristics-v1"
SQL_CONFIDENCE = 45
LINEAGE_CONFIDENCE = 35


class OfflineEnricher(Enricher):
    @property
    def provider_name(self) -> str:
        return "offline"

    @property
    def model_name(self) -> str:
        return HEURISTICS_VERSION

    @property
    def prompt_version(self) -> str:
        return HEURISTICS_VERSION

    def enrich_dataset(self, request: DatasetRequest) -> DatasetEnrichment:
        cls = classify(request)
        exprs = projections(request.sql, request.adapter_type) if request.sql_kind == "compiled" else {}
        columns = tuple(self._column(c, request, exprs) for c in request.columns)
        return DatasetEnrichment(
            unique_id=request.unique_id,
            description=None if request.description_locked else describe_dataset(request, cls),
            medallion_layer=cls.medallion_layer,  # type: ignore[arg-type]
            entity_type=cls.entity_type,  # type: ignore[arg-type]
            entity_subtype=consistent_subtype(cls.entity_type, cls.entity_subtype),  # type: ignore[arg-type]
            confidence=cls.confidence,
            columns=columns,
            usage=TokenUsage(prompt_tokens=0, completion_tokens=0, cost_usd=0.0),
            extracted_from=self.source,
        )

    def _column(self, column: ColumnRequest, request: DatasetRequest, exprs: Mapping[str, exp.Expression]) -> ColumnEnrichment:
        guess = _guess(column, request, exprs)
        return ColumnEnrichment(
            name=column.name,
            description=None if column.locked else guess.description,
            business_name=business_name(column.name),
            pii_category=guess.pii,
            confidence=guess.confidence,
            extracted_from=self.source,
            classified_by=self.source,
        )


def _guess(column: ColumnRequest, request: DatasetRequest, exprs: Mapping[str, exp.Expression]) -> ColumnGuess:
    expression = exprs.get(column.name.lower())
    from_sql = describe_expression(expression) if expression is not None else None
    if from_sql:
        return ColumnGuess(f"{from_sql}.", pii_of(column.name, request.name), SQL_CONFIDENCE)
    by_name = guess_column(column, request)
    if by_name:
        return by_name
    from_lineage = _from_upstream(column)
    if from_lineage:
        return ColumnGuess(from_lineage, pii_of(column.name, request.name), LINEAGE_CONFIDENCE)
    return fallback_column(column, request)


def _from_upstream(column: ColumnRequest) -> str | None:
    described = [u for u in column.upstream if u.description]
    if len(described) != 1:
        return None
    upstream = described[0]
    source = upstream.ref.rpartition(".")[2]
    return f"Derived from {source}: {upstream.description.rstrip('.')}."  # type: ignore[union-attr]
