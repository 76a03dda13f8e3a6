"""The boundary types of enrichment: what a provider is asked and what it answers.

Pydantic models because these cross two boundaries: they are serialised into the prompt (and the cache
key), and a provider's answer is validated into them. The vocabularies come from seed 000 (section 3.4,
dataset classification hierarchy) so the catalog can store them without translation.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from metadata_pipeline.vocabulary import (
    EntitySubtype,
    EntityType,
    MedallionLayer,
)

# A closed list so the catalog can filter on it; "other" catches sensitive data outside the named kinds
# (health, biometrics, free text about a person...) rather than forcing a wrong label.
PiiCategory = Literal[
    "none",
    "email",
    "phone",
    "name",
    "address",
    "ip",
    "financial",
    "government_id",
    "date_of_birth",
    "other",
]

PII_CATEGORIES: tuple[str, ...] = get_args(PiiCategory)

# Which subtypes belong under which entity type (seed 000's hierarchy); anything else is dropped.
SUBTYPES_BY_ENTITY_TYPE: dict[str, frozenset[str]] = {
    "DataMart": frozenset({"Dimension", "Fact"}),
    "DataVault": frozenset({"Hub", "Link", "Satellite", "LinkSatellite", "PIT", "Bridge"}),
}

# The dbt resource types that are datasets worth describing.
ENRICHABLE_RESOURCE_TYPES: frozenset[str] = frozenset({"model", "seed", "snapshot", "source"})

FieldKey = tuple[str, str | None]
"""(unique_id, column name) for a column description, (unique_id, None) for a dataset description."""

Confidence = int  # 0-100, the catalog's ai_confidence_score


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UpstreamColumn(_Frozen):
    """A column this one is computed from, with what is known about it."""

    ref: str  # "unique_id.column"
    mapping_type: str  # Direct | Transform | Derived | Calculated
    description: str | None = None
    transformation: str | None = None


class ColumnRequest(_Frozen):
    name: str
    data_type: str | None = None
    # An existing description (a person's, or one propagated along lineage). When `locked`, a provider
    # may use it as context but whatever it says about this description is ignored.
    description: str | None = None
    locked: bool = False
    upstream: tuple[UpstreamColumn, ...] = ()


class DatasetRequest(_Frozen):
    """Everything a provider may look at for one dataset; also the content of its cache key."""

    unique_id: str
    name: str
    resource_type: str
    materialization: str | None = None
    path: str | None = None
    schema_name: str | None = None
    source_name: str | None = None  # sources only: the `source('x', ...)` name
    tags: tuple[str, ...] = ()
    adapter_type: str | None = None
    sql: str | None = None  # compiled SQL when known, else raw (Jinja) SQL, truncated; None for sources
    sql_kind: Literal["compiled", "raw"] | None = None
    description: str | None = None
    description_locked: bool = False
    columns: tuple[ColumnRequest, ...] = ()
    upstream_datasets: tuple[str, ...] = ()  # a sample of parent names, for context

    @property
    def needs_descriptions(self) -> bool:
        """True when something here is still undocumented (dataset or any column)."""
        return not self.description_locked or any(not c.locked for c in self.columns)


class TokenUsage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # None when the model's price is unknown

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        costs = [c for c in (self.cost_usd, other.cost_usd) if c is not None]
        cost = sum(costs) if costs else None
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=cost,
        )


class ColumnEnrichment(_Frozen):
    name: str
    # None means "leave the existing description alone" (a person wrote it).
    description: str | None = None
    business_name: str | None = None
    pii_category: PiiCategory = "none"
    confidence: Confidence = Field(ge=0, le=100)
    # Provenance of `description`: "ai:<provider>:<model>" or "lineage:<unique_id.column>", so reconcile
    # can tell machine text from a person's.
    extracted_from: str
    # Provenance of business_name / pii_category, which may differ (a lineage description plus an AI PII
    # label); None when nothing but the description was produced.
    classified_by: str | None = None


class DatasetEnrichment(_Frozen):
    unique_id: str
    description: str | None = None  # None: a person's description stands
    medallion_layer: MedallionLayer | None = None
    entity_type: EntityType | None = None
    entity_subtype: EntitySubtype | None = None
    confidence: Confidence = Field(ge=0, le=100)
    columns: tuple[ColumnEnrichment, ...] = ()
    usage: TokenUsage = TokenUsage()
    extracted_from: str


def ai_source(provider_name: str, model_name: str) -> str:
    """The `extracted_from` marker for text a provider wrote."""
    return f"ai:{provider_name}:{model_name}"


def lineage_source(upstream_ref: str) -> str:
    return f"lineage:{upstream_ref}"


def consistent_subtype(entity_type: str | None, subtype: str | None) -> str | None:
    """The subtype if the hierarchy allows it under `entity_type`, else None."""
    if subtype is None or entity_type is None:
        return None
    return subtype if subtype in SUBTYPES_BY_ENTITY_TYPE.get(entity_type, frozenset()) else None
