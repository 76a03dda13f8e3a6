"""Where each dataset's file lives in the metadata repository, and which paths are acceptable at all.

The default layout is the seed's `datasets/{medallion_layer}/{name}.yml` with the layer lowercased
('unclassified' when unset). Paths are a pure function of the catalog: two datasets that would share
a path (case-insensitively, for macOS and Windows checkouts) both get the resource type appended,
then a short hash of the fqn if that is still not enough, so no dataset's path depends on history.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import string
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from metadata_pipeline.sync.errors import SyncError
from metadata_pipeline.sync.yaml_format import YAML_SUFFIXES

DEFAULT_LAYOUT = "{layer}/{name}.yml"
LAYOUT_ENV = "METADATA_PIPELINE_SYNC_LAYOUT"
LAYOUT_FIELDS = frozenset({"layer", "name", "resource_type", "entity_type"})
UNCLASSIFIED = "unclassified"

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class PathItem:
    """What a dataset's path depends on."""

    dataset_id: uuid.UUID
    name: str
    fqn: str
    medallion_layer: str | None
    resource_type: str | None
    entity_type: str | None


def safe_segment(value: str | None, default: str) -> str:
    """One path segment from a catalog value: no separators, no dot-only or hidden names."""
    text = _UNSAFE.sub("_", (value or "").strip()) or default
    return "_" + text if text.startswith(".") else text


def validate_layout(layout: str) -> str:
    """Refuse templates that would put files outside the prefix or not be YAML."""
    fields = {f for _, f, _, _ in string.Formatter().parse(layout) if f is not None}
    unknown = fields - LAYOUT_FIELDS
    if unknown:
        raise SyncError(
            f"layout {layout!r}: unknown placeholder(s) {sorted(unknown)}; use {sorted(LAYOUT_FIELDS)}"
        )
    if "name" not in fields:
        raise SyncError(f"layout {layout!r} must contain {{name}} so every dataset gets its own file")
    if not layout.endswith(YAML_SUFFIXES):
        raise SyncError(f"layout {layout!r} must end with .yml or .yaml")
    if layout.startswith("/") or ".." in layout.split("/"):
        raise SyncError(f"layout {layout!r} must be a relative path inside the prefix")
    return layout


def default_layout() -> str:
    return validate_layout(os.environ.get(LAYOUT_ENV) or DEFAULT_LAYOUT)


def normalize_prefix(prefix: str | None) -> str:
    cleaned = (prefix or "").strip().strip("/")
    if not cleaned:
        return ""
    check_repo_path(cleaned)
    return cleaned


def _render(layout: str, item: PathItem) -> str:
    return layout.format(
        layer=safe_segment((item.medallion_layer or "").lower(), UNCLASSIFIED),
        name=safe_segment(item.name, "dataset"),
        resource_type=safe_segment(item.resource_type, "dataset"),
        entity_type=safe_segment((item.entity_type or "").lower(), "unclassified"),
    )


def _with_suffix(path: str, suffix: str) -> str:
    stem, ext = posixpath.splitext(path)
    return f"{stem}.{suffix}{ext}"


def _fqn_hash(fqn: str) -> str:
    return hashlib.sha1(fqn.encode("utf-8")).hexdigest()[:8]


def assign_paths(
    items: Iterable[PathItem], prefix: str, layout: str = DEFAULT_LAYOUT
) -> dict[uuid.UUID, str]:
    """Every dataset's repository path; must be given all live datasets so collisions are seen."""
    base = normalize_prefix(prefix)
    groups: dict[str, list[tuple[PathItem, str]]] = defaultdict(list)
    for item in items:
        rel = _render(layout, item)
        groups[rel.casefold()].append((item, rel))
    result: dict[uuid.UUID, str] = {}
    for members in groups.values():
        if len(members) == 1:
            item, rel = members[0]
            result[item.dataset_id] = rel
            continue
        suffixed: dict[str, list[tuple[PathItem, str]]] = defaultdict(list)
        for item, rel in members:
            candidate = _with_suffix(rel, safe_segment(item.resource_type, "dataset"))
            suffixed[candidate.casefold()].append((item, candidate))
        for group in suffixed.values():
            for item, candidate in group:
                result[item.dataset_id] = (
                    candidate if len(group) == 1 else _with_suffix(candidate, _fqn_hash(item.fqn))
                )
    return {k: posixpath.join(base, v) if base else v for k, v in result.items()}


def check_repo_path(path: str) -> str:
    """A repository-relative path with no way out of the repository; raises SyncError otherwise."""
    if not path or "\x00" in path or "\\" in path:
        raise SyncError(f"unsafe path {path!r}")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise SyncError(f"path {path!r} is absolute")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise SyncError(f"path {path!r} leaves the repository or is not normalized")
    if parts[0].casefold() == ".git":
        raise SyncError(f"path {path!r} is inside .git")
    return path


def is_under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + "/")


def is_metadata_file(path: str, prefix: str) -> bool:
    return is_under(path, prefix) and path.endswith(YAML_SUFFIXES)
