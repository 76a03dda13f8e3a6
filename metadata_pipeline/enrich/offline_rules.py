"""Rules the offline provider applies: classification from naming conventions, descriptions from names.

Everything here is a guess from conventions (dbt's stg_/int_/fct_/dim_ style guide, Data Vault prefixes,
`*_id`/`*_at`/`is_*` column habits), so confidences stay low: 45 for a recognised convention, 35 for a
folder hint, 20 for a bare fallback. A person or a model should do better; this makes sure nothing is
left blank when no API key is configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metadata_pipeline.enrich.models import ColumnRequest, DatasetRequest, PiiCategory
from metadata_pipeline.enrich.naming import entity_phrase, entity_singular, humanize, split_model_name, words

CONVENTION_CONFIDENCE = 45
FOLDER_CONFIDENCE = 35
FALLBACK_CONFIDENCE = 20


@dataclass(frozen=True)
class Classification:
    medallion_layer: str
    entity_type: str
    entity_subtype: str | None
    confidence: int
    kind: str  # how the description names the dataset: "Staging model", "Fact table"...


_PREFIX_RULES: dict[str, Classification] = {}


def _rule(prefixes: tuple[str, ...], layer: str, etype: str, subtype: str | None, kind: str) -> None:
    for prefix in prefixes:
        _PREFIX_RULES[prefix] = Classification(layer, etype, subtype, CONVENTION_CONFIDENCE, kind)


_rule(("stg", "staging", "base", "src"), "Silver", "Staging", None, "Staging model")
_rule(("int", "intermediate"), "Silver", "Table", None, "Intermediate model")
_rule(("fct", "fact", "facts"), "Gold", "DataMart", "Fact", "Fact table")
_rule(("dim", "dimension"), "Gold", "DataMart", "Dimension", "Dimension table")
_rule(("mart", "mrt", "rpt", "report", "agg", "obt"), "Gold", "DataMart", None, "Mart")
_rule(("hub",), "Silver", "DataVault", "Hub", "Data Vault hub")
_rule(("lnk", "link"), "Silver", "DataVault", "Link", "Data Vault link")
_rule(("sat",), "Silver", "DataVault", "Satellite", "Data Vault satellite")
_rule(("lsat",), "Silver", "DataVault", "LinkSatellite", "Data Vault link satellite")
_rule(("pit",), "Silver", "DataVault", "PIT", "Data Vault point-in-time table")
_rule(("bridge", "brg"), "Silver", "DataVault", "Bridge", "Data Vault bridge")
_rule(("psa",), "Bronze", "PersistentStaging", None, "Persistent staging table")
_rule(("raw",), "Raw", "Table", None, "Raw table")

# Folder (or schema) names dbt projects commonly use, checked when the name has no known prefix.
_FOLDER_RULES: dict[str, tuple[str, str, str | None, str]] = {
    "staging": ("Silver", "Staging", None, "Staging model"),
    "intermediate": ("Silver", "Table", None, "Intermediate model"),
    "marts": ("Gold", "DataMart", None, "Mart"),
    "mart": ("Gold", "DataMart", None, "Mart"),
    "reporting": ("Gold", "DataMart", None, "Reporting model"),
    "vault": ("Silver", "DataVault", None, "Data Vault model"),
    "raw_vault": ("Silver", "DataVault", None, "Data Vault model"),
    "persistent_staging": ("Bronze", "PersistentStaging", None, "Persistent staging table"),
}


def classify(request: DatasetRequest) -> Classification:
    by_type = {
        "source": Classification("Raw", "Table", None, CONVENTION_CONFIDENCE, "Source table"),
        "seed": Classification("Bronze", "Table", None, CONVENTION_CONFIDENCE, "Seed"),
        # A snapshot keeps every version of its source rows: persistent staging in medallion terms.
        "snapshot": Classification("Bronze", "PersistentStaging", None, 40, "Snapshot"),
    }
    if request.resource_type in by_type:
        return by_type[request.resource_type]
    prefix, _, _ = split_model_name(request.name)
    if prefix in _PREFIX_RULES:
        return _PREFIX_RULES[prefix]
    for hint in _folder_hints(request):
        if hint in _FOLDER_RULES:
            layer, etype, subtype, kind = _FOLDER_RULES[hint]
            return Classification(layer, etype, subtype, FOLDER_CONFIDENCE, kind)
    return Classification("Silver", "Table", None, FALLBACK_CONFIDENCE, "Model")


def _folder_hints(request: DatasetRequest) -> list[str]:
    folders = [p.lower() for p in re.split(r"[\\/]", request.path or "")[:-1]]
    return [*reversed(folders), (request.schema_name or "").lower()]


def describe_dataset(request: DatasetRequest, cls: Classification) -> str:
    entity = entity_phrase(request.name)
    first = _first_sentence(request, cls, entity)
    parents = list(request.upstream_datasets)
    built = f" Built from {', '.join(parents[:4])}{' and others' if len(parents) > 4 else ''}." if parents else ""
    return first + built + _sql_note(request.sql)


def _first_sentence(request: DatasetRequest, cls: Classification, entity: str) -> str:
    _, source, _ = split_model_name(request.name)
    if request.resource_type == "source":
        origin = f" of the {request.source_name} source" if request.source_name else ""
        return f"Source table {request.name}{origin}, as loaded into the warehouse."
    if request.resource_type == "seed":
        return f"Seed data for {entity}, loaded from a CSV file in the dbt project."
    if request.resource_type == "snapshot":
        return f"Snapshot keeping the change history (SCD type 2) of {entity}."
    if cls.entity_type == "Staging":
        origin = f" from the {source} source" if source else ""
        return f"Staging model preparing {entity} data{origin} for downstream models."
    if cls.entity_subtype == "Fact":
        return f"Fact table of {entity}, one row per {entity_singular(request.name)}."
    if cls.entity_subtype == "Dimension":
        return f"Dimension table describing {entity}."
    return f"{cls.kind} of {entity}."


def _sql_note(sql: str | None) -> str:
    if not sql:
        return ""
    lowered = sql.lower()
    if re.search(r"\bgroup\s+by\b", lowered):
        return " Aggregates its inputs (GROUP BY)."
    if re.search(r"\bunion\b", lowered):
        return " Combines several inputs (UNION)."
    return ""


@dataclass(frozen=True)
class ColumnGuess:
    description: str
    pii: PiiCategory
    confidence: int


# (words that must all appear, pii category). Checked on the column's words, first match wins.
_PII_WORDS: list[tuple[frozenset[str], PiiCategory]] = [
    (frozenset({"email"}), "email"),
    (frozenset({"mail"}), "email"),
    (frozenset({"phone"}), "phone"),
    (frozenset({"mobile"}), "phone"),
    (frozenset({"telephone"}), "phone"),
    (frozenset({"fax"}), "phone"),
    (frozenset({"ip"}), "ip"),
    (frozenset({"ipv4"}), "ip"),
    (frozenset({"ipv6"}), "ip"),
    (frozenset({"ssn"}), "government_id"),
    (frozenset({"passport"}), "government_id"),
    (frozenset({"social", "security"}), "government_id"),
    (frozenset({"tax", "id"}), "government_id"),
    (frozenset({"national", "id"}), "government_id"),
    (frozenset({"driver", "license"}), "government_id"),
    (frozenset({"drivers", "license"}), "government_id"),
    (frozenset({"dob"}), "date_of_birth"),
    (frozenset({"birth"}), "date_of_birth"),
    (frozenset({"birthdate"}), "date_of_birth"),
    (frozenset({"birthday"}), "date_of_birth"),
    (frozenset({"card", "number"}), "financial"),
    (frozenset({"credit", "card"}), "financial"),
    (frozenset({"iban"}), "financial"),
    (frozenset({"cvv"}), "financial"),
    (frozenset({"account", "number"}), "financial"),
    (frozenset({"routing", "number"}), "financial"),
    (frozenset({"salary"}), "financial"),
    (frozenset({"income"}), "financial"),
    (frozenset({"address"}), "address"),
    (frozenset({"street"}), "address"),
    (frozenset({"zip"}), "address"),
    (frozenset({"zipcode"}), "address"),
    (frozenset({"postal"}), "address"),
    (frozenset({"postcode"}), "address"),
    (frozenset({"first", "name"}), "name"),
    (frozenset({"last", "name"}), "name"),
    (frozenset({"full", "name"}), "name"),
    (frozenset({"middle", "name"}), "name"),
    (frozenset({"surname"}), "name"),
    (frozenset({"firstname"}), "name"),
    (frozenset({"lastname"}), "name"),
    (frozenset({"gender"}), "other"),
    (frozenset({"ethnicity"}), "other"),
    (frozenset({"religion"}), "other"),
    (frozenset({"latitude"}), "other"),
    (frozenset({"longitude"}), "other"),
    (frozenset({"username"}), "other"),
]
_PERSON_ENTITIES = frozenset(
    {"customer", "user", "employee", "person", "patient", "member", "contact", "client", "people", "author",
     "driver", "student", "subscriber", "account_holder", "lead", "guest", "passenger", "staff"}
)
_MONEY_WORDS = frozenset(
    {"amount", "price", "cost", "revenue", "balance", "fee", "fees", "tax", "discount", "spend", "sales",
     "usd", "eur", "gbp", "payment", "paid", "refund", "margin", "profit", "gmv", "mrr", "arr", "ltv"}
)
_LOADER_COLUMNS = {
    "_fivetran_synced": "Timestamp when Fivetran last synced this record.",
    "_fivetran_deleted": "Whether Fivetran saw this record deleted at the source.",
    "_loaded_at": "Timestamp when this record was loaded into the warehouse.",
    "_etl_loaded_at": "Timestamp when this record was loaded into the warehouse.",
    "dbt_scd_id": "Unique identifier of this version of the record (dbt snapshot).",
    "dbt_updated_at": "Source update timestamp dbt used to detect this version (dbt snapshot).",
    "dbt_valid_from": "Timestamp from which this version of the record is valid (dbt snapshot).",
    "dbt_valid_to": "Timestamp until which this version was valid; null for the current version (dbt snapshot).",
    "dbt_is_deleted": "Whether the record was deleted at the source (dbt snapshot).",
}


def pii_of(column: str, dataset_name: str) -> PiiCategory:
    ws = set(words(column))
    for needed, category in _PII_WORDS:
        if needed <= ws:
            return category
    entity = entity_singular(dataset_name).replace(" ", "_")
    if column.lower() in ("name", f"{entity}_name") and (entity in _PERSON_ENTITIES or ws & _PERSON_ENTITIES):
        return "name"
    return "none"


def guess_column(column: ColumnRequest, request: DatasetRequest) -> ColumnGuess | None:
    """A description from the column's name (and type), or None when no convention applies."""
    name = column.name.lower()
    entity = entity_singular(request.name)
    if name in _LOADER_COLUMNS:
        return ColumnGuess(_LOADER_COLUMNS[name], "none", 55)
    if name.startswith(("_airbyte_", "_sdc_", "_dlt_")):
        return ColumnGuess(f"Load metadata added by the ingestion tool ({humanize(name)}).", "none", 50)
    pii = pii_of(column.name, request.name)
    for rule in (_identifier, _flag, _count, _timestamp, _date, _money, _ratio, _descriptor):
        found = rule(name, entity, column.data_type)
        if found:
            return ColumnGuess(found, pii, CONVENTION_CONFIDENCE)
    if pii != "none":
        return ColumnGuess(f"{_cap(humanize(name))} of the {entity} (personal data: {pii}).", pii, 40)
    return None


