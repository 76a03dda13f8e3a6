"""The prompt, the strict answer schema, and the validation of what comes back.

Kept apart from the OpenAI client so any chat-completions-compatible provider (and the tests' fake
server) shares one definition. Bump PROMPT_VERSION whenever the prompt or schema changes: it is part of
every cache key, so a changed prompt re-enriches instead of serving answers to an older question.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metadata_pipeline.enrich.enricher import InvalidAnswer
from metadata_pipeline.enrich.models import (
    PII_CATEGORIES,
    ColumnEnrichment,
    DatasetEnrichment,
    DatasetRequest,
    PiiCategory,
    TokenUsage,
    consistent_subtype,
)
from metadata_pipeline.vocabulary import (
    ENTITY_SUBTYPES,
    ENTITY_TYPES,
    MEDALLION_LAYERS,
    EntitySubtype,
    EntityType,
    MedallionLayer,
)

PROMPT_VERSION = "enrich-prompt-v1"
SCHEMA_NAME = "dataset_enrichment"

SYSTEM_PROMPT = f"""You document datasets of a dbt project for a data catalog.
You receive one dataset as JSON: its dbt resource type, materialization, path, SQL (possibly truncated),
existing description, columns (name, type, existing description, upstream columns with their
descriptions and transformations) and the names of some upstream datasets.

Answer with JSON matching the schema:
- description: 1-2 sentences on what one row represents and what the dataset is for. Say only what the
  SQL, names and upstream descriptions support; do not invent business rules.
- medallion_layer: one of {", ".join(MEDALLION_LAYERS)} (Raw = tables as landed by ingestion, i.e. dbt
  sources; Bronze = raw data kept by the project with little change: seeds, snapshots, persistent
  staging; Silver = cleansed/conformed: staging and intermediate models; Gold = business-ready marts).
- entity_type: one of {", ".join(ENTITY_TYPES)}; entity_subtype: for DataMart one of Dimension, Fact;
  for DataVault one of Hub, Link, Satellite, LinkSatellite, PIT, Bridge; otherwise null.
- confidence: 0-100, how well the evidence supports your answer (names only: low; SQL and upstream
  descriptions: higher).
- columns: one entry per input column, same names. description: one sentence; return null when the
  column is "locked" (it already has a description that must be kept). business_name: a short title-case
  label. pii_category: one of {", ".join(PII_CATEGORIES)} (none when the column holds no personal data).
  confidence: 0-100.
"""


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # The anyOf form is what the openai SDK's own strict-schema helper emits for Optional fields.
    return {"anyOf": [schema, {"type": "null"}]}


def _column_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "description", "business_name", "pii_category", "confidence"],
        "properties": {
            "name": {"type": "string"},
            "description": _nullable({"type": "string"}),
            "business_name": _nullable({"type": "string"}),
            "pii_category": {"type": "string", "enum": list(PII_CATEGORIES)},
            "confidence": {"type": "integer", "description": "0-100"},
        },
    }


def answer_schema() -> dict[str, Any]:
    """The strict JSON schema of an answer (every property required, no extras, enums closed)."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["description", "medallion_layer", "entity_type", "entity_subtype", "confidence", "columns"],
        "properties": {
            "description": {"type": "string"},
            "medallion_layer": {"type": "string", "enum": list(MEDALLION_LAYERS)},
            "entity_type": {"type": "string", "enum": list(ENTITY_TYPES)},
            "entity_subtype": _nullable({"type": "string", "enum": list(ENTITY_SUBTYPES)}),
            "confidence": {"type": "integer", "description": "0-100"},
            "columns": {"type": "array", "items": _column_schema()},
        },
    }


def response_format() -> dict[str, Any]:
    """The `response_format` argument of chat.completions.create for structured output."""
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": answer_schema()},
    }


def user_message(request: DatasetRequest) -> str:
    """The dataset as compact JSON; defaults and empties are dropped to save tokens."""
    payload = request.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    payload["unique_id"] = request.unique_id  # always present: the answer is matched to it
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def messages(request: DatasetRequest) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user_message(request)},
    ]


# The answer is validated twice over: the server enforces the schema in strict mode, and we do not trust
# that (compatible servers and older models ignore it), so the same rules are checked here.
class _ColumnAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None
    business_name: str | None
    pii_category: PiiCategory
    confidence: int = Field(ge=0, le=100)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    medallion_layer: MedallionLayer
    entity_type: EntityType
    entity_subtype: EntitySubtype | None
    confidence: int = Field(ge=0, le=100)
    columns: list[_ColumnAnswer]


def parse_answer(
    content: str | None, request: DatasetRequest, *, source: str, usage: TokenUsage
) -> DatasetEnrichment:
    """Validate a provider's answer for `request`; raise InvalidAnswer naming the dataset otherwise."""
    answer = _validated(content, request.unique_id)
    wanted = {c.name.lower(): c.name for c in request.columns}
    columns = [
        ColumnEnrichment(
            name=wanted[col.name.lower()],
            description=_text(col.description),
            business_name=_text(col.business_name),
            pii_category=col.pii_category,
            confidence=col.confidence,
            extracted_from=source,
            classified_by=source,
        )
        for col in _first_per_name(answer.columns)
        if col.name.lower() in wanted  # columns the model made up are dropped
    ]
    return DatasetEnrichment(
        unique_id=request.unique_id,
        description=_text(answer.description),
        medallion_layer=answer.medallion_layer,
        entity_type=answer.entity_type,
        entity_subtype=consistent_subtype(answer.entity_type, answer.entity_subtype),  # type: ignore[arg-type]
        confidence=answer.confidence,
        columns=tuple(columns),
        usage=usage,
        extracted_from=source,
    )


def _validated(content: str | None, unique_id: str) -> _Answer:
    if not content or not content.strip():
        raise InvalidAnswer(f"{unique_id}: empty answer")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"{unique_id}: answer is not valid JSON ({exc.msg} at char {exc.pos})") from None
    try:
        return _Answer.model_validate(data)
    except ValidationError as exc:
        raise InvalidAnswer(f"{unique_id}: answer does not match the schema ({_summary(exc)})") from None


def _summary(exc: ValidationError, limit: int = 3) -> str:
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:limit]]
    more = f"; +{len(errors) - limit} more" if len(errors) > limit else ""
    return "; ".join(parts) + more


def _first_per_name(columns: list[_ColumnAnswer]) -> list[_ColumnAnswer]:
    seen: set[str] = set()
    unique = []
    for col in columns:
        if col.name.lower() not in seen:
            seen.add(col.name.lower())
            unique.append(col)
    return unique


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None
