"""Rename detection: an object that vanished and one that appeared are the same dataset when they
share their file (e.g. the dbt project was renamed) or their SQL (e.g. the file was `git mv`-ed),
have the same column names, and the pairing is unambiguous."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from metadata_pipeline.reconcile.desired import DesiredDataset

Row = dict[str, Any]
# Sources share their schema.yml: a file path does not identify one of them.
_FILE_IDENTIFIES = frozenset({"model", "seed", "snapshot", "analysis"})


def match_renames(
    vanished: Sequence[Row],
    appeared: Sequence[DesiredDataset],
    columns_of: Mapping[uuid.UUID, frozenset[str]],
) -> dict[str, Row]:
    """Pairs {new fqn: existing row}; each side used at most once."""
    pairs: dict[str, Row] = {}
    for key in (_file_key, _content_key):
        used = {p["dataset_id"] for p in pairs.values()}
        left = [r for r in vanished if r["dataset_id"] not in used]
        right = [d for d in appeared if d.fqn not in pairs]
        pairs.update(_pair(left, right, key, columns_of))
    return pairs


def _file_key(resource_type: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    path = values.get("file_path")
    return (resource_type, path) if path and resource_type in _FILE_IDENTIFIES else None


def _content_key(resource_type: str, values: Mapping[str, Any]) -> tuple[str, str] | None:
    digest = values.get("content_hash")
    return (resource_type, digest) if digest else None


def _pair(
    vanished: Sequence[Row],
    appeared: Sequence[DesiredDataset],
    key: Callable[[str, Mapping[str, Any]], tuple[str, str] | None],
    columns_of: Mapping[uuid.UUID, frozenset[str]],
) -> dict[str, Row]:
    old: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in vanished:
        k = key(row.get("resource_type") or "", row)
        if k:
            old[k].append(row)
    new: dict[tuple[str, str], list[DesiredDataset]] = defaultdict(list)
    for ds in appeared:
        k = key(ds.resource_type, ds.values)
        if k:
            new[k].append(ds)
    pairs: dict[str, Row] = {}
    for k, rows in old.items():
        candidates = new.get(k, [])
        if len(rows) != 1 or len(candidates) != 1:
            continue  # ambiguous (or no partner): treat as a removal plus an addition
        row, ds = rows[0], candidates[0]
        if columns_of.get(row["dataset_id"], frozenset()) == ds.column_names():
            pairs[ds.fqn] = row
    return pairs
