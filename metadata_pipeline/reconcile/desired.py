"""What the catalog should hold for one extraction: datasets, columns, dependencies, lineage by name.

The extraction is first *indexed* per dataset (its object, its dependencies, the edges into it, the
column names lineage mentions on it). From the index alone each dataset gets an *input hash*
covering everything reconcile would write for it, so an unchanged dataset is skipped without ever
building its rows; the full desired rows are built on demand for the datasets that changed.
Identities (UUIDs) are resolved later against the catalog.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from metadata_pipeline.catalog.models import MAPPING_TYPES
from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.reconcile.options import ReconcileOptions

# Bump when the way reconcile maps an extraction onto rows changes: every stored hash then misses
# once and every dataset is diffed again.
LOGIC_VERSION = "reconcile-1"

BASE_RESOURCE_TYPES = frozenset({"model", "source", "seed", "snapshot"})
EXTRACTED_FROM_BY_TIER = {"GOLD": "manifest", "SILVER": "dbt_sql", "BRONZE": "sql_parsing"}
COLUMN_SOURCE = {"catalog": "catalog", "manifest": "manifest", "yaml": "yaml", "inferred": "sql_parsing"}
DEPENDENCY_TYPES = frozenset({"ref", "source", "direct"})
DEFAULT_INDIRECT_ROLE = "other"
_MAPPING_TYPES = frozenset(MAPPING_TYPES)

UpstreamRef = tuple[str, str | None]  # (dataset fqn, column name)
LineageKey = tuple[str, UpstreamRef | None, str, str | None]
# (fqn, column or None) -> a token for how a reference outside the extraction resolved in the catalog
ExternalResolver = Callable[[str, str | None], str]


@dataclass(slots=True)
class DesiredColumn:
    name: str
    data_type: str | None  # None: not known (stored as 'unknown' on a new column)
    description: str | None
    position: int
    extracted_from: str
    confidence: float


@dataclass(slots=True)
class DesiredDependency:
    upstream_fqn: str
    dependency_type: str
    extracted_from: str
    extraction_tier: str | None
    confidence: float


@dataclass(slots=True)
class DesiredLineage:
    column: str  # downstream column name (in this dataset)
    upstream: UpstreamRef | None
    mapping_type: str
    lineage_type: str
    role: str | None
    transformation_expression: str | None
    confidence: float
    extracted_from: str

    @property
    def key(self) -> LineageKey:
        return (self.column, self.upstream, self.lineage_type, self.role)


@dataclass
class ColumnSet:
    """A dataset's columns by name, in position order, findable case-insensitively."""

    columns: dict[str, DesiredColumn] = field(default_factory=dict)
    by_lower: dict[str, str] = field(default_factory=dict)

    def add(self, column: DesiredColumn) -> None:
        self.columns[column.name] = column
        self.by_lower.setdefault(column.name.lower(), column.name)

    def find(self, name: str) -> str | None:
        return name if name in self.columns else self.by_lower.get(name.lower())


@dataclass
class DesiredDataset:
    fqn: str
    values: dict[str, Any]  # extraction-written dataset fields
    columns: dict[str, DesiredColumn]  # by name, in position order
    dependencies: dict[str, DesiredDependency] = field(default_factory=dict)  # by upstream fqn
    lineage: dict[LineageKey, DesiredLineage] = field(default_factory=dict)
    input_hash: str = ""

    @property
    def resource_type(self) -> str:
        return str(self.values["resource_type"])

    def column_names(self) -> frozenset[str]:
        return frozenset(self.columns)


