"""Field-level differences between the catalog's and Git's version of a dataset, and manual merges.

Paths name what differs: a dataset field (`description`, `metadata`...), a column
(`columns.<name>` when it exists on one side only, `columns.<name>.<field>` otherwise), or the whole
`lineage` / `references` lists. Each entry is {path, catalog, git}, plus `base` (the version both
sides started from, when known) and `changed_in` (catalog, git or both), which lets a manual merge
default every field nobody chose to the side that actually changed it.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from metadata_pipeline.sync.errors import SyncError

Side = Literal["catalog", "git"]
SCALAR_FIELDS = (
    "fqn",
    "name",
    "medallion_layer",
    "entity_type",
    "entity_subtype",
    "materialization_type",
    "description",
    "metadata",
)
LIST_FIELDS = ("references", "lineage")
# The column attributes a file carries, as the catalog and the YAML both name them.
COLUMN_KEYS = (
    "name",
    "data_type",
    "description",
    "business_name",
    "is_primary_key",
    "is_foreign_key",
    "is_nullable",
    "transformation_logic",
    "position",
    "pii_category",
)
SIDE_ALIASES: dict[str, Side] = {
    "catalog": "catalog",
    "ours": "catalog",
    "database": "catalog",
    "git": "git",
    "theirs": "git",
    "sourcecontrol": "git",
}
_UNKNOWN = object()


def _entry(path: str, catalog: Any, git: Any, base: Any, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "catalog": catalog, "git": git, **extra}
    if base is _UNKNOWN:
        entry["changed_in"] = "unknown"
        return entry
    entry["base"] = base
    in_catalog, in_git = catalog != base, git != base
    entry["changed_in"] = "both" if in_catalog and in_git else ("git" if in_git else "catalog")
    return entry


def _columns(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {c["uuid"]: c for c in data["dataset"]["columns"]} if data else {}


def _column_entries(
    catalog: dict[str, Any], git: dict[str, Any], base: dict[str, Any] | None, base_known: bool
) -> list[dict[str, Any]]:
    cat_cols, git_cols, base_cols = _columns(catalog), _columns(git), _columns(base)
    entries: list[dict[str, Any]] = []
    labels: set[str] = set()
    for uid in [*cat_cols, *(u for u in git_cols if u not in cat_cols)]:
        cat, gitc = cat_cols.get(uid), git_cols.get(uid)
        label = (cat or gitc or {})["name"]
        label = f"{label}#{uid[:8]}" if label in labels else label  # two columns, one name
        labels.add(label)
        base_col = base_cols.get(uid) if base_known else _UNKNOWN
        if cat is None or gitc is None:
            entries.append(_entry(f"columns.{label}", cat, gitc, base_col, column_uuid=uid))
            continue
        for key in COLUMN_KEYS:
            if cat.get(key) != gitc.get(key):
                old = _UNKNOWN if base_col is _UNKNOWN else (base_col or {}).get(key)
                entries.append(
                    _entry(
                        f"columns.{label}.{key}", cat.get(key), gitc.get(key), old, column_uuid=uid, field=key
                    )
                )
    return entries


def diff_documents(
    catalog: dict[str, Any] | None,
    git: dict[str, Any] | None,
    base: dict[str, Any] | None = None,
    base_known: bool = False,
) -> list[dict[str, Any]]:
    """Differences between two canonical documents (`document_data`); None means the dataset is gone.

    `base_known` says `base` is the version at the last sync (None there: the file did not exist).
    """
    if catalog is None or git is None:
        return [] if catalog == git else [_entry("dataset", catalog, git, base if base_known else _UNKNOWN)]
    cat, gitd = catalog["dataset"], git["dataset"]
    old = base["dataset"] if base else {}

    def prior(key: str) -> Any:
        return old.get(key) if base_known else _UNKNOWN

    entries = [
        _entry(k, cat.get(k), gitd.get(k), prior(k)) for k in SCALAR_FIELDS if cat.get(k) != gitd.get(k)
    ]
    entries += _column_entries(catalog, git, base, base_known)
    entries += [
        _entry(k, cat.get(k), gitd.get(k), prior(k)) for k in LIST_FIELDS if cat.get(k) != gitd.get(k)
    ]
    return entries


def _matches(name: str, path: str) -> bool:
    return path == name or path.startswith(name + ".")


def choose_sides(
    entries: list[dict[str, Any]], take: dict[str, str], default: str = "auto"
) -> dict[str, Side]:
    """Which side each entry takes: the most specific --take that names it, else the default.

    Default `auto`: the side that changed the field since the last sync (Git when only Git did),
    and the catalog when both did or when nobody knows: the catalog is the source of truth.
    """
    sides = {}
    for name, side in take.items():
        if side.lower() not in SIDE_ALIASES:
            raise SyncError(f"--take {name}={side}: use catalog or git")
        if not any(_matches(name, e["path"]) for e in entries):
            known = ", ".join(e["path"] for e in entries)
            raise SyncError(f"--take {name}: no such difference (differences: {known})")
    for entry in entries:
        named = [n for n in take if _matches(n, entry["path"])]
        if named:
            sides[entry["path"]] = SIDE_ALIASES[take[max(named, key=len)].lower()]
        elif default in ("catalog", "git"):
            sides[entry["path"]] = SIDE_ALIASES[default]
        elif default == "auto":
            sides[entry["path"]] = "git" if entry.get("changed_in") == "git" else "catalog"
        else:
            raise SyncError(f"--default must be auto, catalog or git, not {default!r}")
    return sides


def merge_documents(
    catalog: dict[str, Any] | None,
    git: dict[str, Any] | None,
    entries: list[dict[str, Any]],
    sides: dict[str, Side],
) -> dict[str, Any] | None:
    """The catalog's document with every entry whose side is `git` taken from Git."""
    for entry in entries:
        if entry["path"] == "dataset":
            return copy.deepcopy(git if sides["dataset"] == "git" else catalog)
    assert catalog is not None and git is not None
    merged = copy.deepcopy(catalog)
    ds = merged["dataset"]
    columns = {c["uuid"]: c for c in ds["columns"]}
    for entry in entries:
        if sides[entry["path"]] != "git":
            continue
        value = copy.deepcopy(entry["git"])
        if "column_uuid" not in entry:
            ds[entry["path"]] = value
        elif "field" not in entry:
            columns.pop(entry["column_uuid"], None) if value is None else columns.__setitem__(
                entry["column_uuid"], value
            )
        elif value is None:
            columns[entry["column_uuid"]].pop(entry["field"], None)
        else:
            columns[entry["column_uuid"]][entry["field"]] = value
    ds["columns"] = list(columns.values())
    return merged