def fallback_column(column: ColumnRequest, request: DatasetRequest) -> ColumnGuess:
    typed = f" ({column.data_type.lower()})" if column.data_type else ""
    description = f"{_cap(humanize(column.name))} of the {entity_singular(request.name)}{typed}."
    return ColumnGuess(description, pii_of(column.name, request.name), FALLBACK_CONFIDENCE)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _strip(name: str, *, prefix: tuple[str, ...] = (), suffix: tuple[str, ...] = ()) -> str | None:
    for p in prefix:
        if name.startswith(p) and len(name) > len(p):
            return name[len(p) :]
    for s in suffix:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return None


def _identifier(name: str, entity: str, _type: str | None) -> str | None:
    own = entity.replace(" ", "_")
    if name in ("id", f"{own}_id", f"{own}_uuid"):
        return f"Unique identifier of the {entity}."
    if name in (f"{own}_key", f"{own}_sk", "sk", "surrogate_key"):
        return f"Surrogate key of the {entity}."
    base = _strip(name, suffix=("_id", "_uuid", "_guid"))
    if base is not None:
        return f"Identifier of the related {humanize(base)}."
    base = _strip(name, suffix=("_key", "_sk", "_fk"))
    if base is not None:
        return f"Key referencing the related {humanize(base)}."
    return None