class DesiredState:
    """The extraction indexed per dataset; full desired rows are built (and cached) on demand."""

    def __init__(
        self,
        extraction: Extraction,
        edges: Iterable[ColumnEdge],
        connection_id: uuid.UUID | None,
        options: ReconcileOptions,
    ) -> None:
        kinds = wanted_resource_types(options)
        self.connection_id = connection_id
        self.objects: dict[str, DbtObject] = {
            o.unique_id: o for o in extraction.objects if o.resource_type in kinds and o.enabled
        }
        self.edges_skipped = 0
        self.dependencies_skipped = 0
        self._deps: dict[str, list[Dependency]] = defaultdict(list)
        self._edges: dict[str, list[tuple[ColumnEdge, str, str | None, str | None]]] = defaultdict(list)
        self._refs: dict[str, list[str]] = defaultdict(list)  # column names lineage mentions, in order
        self._columns: dict[str, ColumnSet] = {}
        self._built: dict[str, DesiredDataset] = {}
        self._index_dependencies(extraction.dependencies)
        self._index_edges(edges)

    def __contains__(self, fqn: object) -> bool:
        return fqn in self.objects

    def __len__(self) -> int:
        return len(self.objects)

    def _index_dependencies(self, dependencies: Iterable[Dependency]) -> None:
        for dep in dependencies:
            if dep.source in self.objects:
                self._deps[dep.source].append(dep)
            else:  # a test's or an exposure's dependency
                self.dependencies_skipped += 1

    def _index_edges(self, edges: Iterable[ColumnEdge]) -> None:
        """Group edges by target; note every column an edge names on a dataset of this extraction."""
        for edge in edges:
            target_model, _, target_column = edge.target.rpartition(".")
            if target_model not in self.objects or edge.mapping_type not in _MAPPING_TYPES:
                self.edges_skipped += 1  # into a test, an exposure, or malformed
                continue
            source_model = source_column = None
            if edge.source is not None:
                source_model, _, source_column = edge.source.rpartition(".")
            self._edges[target_model].append((edge, target_column, source_model, source_column))
            self._refs[target_model].append(target_column)
            if source_model in self.objects:
                # A column lineage reads from is a real column even when no column list mentioned it.
                self._refs[source_model].append(source_column or "")

    def external_refs(self) -> set[str]:
        """Upstream fqns referenced by dependencies or lineage that this extraction does not define."""
        refs = {d.target for deps in self._deps.values() for d in deps if d.target not in self.objects}
        refs.update(
            source
            for edges in self._edges.values()
            for _, _, source, _ in edges
            if source is not None and source not in self.objects
        )
        return refs

    # -- input hash ---------------------------------------------------------------------------

    def input_hash(self, fqn: str, external: ExternalResolver) -> str:
        """A hash of everything reconcile writes for `fqn`, including how its references resolve.

        References to datasets of this extraction hash by name (they always exist after the run);
        references outside it hash by the catalog ids they resolved to, so a dataset whose missing
        upstream later appears is diffed again.
        """
        obj = self.objects[fqn]
        parts = [LOGIC_VERSION, str(self.connection_id), repr(_object_key(obj))]
        parts.extend(repr(_column_key(c)) for c in obj.catalog_columns or ())
        parts.append("declared")
        parts.extend(repr(_column_key(c)) for c in obj.declared_columns)
        parts.append("\x1f".join(self._refs.get(fqn, ())))
        parts.extend(sorted(repr(self._dependency_key(d, external)) for d in self._deps.get(fqn, ())))
        parts.extend(sorted(repr(self._edge_key(e, external)) for e in self._edges.get(fqn, ())))
        return sha256_text("\x1e".join(parts))

    def _dependency_key(self, dep: Dependency, external: ExternalResolver) -> tuple[Any, ...]:
        token = "x" if dep.target in self.objects else external(dep.target, None)
        return (dep.target, dep.dependency_type, dep.extracted_from, dep.tier, dep.confidence, token)

    def _edge_key(
        self, entry: tuple[ColumnEdge, str, str | None, str | None], external: ExternalResolver
    ) -> tuple[Any, ...]:
        edge, _, source_model, source_column = entry
        token = None
        if source_model is not None:
            token = "x" if source_model in self.objects else external(source_model, source_column)
        return (
            edge.target,
            edge.source,
            edge.mapping_type,
            edge.lineage_type,
            edge.transformation,
            edge.confidence,
            edge.role,
            token,
        )

    # -- desired rows -------------------------------------------------------------------------

    def dataset(self, fqn: str) -> DesiredDataset:
        built = self._built.get(fqn)
        if built is None:
            built = self._build(fqn)
            self._built[fqn] = built
        return built

    def _build(self, fqn: str) -> DesiredDataset:
        obj = self.objects[fqn]
        ds = DesiredDataset(fqn, _values(obj, self.connection_id), self._column_set(fqn).columns)
        for dep in self._deps.get(fqn, ()):
            if dep.target not in ds.dependencies:  # found by two extraction paths: keep the first
                ds.dependencies[dep.target] = _dependency(dep)
        for edge, target_column, source_model, source_column in self._edges.get(fqn, ()):
            lineage = self._lineage(ds, edge, target_column, source_model, source_column)
            ds.lineage.setdefault(lineage.key, lineage)
        return ds

    def _column_set(self, fqn: str) -> ColumnSet:
        """The best column list (catalog, else schema.yml), then the columns lineage mentions."""
        found = self._columns.get(fqn)
        if found is not None:
            return found
        obj = self.objects[fqn]
        columns = ColumnSet()
        declared = {c.name.lower(): c for c in obj.declared_columns}
        for index, info in enumerate(obj.columns, start=1):
            if info.name not in columns.columns:
                columns.add(_column(info, declared.get(info.name.lower()), index, obj.confidence))
        for name in self._refs.get(fqn, ()):
            if columns.find(name) is None:
                columns.add(
                    DesiredColumn(
                        name, None, None, len(columns.columns) + 1, "sql_parsing", _unit(obj.confidence)
                    )
                )
        self._columns[fqn] = columns
        return columns

    def _lineage(
        self,
        ds: DesiredDataset,
        edge: ColumnEdge,
        target_column: str,
        source_model: str | None,
        source_column: str | None,
    ) -> DesiredLineage:
        column = self._column_set(ds.fqn).find(target_column) or target_column
        upstream: UpstreamRef | None = None
        if source_model is not None:
            if source_model in self.objects:
                source_column = self._column_set(source_model).find(source_column or "") or source_column
            upstream = (source_model, source_column)
        lineage_type = "indirect" if edge.lineage_type == "indirect" else "direct"
        role = (edge.role or DEFAULT_INDIRECT_ROLE) if lineage_type == "indirect" else edge.role
        return DesiredLineage(
            column=column,
            upstream=upstream,
            mapping_type=edge.mapping_type,
            lineage_type=lineage_type,
            role=role,
            transformation_expression=edge.transformation,
            confidence=_unit(edge.confidence),
            extracted_from=str(ds.values["extracted_from"]),
        )


