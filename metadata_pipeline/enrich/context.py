"""What is already known about each dataset before anything is asked of a provider.

Turns an `Extraction` plus column edges into per-dataset views: the columns (catalog, schema.yml and the
ones only lineage knows about), which descriptions a person wrote (and so must never be replaced), the
parents, and a dependency order for propagation and dispatch.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from metadata_pipeline.enrich.models import ENRICHABLE_RESOURCE_TYPES, FieldKey
from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Extraction
from metadata_pipeline.lineage.edges import ColumnEdge

HumanDescriptions = Callable[[str, str | None], bool] | Mapping[FieldKey, str] | Collection[FieldKey]
"""Fields a person owns beyond what the extraction says: a predicate, a set of keys, or keys with text
(the text then also serves as context and as a source for propagation)."""


def _norm(column: str | None) -> str | None:
    # Warehouses disagree on case (Snowflake upper-cases, sqlglot lower-cases): match case-insensitively.
    return column.lower() if column is not None else None


class HumanGuard:
    """Answers "did a person write this description?" and, when known, "what did they write?"."""

    def __init__(self, human: HumanDescriptions | None = None) -> None:
        self._predicate: Callable[[str, str | None], bool] | None = None
        self._texts: dict[tuple[str, str | None], str] = {}
        self._keys: set[tuple[str, str | None]] = set()
        if human is None:
            return
        if callable(human) and not isinstance(human, Mapping | Collection):
            self._predicate = human
        elif isinstance(human, Mapping):
            self._texts = {(uid, _norm(col)): text for (uid, col), text in human.items() if text}
            self._keys = {(uid, _norm(col)) for uid, col in human}
        else:
            self._keys = {(uid, _norm(col)) for uid, col in human}

    def is_human(self, unique_id: str, column: str | None) -> bool:
        if (unique_id, _norm(column)) in self._keys:
            return True
        return bool(self._predicate and self._predicate(unique_id, column))

    def text(self, unique_id: str, column: str | None) -> str | None:
        return self._texts.get((unique_id, _norm(column)))


@dataclass
class ColumnView:
    name: str
    data_type: str | None = None
    human_description: str | None = None
    human: bool = False  # protected even when the text is unknown here (edited in the catalog)


@dataclass
class DatasetView:
    obj: DbtObject
    columns: list[ColumnView] = field(default_factory=list)
    human_description: str | None = None
    human: bool = False
    parents: list[str] = field(default_factory=list)

    @property
    def unique_id(self) -> str:
        return self.obj.unique_id

    def column(self, name: str) -> ColumnView | None:
        wanted = name.lower()
        return next((c for c in self.columns if c.name.lower() == wanted), None)


def split_ref(ref: str) -> tuple[str, str]:
    """"model.pkg.orders.amount" -> ("model.pkg.orders", "amount")."""
    model, _, column = ref.rpartition(".")
    return model, column


def is_enrichable(obj: DbtObject) -> bool:
    return obj.enabled and obj.resource_type in ENRICHABLE_RESOURCE_TYPES


def build_views(
    extraction: Extraction, edges: Iterable[ColumnEdge], guard: HumanGuard
) -> dict[str, DatasetView]:
    """One view per enrichable dataset, with its columns merged from every source that knows them."""
    lineage_columns = _lineage_columns(edges)
    parents = _parents(extraction)
    views: dict[str, DatasetView] = {}
    for obj in extraction.objects:
        if not is_enrichable(obj):
            continue
        text = _clean(obj.description) or guard.text(obj.unique_id, None)
        views[obj.unique_id] = DatasetView(
            obj=obj,
            columns=_merge_columns(obj, lineage_columns.get(obj.unique_id, []), guard),
            human_description=text,
            human=bool(text) or guard.is_human(obj.unique_id, None),
            parents=sorted(parents.get(obj.unique_id, ())),
        )
    return views


def _clean(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


def _merge_columns(obj: DbtObject, lineage_names: list[str], guard: HumanGuard) -> list[ColumnView]:
    """Catalog order first (the warehouse truth), then schema.yml extras, then lineage-only columns."""
    declared = {c.name.lower(): c for c in obj.declared_columns}
    merged: dict[str, ColumnView] = {}
    for info in list(obj.catalog_columns or []) + list(obj.declared_columns):
        key = info.name.lower()
        if key not in merged:
            merged[key] = _column_view(info, declared.get(key), obj.unique_id, guard)
    for name in lineage_names:
        merged.setdefault(name.lower(), _column_view(ColumnInfo(name=name), None, obj.unique_id, guard))
    return list(merged.values())


def _column_view(info: ColumnInfo, declared: ColumnInfo | None, unique_id: str, guard: HumanGuard) -> ColumnView:
    # schema.yml wins over a warehouse comment: it is what the dbt project's authors maintain.
    text = (
        _clean(declared.description if declared else None)
        or _clean(info.description)
        or guard.text(unique_id, info.name)
    )
    return ColumnView(
        name=info.name,
        data_type=info.data_type or (declared.data_type if declared else None),
        human_description=text,
        human=bool(text) or guard.is_human(unique_id, info.name),
    )


def _lineage_columns(edges: Iterable[ColumnEdge]) -> dict[str, list[str]]:
    """Target columns per model, in first-seen order: all a model without catalog or schema.yml has."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for edge in edges:
        model, column = split_ref(edge.target)
        if model and column and column != "*":
            found[model].setdefault(column.lower(), column)
    return {model: list(cols.values()) for model, cols in found.items()}


def _parents(extraction: Extraction) -> dict[str, set[str]]:
    parents: dict[str, set[str]] = defaultdict(set)
    for dep in extraction.dependencies:  # `source` depends on `target`
        parents[dep.source].add(dep.target)
    return parents


def dependency_order(views: Mapping[str, DatasetView], edges: Iterable[ColumnEdge]) -> list[str]:
    """Parents before children (Kahn), ties by unique_id so runs are reproducible; cycles go last."""
    parents: dict[str, set[str]] = {uid: {p for p in v.parents if p in views} for uid, v in views.items()}
    for edge in edges:
        if edge.source is None:
            continue
        child, parent = split_ref(edge.target)[0], split_ref(edge.source)[0]
        if child in parents and parent in views and parent != child:
            parents[child].add(parent)
    children: dict[str, set[str]] = defaultdict(set)
    for child, ps in parents.items():
        for parent in ps:
            children[parent].add(child)
    remaining = {uid: len(ps) for uid, ps in parents.items()}
    ready = deque(sorted(uid for uid, n in remaining.items() if n == 0))
    order: list[str] = []
    while ready:
        uid = ready.popleft()
        order.append(uid)
        for child in sorted(children[uid]):
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    seen = set(order)
    return order + sorted(uid for uid in views if uid not in seen)
