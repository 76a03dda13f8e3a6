"""Who may write which field: people beat extraction, extraction (dbt's own docs) beats AI.

Every writable field of a dataset or column follows one policy for extraction and may also receive
a machine suggestion (AI enrichment, lineage propagation). The rules:

* a field listed in `human_edited_fields` is never overwritten while it holds a value; what a
  machine would have written lands in `suggested_values` for review instead;
* extraction writes its value (AUTHORITATIVE fields, e.g. the SQL), or writes it only when it has
  one (DECLARED: descriptions from schema.yml, clearing only what extraction wrote itself;
  KNOWN_ONLY: data types, never downgraded to unknown);
* a machine suggestion fills an empty field or replaces another machine's value, never a value
  dbt declared or a person wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from metadata_pipeline.catalog.models import ENTITY_SUBTYPES, ENTITY_TYPES, MEDALLION_LAYERS
from metadata_pipeline.reconcile.options import FieldValue

EXTRACTION_SOURCES = frozenset({"manifest", "dbt_sql", "sql_parsing", "catalog", "yaml"})
MACHINE_PREFIXES = ("ai:", "lineage:")


class Policy(Enum):
    IDENTITY = "identity"  # always extraction's (fqn, unique_id...): people cannot pin identities
    AUTHORITATIVE = "authoritative"
    DECLARED = "declared"
    KNOWN_ONLY = "known_only"


DATASET_POLICIES: dict[str, Policy] = {
    "fqn": Policy.IDENTITY,
    "unique_id": Policy.IDENTITY,
    "connection_id": Policy.IDENTITY,
    "name": Policy.AUTHORITATIVE,
    "resource_type": Policy.AUTHORITATIVE,
    "materialization_type": Policy.AUTHORITATIVE,
    "description": Policy.DECLARED,
    "tags": Policy.AUTHORITATIVE,
    "file_path": Policy.AUTHORITATIVE,
    "definition": Policy.AUTHORITATIVE,
    "compiled_definition": Policy.AUTHORITATIVE,
    "extraction_tier": Policy.AUTHORITATIVE,
    "confidence": Policy.AUTHORITATIVE,
    "extracted_from": Policy.AUTHORITATIVE,
    "content_hash": Policy.AUTHORITATIVE,
}
COLUMN_POLICIES: dict[str, Policy] = {
    "fqn": Policy.IDENTITY,
    "name": Policy.IDENTITY,
    "data_type": Policy.KNOWN_ONLY,
    "description": Policy.DECLARED,
    "position": Policy.AUTHORITATIVE,
    "extracted_from": Policy.AUTHORITATIVE,
    "confidence": Policy.AUTHORITATIVE,
}
# Fields whose writer is remembered in field_sources (the ones machines and people compete for).
TRACKED_FIELDS = frozenset(
    {
        "description",
        "medallion_layer",
        "entity_type",
        "entity_subtype",
        "ai_confidence_score",
        "business_name",
        "pii_category",
    }
)


def is_empty(name: str, value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    return name == "data_type" and value == "unknown"


def is_machine(source: str | None) -> bool:
    return bool(source) and str(source).startswith(MACHINE_PREFIXES)


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any
    actor: str | None  # None: the run's actor; otherwise the machine that wrote it


@dataclass
class Resolution:
    """The outcome for one entity: changed fields plus the bookkeeping JSON columns."""

    changes: list[FieldChange] = field(default_factory=list)
    field_sources: dict[str, str] = field(default_factory=dict)
    suggested_values: dict[str, Any] = field(default_factory=dict)
    suggestions_recorded: int = 0
    new_values: dict[str, Any] | None = None  # a new entity's values (set by resolve_new)

    def values(self) -> dict[str, Any]:
        if self.new_values is not None:
            return self.new_values
        return {c.field: c.new for c in self.changes}


@dataclass(frozen=True)
class EntityState:
    """The current stored values of one entity (empty for a new one)."""

    values: Mapping[str, Any]
    human_fields: frozenset[str]
    sources: Mapping[str, str]
    suggested: Mapping[str, Any]

    @classmethod
    def new(cls) -> EntityState:
        return cls({}, frozenset(), {}, {})

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> EntityState:
        return cls(
            row,
            frozenset(row.get("human_edited_fields") or ()),
            dict(row.get("field_sources") or {}),
            dict(row.get("suggested_values") or {}),
        )


def resolve(
    state: EntityState,
    extracted: Mapping[str, Any],
    policies: Mapping[str, Policy],
    extraction_source: str,
    machine: Mapping[str, FieldValue] | None = None,
) -> Resolution:
    """Merge extraction values and machine suggestions into one entity under the rules above."""
    machine = machine or {}
    out = Resolution(field_sources=dict(state.sources), suggested_values=dict(state.suggested))
    for name in sorted(set(extracted) | set(machine)):
        _resolve_field(state, out, name, extracted, policies.get(name), extraction_source, machine.get(name))
    return out


def resolve_new(
    extracted: Mapping[str, Any], extraction_source: str, machine: Mapping[str, FieldValue] | None = None
) -> Resolution:
    """`resolve` for an entity that does not exist yet: the same rules, without the per-field work
    (a first reconcile creates hundreds of thousands of columns)."""
    values = dict(extracted)
    sources = {
        n: extraction_source for n in TRACKED_FIELDS.intersection(values) if not is_empty(n, values[n])
    }
    out = Resolution(field_sources=sources, new_values=values)
    for name, suggestion in (machine or {}).items():
        if is_empty(name, values.get(name)):
            values[name] = suggestion.value
            sources[name] = suggestion.source
        elif suggestion.value != values[name]:  # dbt declared it: keep the AI's version for review
            out.suggested_values[name] = {
                "value": suggestion.value,
                "source": suggestion.source,
                "confidence": suggestion.confidence,
            }
            out.suggestions_recorded += 1
    return out


def _resolve_field(
    state: EntityState,
    out: Resolution,
    name: str,
    extracted: Mapping[str, Any],
    policy: Policy | None,
    extraction_source: str,
    suggestion: FieldValue | None,
) -> None:
    current = state.values.get(name)
    source = state.sources.get(name)
    has_ext = name in extracted and policy is not None
    ext_value = extracted.get(name) if has_ext else None
    if name in state.human_fields and policy is not Policy.IDENTITY and not is_empty(name, current):
        _record_losers(out, name, current, has_ext, ext_value, extraction_source, suggestion)
        return
    new, new_source = current, source
    if has_ext and policy is not None:
        new, new_source = _apply_extraction(name, policy, current, source, ext_value, extraction_source)
    loser: FieldValue | None = None
    if suggestion is not None:
        declared = has_ext and not is_empty(name, ext_value)
        if not declared and (is_empty(name, new) or is_machine(new_source)):
            new, new_source = suggestion.value, suggestion.source
        else:
            loser = suggestion  # dbt's (or an unknown writer's) value stands; keep the AI's for review
    if new != current:
        actor = new_source if is_machine(new_source) else None
        out.changes.append(FieldChange(name, current, new, actor))
    if name in TRACKED_FIELDS:
        _set_source(out.field_sources, name, None if is_empty(name, new) else new_source)
    _record_losers(out, name, new, False, None, extraction_source, loser)


def _apply_extraction(
    name: str, policy: Policy, current: Any, source: str | None, value: Any, extraction_source: str
) -> tuple[Any, str | None]:
    if policy in (Policy.IDENTITY, Policy.AUTHORITATIVE) or not is_empty(name, value):
        return value, extraction_source
    if policy is Policy.DECLARED and (source in EXTRACTION_SOURCES):
        return None, None  # dbt's description was removed: so is ours (a machine may fill it later)
    return current, source  # KNOWN_ONLY, or a value someone else wrote


def _record_losers(
    out: Resolution,
    name: str,
    kept: Any,
    has_ext: bool,
    ext_value: Any,
    extraction_source: str,
    suggestion: FieldValue | None,
) -> None:
    """Keep the best losing value in suggested_values; drop entries the kept value has caught up with."""
    entry: dict[str, Any] | None = None
    if has_ext and not is_empty(name, ext_value) and ext_value != kept:
        entry = {"value": ext_value, "source": extraction_source}
    elif suggestion is not None and not is_empty(name, suggestion.value) and suggestion.value != kept:
        entry = {"value": suggestion.value, "source": suggestion.source, "confidence": suggestion.confidence}
    previous = out.suggested_values.get(name)
    if entry is not None:
        if previous != entry:
            out.suggested_values[name] = entry
            out.suggestions_recorded += 1
    elif previous is not None and _stale(previous, kept, has_ext):
        del out.suggested_values[name]


def _stale(previous: Any, kept: Any, extraction_ran: bool) -> bool:
    value = previous.get("value") if isinstance(previous, dict) else previous
    source = previous.get("source") if isinstance(previous, dict) else None
    # Drop when it no longer differs, or when extraction ran and no longer proposes it.
    return value == kept or (extraction_ran and source in EXTRACTION_SOURCES)


def _set_source(sources: dict[str, str], name: str, source: str | None) -> None:
    if source is None:
        sources.pop(name, None)
    else:
        sources[name] = source


def validate_suggestion(name: str, value: Any) -> bool:
    """Whether a machine value fits the catalog's constraints (bad values are dropped, not stored)."""
    checks: dict[str, Any] = {
        "medallion_layer": lambda v: v in MEDALLION_LAYERS,
        "entity_type": lambda v: v in ENTITY_TYPES,
        "entity_subtype": lambda v: v in ENTITY_SUBTYPES,
        "ai_confidence_score": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100,
        "business_name": lambda v: isinstance(v, str) and len(v) <= 255,
        "pii_category": lambda v: isinstance(v, str) and len(v) <= 32,
        "description": lambda v: isinstance(v, str),
    }
    check = checks.get(name)
    return value is None or (check is not None and bool(check(value)))