def _flag(name: str, entity: str, data_type: str | None) -> str | None:
    for prefix, verb in (("is_", "is"), ("has_", "has"), ("was_", "was"), ("can_", "can"), ("should_", "should")):
        rest = _strip(name, prefix=(prefix,))
        if rest is not None:
            return f"Whether the {entity} {verb} {humanize(rest)}."
    rest = _strip(name, suffix=("_flag", "_ind", "_yn"))
    if rest is not None or (data_type or "").lower() in ("boolean", "bool"):
        return f"Flag: {humanize(rest or name)}."
    return None


def _count(name: str, _entity: str, _type: str | None) -> str | None:
    rest = _strip(name, prefix=("n_", "num_", "number_of_", "count_", "cnt_", "nb_")) or _strip(
        name, suffix=("_count", "_cnt", "_qty", "_quantity")
    )
    return f"Number of {humanize(rest)}." if rest else None


def _timestamp(name: str, entity: str, _type: str | None) -> str | None:
    rest = _strip(name, suffix=("_at", "_ts", "_timestamp", "_datetime", "_time"))
    if rest is None:
        return None
    if rest.endswith("ed") and "_" not in rest:
        return f"Timestamp when the {entity} was {rest}."
    return f"Timestamp of the {humanize(rest)}."


def _date(name: str, entity: str, _type: str | None) -> str | None:
    if name == "date":
        return f"Calendar date of the {entity}."
    rest = _strip(name, suffix=("_date", "_on", "_day")) or _strip(name, prefix=("date_",))
    if rest is None:
        return None
    if rest.endswith("ed") and "_" not in rest:
        return f"Date when the {entity} was {rest}."
    return f"Date of the {humanize(rest)}."


