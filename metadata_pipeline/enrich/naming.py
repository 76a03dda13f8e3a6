"""Turning snake_case identifiers into words: entities, business names, naive singulars."""

from __future__ import annotations

import re

# Kept upper-case in business names.
ACRONYMS = frozenset(
    {"id", "ip", "url", "uri", "sku", "usd", "eur", "gbp", "utc", "api", "sql", "vat", "ssn", "dob",
     "uuid", "guid", "pk", "fk", "kpi", "crm", "erp", "iso", "scd", "ltv", "mrr", "arr", "zip"}
)
# Prefixes that name a modelling layer, not the entity.
LAYER_PREFIXES = (
    "stg", "staging", "base", "int", "intermediate", "fct", "fact", "facts", "dim", "dimension", "hub",
    "lnk", "link", "sat", "lsat", "pit", "bridge", "brg", "psa", "raw", "src", "mart", "mrt", "rpt",
    "report", "agg", "obt", "snap", "snapshot", "seed",
)

# Suffixes that say how a dataset is kept, not what it holds.
ENTITY_SUFFIXES = ("_snapshots", "_snapshot", "_history", "_scd", "_seed")


def words(identifier: str) -> list[str]:
    """snake_case / camelCase / kebab-case -> lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", identifier)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def humanize(identifier: str) -> str:
    """"order_total_usd" -> "order total USD"."""
    return " ".join(w.upper() if w in ACRONYMS else w for w in words(identifier))


def business_name(identifier: str) -> str:
    """"customer_id" -> "Customer ID"."""
    return " ".join(w.upper() if w in ACRONYMS else w.capitalize() for w in words(identifier))


def singular(word: str) -> str:
    """Good enough for table names: payments -> payment, categories -> category, addresses -> address."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is", "status")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def split_model_name(name: str) -> tuple[str | None, str | None, str]:
    """(layer prefix, source system, entity) of a model name.

    "stg_stripe__payments" -> ("stg", "stripe", "payments") (dbt style guide: layer_source__entity);
    "quality__int_measures" -> ("int", None, "measures") (a domain prefixed to the name, not a source).
    """
    prefix, rest = _layer_prefix(name)
    source: str | None = None
    if "__" in rest:
        source, _, rest = rest.partition("__")
        if prefix is None:
            prefix, rest = _layer_prefix(rest)
            source = None
    for suffix in ENTITY_SUFFIXES:  # "customers_snapshot" is about customers
        if rest.lower().endswith(suffix) and len(rest) > len(suffix):
            rest = rest[: -len(suffix)]
            break
    return prefix, source, rest


def _layer_prefix(name: str) -> tuple[str | None, str]:
    head, sep, tail = name.partition("_")
    if sep and head.lower() in LAYER_PREFIXES and tail:
        return head.lower(), tail
    return None, name


def entity_phrase(name: str) -> str:
    """The thing a dataset is about, in words: "stg_stripe__payments" -> "payments"."""
    _, _, rest = split_model_name(name)
    return humanize(rest) or humanize(name)


def entity_singular(name: str) -> str:
    parts = entity_phrase(name).split(" ")
    return " ".join([*parts[:-1], singular(parts[-1])]) if parts else name