def wanted_resource_types(options: ReconcileOptions) -> frozenset[str]:
    extra = {"exposure"} if options.include_exposures else set()
    if options.include_analyses:
        extra.add("analysis")
    return BASE_RESOURCE_TYPES | extra


def build_desired(
    extraction: Extraction,
    column_edges: Sequence[ColumnEdge],
    connection_id: uuid.UUID | None,
    options: ReconcileOptions,
) -> DesiredState:
    return DesiredState(extraction, column_edges, connection_id, options)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash(obj: DbtObject) -> str:
    """The raw SQL's hash, or for SQL-less objects (sources, seeds) a hash of what defines them.

    The name is deliberately left out so a renamed object keeps its hash (rename detection).
    """
    if obj.raw_sql:
        return sha256_text(obj.raw_sql)
    defining = {
        "resource_type": obj.resource_type,
        "relation": [obj.database, obj.schema, obj.alias],
        "columns": [[c.name, c.data_type] for c in obj.columns],
    }
    return sha256_text(json.dumps(defining, sort_keys=True))


def _object_key(obj: DbtObject) -> tuple[Any, ...]:
    return (
        obj.unique_id,
        obj.name,
        obj.resource_type,
        obj.materialization,
        obj.file_path,
        obj.original_file_path,
        obj.raw_sql,
        obj.compiled_sql,
        obj.description,
        tuple(obj.tags),
        obj.tier,
        obj.confidence,
        obj.database,
        obj.schema,
        obj.alias,
    )


def _column_key(info: ColumnInfo) -> tuple[Any, ...]:
    return (info.name, info.data_type, info.description, info.position, info.source)


def _values(obj: DbtObject, connection_id: uuid.UUID | None) -> dict[str, Any]:
    extracted_from = EXTRACTED_FROM_BY_TIER.get(obj.tier, "manifest")
    return {
        "fqn": obj.unique_id,
        "unique_id": obj.unique_id,
        "name": obj.name,
        "connection_id": connection_id,
        "resource_type": obj.resource_type,
        "materialization_type": obj.materialization or None,
        "description": obj.description or None,
        "tags": list(dict.fromkeys(obj.tags)) or None,
        "file_path": obj.file_path or obj.original_file_path or None,
        "definition": obj.raw_sql or None,
        "compiled_definition": obj.compiled_sql or None,
        "extraction_tier": obj.tier,
        "confidence": _unit(obj.confidence),
        "extracted_from": extracted_from,
        "content_hash": content_hash(obj),
    }


def _column(info: ColumnInfo, declared: ColumnInfo | None, index: int, confidence: float) -> DesiredColumn:
    """A column of the best list, schema.yml filling its gaps (type, description) by name."""
    data_type = info.data_type or (declared.data_type if declared else None)
    description = info.description or (declared.description if declared else None)
    return DesiredColumn(
        name=info.name,
        data_type=_known_type(data_type),
        description=description or None,
        position=info.position if info.position is not None else index,
        extracted_from=COLUMN_SOURCE.get(info.source, info.source),
        confidence=_unit(confidence),
    )


def _dependency(dep: Dependency) -> DesiredDependency:
    return DesiredDependency(
        upstream_fqn=dep.target,
        dependency_type=dep.dependency_type if dep.dependency_type in DEPENDENCY_TYPES else "ref",
        extracted_from=dep.extracted_from or "manifest",
        extraction_tier=dep.tier,
        confidence=_unit(dep.confidence),
    )


def _known_type(data_type: str | None) -> str | None:
    if not data_type or data_type.strip().lower() == "unknown":
        return None
    return data_type[:255]


def _unit(value: float | None) -> float:
    return 1.0 if value is None else min(1.0, max(0.0, float(value)))