def _money(name: str, _entity: str, _type: str | None) -> str | None:
    if set(words(name)) & _MONEY_WORDS:
        return f"Monetary amount: {humanize(name)}."
    return None


def _ratio(name: str, _entity: str, _type: str | None) -> str | None:
    rest = _strip(name, suffix=("_pct", "_percent", "_percentage", "_rate", "_ratio"))
    return f"Rate or percentage of {humanize(rest)}." if rest else None


_PERSON_NAME_COLUMNS = frozenset(
    {"first_name", "last_name", "full_name", "middle_name", "given_name", "family_name", "surname",
     "firstname", "lastname", "display_name", "maiden_name"}
)


def _descriptor(name: str, entity: str, _type: str | None) -> str | None:
    if name in _PERSON_NAME_COLUMNS:
        return f"{_cap(humanize(name))} of the {entity}."
    if name in ("status", "state") or name.endswith("_status"):
        return f"Status of the {humanize(_strip(name, suffix=('_status',)) or entity)}."
    for suffix, noun in (("_type", "Type"), ("_category", "Category"), ("_code", "Code"), ("_url", "URL")):
        rest = _strip(name, suffix=(suffix,))
        if rest is not None:
            return f"{noun} of the {humanize(rest)}."
    if name == "name" or name.endswith("_name"):
        return f"Name of the {humanize(_strip(name, suffix=('_name',)) or entity)}."
    if name in ("description", "notes", "comment", "comments"):
        return f"Free-text {name} of the {entity}."
    return None
