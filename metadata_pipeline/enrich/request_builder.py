"""Building the `DatasetRequest` a provider sees: bounded, deterministic, and free of AI output.

The upstream context holds only what a person wrote or what lineage carried from it, never what a
provider wrote in this or an earlier run. That keeps every request (and so every cache key) a function
of the project alone: all datasets can be sent in parallel, and a re-worded AI description upstream does
not invalidate the cache of everything below it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from metadata_pipeline.enrich.context import DatasetView, split_ref
from metadata_pipeline.enrich.models import ColumnRequest, DatasetRequest, FieldKey, UpstreamColumn
from metadata_pipeline.enrich.propagation import Propagated
from metadata_pipeline.lineage.edges import ColumnEdge


@dataclass(frozen=True)
class RequestLimits:
    """Caps that keep one prompt bounded whatever the model looks like."""

    max_sql_chars: int = 6000
    max_columns: int = 200
    max_upstream_per_column: int = 4
    max_upstream_datasets: int = 8


def truncate_sql(sql: str, limit: int) -> str:
    """Keep the head (imports, CTEs) and the tail (the final select) at line boundaries.

    dbt models put their sources at the top and their output shape at the bottom; the middle is the
    part a describer can best do without.
    """
    sql = "\n".join(line.rstrip() for line in sql.strip().splitlines() if line.strip())
    if len(sql) <= limit:
        return sql
    head_budget, tail_budget = (limit * 2) // 3, limit // 3
    head = sql[:head_budget].rsplit("\n", 1)[0]
    tail = sql[-tail_budget:].split("\n", 1)[-1]
    dropped = len(sql) - len(head) - len(tail)
    return f"{head}\n-- [... {dropped} characters omitted ...]\n{tail}"


class RequestBuilder:
    """Turns dataset views plus propagated descriptions into provider requests."""

    def __init__(
        self,
        views: Mapping[str, DatasetView],
        edges: Iterable[ColumnEdge],
        propagated: Mapping[FieldKey, Propagated],
        *,
        adapter_type: str | None = None,
        limits: RequestLimits | None = None,
    ) -> None:
        self._views = views
        self._propagated = propagated
        self._adapter_type = adapter_type
        self._limits = limits or RequestLimits()
        self._upstream = _edges_by_target(edges)
        self._known = self._known_texts()

    def _known_texts(self) -> dict[str, str]:
        """lower-cased ref -> a person's description, or one propagated from it."""
        known = {
            f"{uid}.{c.name.lower()}": c.human_description
            for uid, view in self._views.items()
            for c in view.columns
            if c.human_description
        }
        for (uid, column), found in self._propagated.items():
            known[f"{uid}.{(column or '').lower()}"] = found.text
        return known

    def build(self, unique_id: str) -> DatasetRequest:
        view = self._views[unique_id]
        obj = view.obj
        sql, kind = _sql_of(obj.compiled_sql, obj.raw_sql)
        return DatasetRequest(
            unique_id=unique_id,
            name=obj.name,
            resource_type=obj.resource_type,
            materialization=obj.materialization,
            path=obj.original_file_path or obj.file_path,
            schema_name=obj.schema,
            source_name=obj.source_name,
            tags=tuple(sorted(obj.tags)),
            adapter_type=self._adapter_type,
            sql=truncate_sql(sql, self._limits.max_sql_chars) if sql else None,
            sql_kind=kind,
            description=view.human_description,
            description_locked=view.human,
            columns=tuple(self._column(view, c.name) for c in view.columns[: self._limits.max_columns]),
            upstream_datasets=tuple(self._parent_names(view)),
        )

    def _column(self, view: DatasetView, name: str) -> ColumnRequest:
        column = view.column(name)
        assert column is not None  # name comes from view.columns
        propagated = self._propagated.get((view.unique_id, column.name))
        text = column.human_description or (propagated.text if propagated else None)
        locked = column.human or propagated is not None
        return ColumnRequest(
            name=column.name,
            data_type=column.data_type,
            description=text,
            locked=locked,
            # A locked description is settled; its upstream would only cost tokens.
            upstream=() if locked else tuple(self._upstream_of(view.unique_id, column.name)),
        )

    def _upstream_of(self, unique_id: str, column: str) -> list[UpstreamColumn]:
        edges = self._upstream.get(f"{unique_id}.{column.lower()}", [])
        return [
            UpstreamColumn(
                ref=edge.source or "",
                mapping_type=edge.mapping_type,
                description=self._known.get(_lower_ref(edge.source or "")),
                transformation=(edge.transformation or None),
            )
            for edge in edges[: self._limits.max_upstream_per_column]
        ]

    def _parent_names(self, view: DatasetView) -> list[str]:
        names = [self._views[p].obj.name if p in self._views else split_ref(p)[1] for p in view.parents]
        return names[: self._limits.max_upstream_datasets]


def _sql_of(compiled: str | None, raw: str | None) -> tuple[str | None, str | None]:
    if compiled and compiled.strip():
        return compiled, "compiled"
    if raw and raw.strip():
        return raw, "raw"
    return None, None


def _lower_ref(ref: str) -> str:
    model, column = split_ref(ref)
    return f"{model}.{column.lower()}"


def _edges_by_target(edges: Iterable[ColumnEdge]) -> dict[str, list[ColumnEdge]]:
    """Value-carrying edges per target column, sorted so requests are reproducible."""
    found: dict[str, list[ColumnEdge]] = defaultdict(list)
    for edge in edges:
        if edge.lineage_type == "direct" and edge.source:
            found[_lower_ref(edge.target)].append(edge)
    return {key: sorted(v, key=lambda e: (e.source or "", e.mapping_type)) for key, v in found.items()}
