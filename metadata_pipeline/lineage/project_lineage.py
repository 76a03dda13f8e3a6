"""Column lineage of a whole dbt project: model schemas in dependency order, one pass per model.

Models are analysed in topological "waves": every model in a wave depends only on earlier waves, so
the output columns inferred for a model are known before any model that selects `*` from it. Each
model's schema comes from the most trusted place that has it: catalog.json, then the manifest's
declared columns when they cover what the SQL produces, then the columns inferred from its own SQL.
(schema.yml often documents only some columns: expanding a downstream `select *` from such a list
would silently drop the others, so a partial list only wins when the SQL's columns are unknown.)

`select *` over a relation nothing describes stays a `*` column; its columns are completed from the
model's own catalog/schema.yml entry, else from the names downstream models read through it.
Within a wave, uncached models run in a process pool; each result is cached on disk under a hash
of its compiled SQL, dialect, upstream schemas and engine version, so a re-run redoes only models
whose SQL changed or whose upstream columns did.

Ephemeral models are inlined by dbt as `__dbt__cte__<name>` CTEs. We swap each such CTE for a
reference to the ephemeral model itself, so a mart's edges point at the ephemeral model and the
ephemeral model's own edges continue to its sources (`trace_to_sources` follows the chain). That
mirrors dbt's DAG and analyses each ephemeral body once instead of once per consumer.
"""

from __future__ import annotations

import csv
import functools
import multiprocessing
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from metadata_pipeline.ingest.extraction import DbtObject, Extraction
from metadata_pipeline.lineage.cache import LineageCache, cache_key
from metadata_pipeline.lineage.column_lineage import ColumnLineage, StatementLineage, statement_lineage
from metadata_pipeline.lineage.dialects import dialect_for_adapter
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.lineage.lineage_schema import LineageSchema, TableKey, column_key

SchemaSource = Literal["catalog", "manifest", "inferred"]

ANALYZED_TYPES = frozenset({"model", "snapshot"})
RELATION_TYPES = frozenset({"model", "seed", "snapshot", "source"})
SNAPSHOT_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
EPHEMERAL_PREFIX = "__dbt__cte__"
_EPHEMERAL_RE = re.compile(r"__dbt__cte__(\w+)", re.IGNORECASE)
_PYTHON_MODEL_RE = re.compile(r"^\s*def\s+model\s*\(\s*dbt\s*,", re.MULTILINE)
# Upstream schemas we trust less lower the confidence of edges read through them.
_SOURCE_CONFIDENCE: dict[str, float] = {"catalog": 1.0, "manifest": 0.98, "inferred": 0.95}
# Below this many models in a wave, a process pool costs more than it saves.
_MIN_PARALLEL_TASKS = 4


@dataclass
class ModelSchema:
    """Output columns of a node (name -> type, '' when unknown) and where they came from."""

    columns: dict[str, str]
    source: SchemaSource


@dataclass
class ProjectLineage:
    edges: list[ColumnEdge] = field(default_factory=list)
    schemas: dict[str, ModelSchema] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    statements: dict[str, StatementLineage] = field(default_factory=dict)  # per analysed model


@dataclass(frozen=True)
class _Task:
    """Everything a worker needs to analyse one model (plain data, so it pickles)."""

    sql: str
    dialect: str
    schema: dict[TableKey, dict[str, str]]  # upstream relations: {normalized column: type}
    ephemeral: dict[str, str]  # lower-cased `__dbt__cte__x` -> ephemeral model unique_id
    timeout_s: float

    def key(self) -> str:
        return cache_key(self.sql, self.dialect, self.schema, sorted(self.ephemeral.items()))


def compute_project_lineage(
    extraction: Extraction,
    *,
    cache_dir: Path | None = None,
    workers: int | None = None,
    timeout_s: float = 10.0,
    use_catalog: bool = True,
) -> ProjectLineage:
    """Column edges for every model and snapshot with compiled SQL in `extraction`."""
    started = time.perf_counter()
    run = _ProjectRun(extraction, use_catalog=use_catalog, timeout_s=timeout_s)
    cache = LineageCache(cache_dir) if cache_dir else None
    waves = run.waves()
    hits = computed = 0
    with _executor(workers) as pool:
        for wave in waves:
            tasks = {uid: run.task(uid) for uid in wave}
            results: dict[str, StatementLineage] = {}
            pending: list[tuple[str, _Task, str]] = []
            for uid, task in tasks.items():
                key = task.key()
                cached = cache.get(key) if cache else None
                if cached is not None:
                    results[uid] = cached
                    hits += 1
                else:
                    pending.append((uid, task, key))
            for (uid, _task, key), lineage in zip(pending, _map(pool, [p[1] for p in pending]), strict=True):
                results[uid] = lineage
                computed += 1
                if cache:
                    cache.put(key, lineage)
            for uid in wave:
                run.absorb(uid, results[uid])
    result = run.finish()
    result.stats.update(
        {
            "waves": len(waves),
            "analyzed": computed,
            "cache_hits": hits,
            "seconds": round(time.perf_counter() - started, 3),
            "dialect": run.dialect,
        }
    )
    return result


def analyze_task(task: _Task) -> StatementLineage:
    """Worker entry point: one model's statement lineage."""
    rewrite = functools.partial(swap_ephemeral_ctes, task.ephemeral) if task.ephemeral else None
    # Column names in the task are already in the form the dialect resolves them to.
    schema = LineageSchema(task.schema, dialect=task.dialect)
    # The catalog may be older than the SQL: a column it lacks is still read from the only table.
    return statement_lineage(
        task.sql, task.dialect, schema, timeout_s=task.timeout_s, rewrite=rewrite, strict_schema=False
    )


def swap_ephemeral_ctes(ephemeral: dict[str, str], statement: exp.Expr) -> exp.Expr:
    """Replace dbt's inlined `__dbt__cte__x` CTEs with references to the ephemeral model `x`."""
    for cte in list(statement.find_all(exp.CTE)):
        if cte.alias_or_name.lower() in ephemeral:
            with_ = cte.parent
            cte.pop()
            if isinstance(with_, exp.With) and not with_.expressions:
                with_.pop()
    for table in list(statement.find_all(exp.Table)):
        unique_id = ephemeral.get(table.name.lower()) if not table.args.get("db") else None
        if unique_id is None:
            continue
        if not table.alias:
            # Columns may still be qualified with the CTE's name.
            table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
        table.set("this", exp.to_identifier(unique_id, quoted=True))
    return statement


def trace_to_sources(edges: Iterable[ColumnEdge], column: str, *, include_indirect: bool = False) -> set[str]:
    """The columns at the end of every value-lineage path into `column` ("unique_id.column").

    Follows direct edges (and indirect ones when asked) upstream until a column has no upstream of
    its own: typically a source or seed column. A column only reachable through an unexpanded
    `select *` (`model.x.*`) continues through the star under its own name. Names match ignoring case.
    """
    upstream: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        if edge.source and (include_indirect or edge.lineage_type == "direct"):
            upstream[edge.target.casefold()].add(edge.source)
    found: set[str] = set()
    seen: set[str] = set()
    stack = [column]
    while stack:
        node = stack.pop()
        if node.casefold() in seen:
            continue
        seen.add(node.casefold())
        parents = _parents(upstream, node)
        if parents:
            stack.extend(parents)
        elif node.casefold() != column.casefold():
            found.add(node)
    return found


def _parents(upstream: dict[str, set[str]], node: str) -> set[str]:
    parents = upstream.get(node.casefold())
    if parents:
        return parents
    model, _, name = node.rpartition(".")
    through_star = upstream.get(f"{model}.*".casefold(), set())
    return {p[:-1] + name if p.endswith(".*") else p for p in through_star}


# ----------------------------------------------------------------------------------- project


class _ProjectRun:
    """State of one project's lineage computation: schemas so far, relation index, edges."""

    def __init__(self, extraction: Extraction, *, use_catalog: bool, timeout_s: float) -> None:
        self.extraction = extraction
        self.dialect = dialect_for_adapter(extraction.adapter_type)
        self.timeout_s = timeout_s
        self.objects = {o.unique_id: o for o in extraction.objects if o.enabled}
        self.deps: dict[str, set[str]] = defaultdict(set)
        for dep in extraction.dependencies:
            if dep.source in self.objects and dep.target in self.objects and dep.source != dep.target:
                self.deps[dep.source].add(dep.target)
        self.schemas: dict[str, ModelSchema] = {}
        # Per node: column names as the warehouse resolves them -> the display name used in edges.
        self.names: dict[str, dict[str, str]] = {}
        self._sql_cache: dict[str, dict[str, str]] = {}
        self._folded: dict[str, dict[str, str]] = {}
        self._name_cache: dict[str, str] = {}
        self._table_cache: dict[str, str | None] = {}
        self.edges: list[ColumnEdge] = []
        self.errors: list[str] = []
        self.statements: dict[str, StatementLineage] = {}
        self.order: list[str] = []  # analysed nodes, upstream before downstream
        self._relations: dict[TableKey, str] = {}
        self._by_last: dict[str, list[tuple[TableKey, str]]] = defaultdict(list)
        self._ephemeral_by_name: dict[str, str] = {}
        self._case_insensitive = _case_insensitive(self.dialect)
        self._index_relations()
        self._seed_schemas(use_catalog)

    # ---------------------------------------------------------------------------- schemas

    def _index_relations(self) -> None:
        for uid, obj in self.objects.items():
            if obj.resource_type not in RELATION_TYPES:
                continue
            if obj.materialization == "ephemeral":
                self._ephemeral_by_name.setdefault(obj.name.lower(), uid)
                continue
            key = _relation_key(obj)
            if not key:
                continue
            folded = tuple(p.casefold() for p in key)
            self._relations.setdefault(folded, uid)
            self._by_last[folded[-1]].append((folded, uid))

    def _seed_schemas(self, use_catalog: bool) -> None:
        root = Path(self.extraction.project_root or ".")
        for uid, obj in self.objects.items():
            if use_catalog and obj.catalog_columns:
                columns = {c.name: c.data_type or "" for c in obj.catalog_columns}
                self._set_schema(uid, columns, "catalog", exact=not self._case_insensitive)
            elif obj.declared_columns:
                columns = {c.name: c.data_type or "" for c in obj.declared_columns}
                self._set_schema(uid, columns, "manifest", exact=False)
            elif obj.resource_type == "seed":
                header = _seed_header(root, obj)
                if header:
                    self._set_schema(uid, dict.fromkeys(header, ""), "inferred", exact=False)

    def _set_schema(self, uid: str, columns: dict[str, str], source: SchemaSource, exact: bool) -> None:
        """`exact`: the names are spelled as the warehouse stores them (catalog.json), so they are
        used as they are; other names (schema.yml) are normalized like unquoted identifiers."""
        self.schemas[uid] = ModelSchema(columns=dict(columns), source=source)
        if exact:
            self.names[uid] = {name: name for name in columns}
        else:
            self.names[uid] = {self._normalized(name): name for name in columns}
        self._sql_cache.pop(uid, None)
        self._folded.pop(uid, None)

    def _normalized(self, name: str) -> str:
        cached = self._name_cache.get(name)
        if cached is None:
            cached = self._name_cache[name] = column_key(name, self.dialect)
        return cached

    def _sql_columns(self, uid: str) -> dict[str, str] | None:
        """The node's columns as schema entries for a downstream statement, keyed by the name
        the dialect resolves them to."""
        cached = self._sql_cache.get(uid)
        if cached is not None:
            return cached
        names = self.names.get(uid)
        schema = self.schemas.get(uid)
        if not names or schema is None:
            return None
        columns = {key: schema.columns.get(display, "") for key, display in names.items()}
        self._sql_cache[uid] = columns
        return columns

    # ------------------------------------------------------------------------------ order

    def analyzable(self) -> list[str]:
        return [
            uid
            for uid, obj in self.objects.items()
            if obj.resource_type in ANALYZED_TYPES
            and (obj.compiled_sql or "").strip()
            and not _is_python_model(obj.compiled_sql or "")
        ]

    def waves(self) -> list[list[str]]:
        """Analysable nodes grouped so each group depends only on earlier groups."""
        nodes = set(self.analyzable())
        pending = {uid: {d for d in self.deps.get(uid, ()) if d in nodes} for uid in nodes}
        waves: list[list[str]] = []
        while pending:
            ready = sorted(uid for uid, deps in pending.items() if not deps)
            if not ready:
                # A dependency cycle (disabled or broken manifests): analyse the rest together.
                ready = sorted(pending)
            waves.append(ready)
            for uid in ready:
                pending.pop(uid)
            for deps in pending.values():
                deps.difference_update(ready)
        return waves

    # ------------------------------------------------------------------------------ tasks

    def task(self, uid: str) -> _Task:
        obj = self.objects[uid]
        sql = obj.compiled_sql or ""
        schema: dict[TableKey, dict[str, str]] = {}
        ephemeral: dict[str, str] = {}
        for dep in sorted(self._upstreams(uid, sql)):
            dep_obj = self.objects[dep]
            columns = self._sql_columns(dep)
            if dep_obj.materialization == "ephemeral":
                if columns:
                    ephemeral[f"{EPHEMERAL_PREFIX}{dep_obj.name}".lower()] = dep
                    schema[(dep,)] = columns
                continue
            key = _relation_key(dep_obj)
            if key and columns:
                schema[key] = columns
        return _Task(
            sql=sql, dialect=self.dialect, schema=schema, ephemeral=ephemeral, timeout_s=self.timeout_s
        )

    def _upstreams(self, uid: str, sql: str) -> set[str]:
        deps = set(self.deps.get(uid, ()))
        lowered = sql.lower()
        for name in _EPHEMERAL_RE.findall(sql):
            dep = self._ephemeral_by_name.get(name.lower())
            if dep and dep != uid:
                deps.add(dep)
        if not self.deps.get(uid):
            # No recorded dependencies (older or partial manifests): any relation named in the SQL.
            for other, obj in self.objects.items():
                alias = (obj.alias or obj.name or "").lower()
                if other != uid and obj.resource_type in RELATION_TYPES and alias and alias in lowered:
                    deps.add(other)
        return deps

    # ------------------------------------------------------------------------------ results

    def absorb(self, uid: str, lineage: StatementLineage) -> None:
        """Record one model's lineage: its schema for downstream models and its edges."""
        lineage = self._complete_star(uid, lineage)
        self.statements[uid] = lineage
        self.order.append(uid)
        self.errors.extend(f"{uid}: {error}" for error in lineage.errors)
        self._infer_schema(uid, lineage)
        self._add_edges(uid, lineage)

    def _complete_star(self, uid: str, lineage: StatementLineage) -> StatementLineage:
        """`select *` over a table with unknown columns, in a model whose own columns are known
        (catalog or schema.yml): the columns the SQL does not name come through the star."""
        star = next((c for c in lineage.columns if c.column == "*"), None)
        schema = self.schemas.get(uid)
        if star is None or schema is None or schema.source == "inferred":
            return lineage
        tables = {table for table, column in star.upstreams if column == "*"}
        if len(tables) != 1:
            return lineage
        (table,) = tables
        produced = {c.column.casefold() for c in lineage.columns}
        added = [
            ColumnLineage(
                column=name,
                upstreams=[(table, name)],
                mapping_type="Direct",
                confidence=min(star.confidence, 0.7),
                indirect=list(star.indirect),
            )
            for name in schema.columns
            if name.casefold() not in produced
        ]
        # A catalog lists every column, so nothing is left behind the star; schema.yml may not.
        kept = [c for c in lineage.columns if c is not star or schema.source != "catalog"]
        return replace(lineage, columns=kept + added)

    def _infer_schema(self, uid: str, lineage: StatementLineage) -> None:
        current = self.schemas.get(uid)
        if current is not None and current.source == "catalog":
            return
        obj = self.objects[uid]
        produced = [c.column for c in lineage.columns if c.column != "*"]
        if obj.resource_type == "snapshot":
            produced += [c for c in SNAPSHOT_COLUMNS if c.casefold() not in {p.casefold() for p in produced}]
        has_star = any(c.column == "*" for c in lineage.columns)
        if not produced or has_star or lineage.confidence == 0.0:
            # Declared columns (if any) stay; a partial list would make `select *` downstream lie.
            return
        declared = {c.name.casefold(): c for c in obj.declared_columns}
        columns: dict[str, str] = {}
        for name in produced:
            info = declared.get(name.casefold())
            columns[name] = (info.data_type or "") if info else ""
        covered = bool(declared) and all(n.casefold() in declared for n in produced)
        self.schemas[uid] = ModelSchema(
            columns={
                declared[n.casefold()].name if n.casefold() in declared else n: t for n, t in columns.items()
            },
            source="manifest" if covered else "inferred",
        )
        # Keys are the SQL's own (already normalized) output names; display names follow schema.yml.
        self.names[uid] = {
            name: declared[name.casefold()].name if name.casefold() in declared else name for name in columns
        }
        self._sql_cache.pop(uid, None)
        self._folded.pop(uid, None)

    def _add_edges(self, uid: str, lineage: StatementLineage) -> None:
        # Hot path on warm re-runs (every cached model still becomes edges): keep it lean.
        sources: dict[tuple[str, str], tuple[str | None, float]] = {}
        edges = self.edges
        for column in lineage.columns:
            target = f"{uid}.{self._display(uid, column.column)}"
            mapping = column.mapping_type
            confidence = column.confidence
            seen: set[tuple[str | None, str | None]] = set()
            if not column.upstreams and mapping == "Calculated":
                edges.append(
                    ColumnEdge(target, None, "Calculated", "direct", column.transformation, confidence)
                )
            for table, name in column.upstreams:
                found = sources.get((table, name))
                if found is None:
                    found = sources[(table, name)] = self._source(uid, table, name)
                source, factor = found
                if source is not None and (source, None) not in seen:
                    seen.add((source, None))
                    edges.append(
                        ColumnEdge(
                            target,
                            source,
                            mapping,
                            "direct",
                            column.transformation,
                            round(confidence * factor, 2),
                        )
                    )
            for table, name, role in column.indirect:
                found = sources.get((table, name))
                if found is None:
                    found = sources[(table, name)] = self._source(uid, table, name)
                source, factor = found
                if source is not None and (source, role) not in seen:
                    seen.add((source, role))
                    edges.append(
                        ColumnEdge(
                            target, source, mapping, "indirect", None, round(confidence * factor, 2), role
                        )
                    )

    def _emit(self, seen: set[tuple[str, str | None, str, str | None]], edge: ColumnEdge) -> None:
        key = (edge.target, edge.source, edge.lineage_type, edge.role)
        if key not in seen:
            seen.add(key)
            self.edges.append(edge)

    def _source(self, uid: str, table: str, column: str) -> tuple[str | None, float]:
        """`unique_id.column` for an upstream (table, column), and a confidence factor."""
        source_uid = self.resolve_table(table)
        if source_uid == uid:
            return None, 1.0  # incremental models read themselves; that is not lineage
        if source_uid is None:
            return f"{table}.{column}", 1.0
        schema = self.schemas.get(source_uid)
        factor = _SOURCE_CONFIDENCE[schema.source] if schema else 1.0
        return f"{source_uid}.{self._display(source_uid, column)}", factor

    def _display(self, uid: str, column: str) -> str:
        """The name edges use for a column: as catalog.json or schema.yml spell it."""
        names = self.names.get(uid)
        if not names:
            return column
        found = names.get(column)
        if found is not None:
            return found
        folded = self._folded.get(uid)
        if folded is None:
            folded = self._folded[uid] = {key.casefold(): display for key, display in names.items()}
        return folded.get(column.casefold(), column)

    def resolve_table(self, table: str) -> str | None:
        """The unique_id of a table named in lineage output (db.schema.name, any case)."""
        if table in self._table_cache:
            return self._table_cache[table]
        uid = self._resolve_table(table)
        self._table_cache[table] = uid
        return uid

    def _resolve_table(self, table: str) -> str | None:
        if table in self.objects:
            return table
        folded = tuple(p.casefold() for p in table.split("."))
        uid = self._relations.get(folded)
        if uid is not None:
            return uid
        matches = {
            candidate_uid
            for key, candidate_uid in self._by_last.get(folded[-1], [])
            if key[-min(len(key), len(folded)) :] == folded[-min(len(key), len(folded)) :]
        }
        return matches.pop() if len(matches) == 1 else None

    def _complete_stars_from_demand(self) -> None:
        """Columns downstream models read through a model that is only `select * from t` (t with
        unknown columns) come from t under the same name. Walking models downstream-first lets a
        name demanded at the end of a chain of such models reach its source."""
        star_models: dict[str, str] = {}
        for uid in self.order:
            star_tables = {
                table
                for column in self.statements[uid].columns
                if column.column == "*"
                for table, name in column.upstreams
                if name == "*"
            }
            if len(star_tables) == 1:
                star_models[uid] = star_tables.pop()
        if not star_models:
            return
        read: dict[str, set[str]] = defaultdict(set)
        prefixes = {f"{uid}.": uid for uid in star_models}
        for edge in self.edges:
            model, _, name = (edge.source or "").rpartition(".")
            if f"{model}." in prefixes and name != "*":
                read[model].add(name)
        for uid in reversed(self.order):
            table = star_models.get(uid)
            if table is None:
                continue
            produced = {c.column.casefold() for c in self.statements[uid].columns}
            seen: set[tuple[str, str | None, str, str | None]] = set()
            for name in sorted(read.get(uid, ())):
                if not name or name.casefold() in produced:
                    continue
                source, factor = self._source(uid, table, name)
                if source is None:
                    continue
                edge = ColumnEdge(f"{uid}.{name}", source, "Direct", "direct", None, round(0.6 * factor, 2))
                self._emit(seen, edge)
                if edge.source_model in self.statements:
                    read[edge.source_model].add(edge.source_column or "")

    def _snapshot_edges(self) -> None:
        """dbt adds its own bookkeeping columns to every snapshot: they have no upstream. Their
        names are configurable, so a catalog column the snapshot's SQL does not produce is one."""
        seen: set[tuple[str, str | None, str, str | None]] = set()
        for uid, lineage in self.statements.items():
            obj = self.objects[uid]
            if obj.resource_type != "snapshot":
                continue
            produced = {c.column.casefold() for c in lineage.columns}
            if "*" in produced:
                continue  # the star may well produce the catalog's other columns
            extra = [c.name for c in obj.catalog_columns or []]
            for name in dict.fromkeys([*SNAPSHOT_COLUMNS, *extra]):
                if name.casefold() not in produced:
                    target = f"{uid}.{self._display(uid, name)}"
                    self._emit(
                        seen, ColumnEdge(target, None, "Calculated", "direct", "dbt snapshot metadata")
                    )

    def finish(self) -> ProjectLineage:
        self._complete_stars_from_demand()
        self._snapshot_edges()
        columns = with_lineage = 0
        for lineage in self.statements.values():
            for column in lineage.columns:
                columns += 1
                if column.upstreams or column.mapping_type == "Calculated":
                    with_lineage += 1
        stats = {
            "models": len(self.statements),
            "columns": columns,
            "columns_with_lineage": with_lineage,
            "edges": len(self.edges),
            "direct_edges": sum(1 for e in self.edges if e.lineage_type == "direct"),
            "indirect_edges": sum(1 for e in self.edges if e.lineage_type == "indirect"),
            "errors": len(self.errors),
        }
        return ProjectLineage(
            edges=self.edges,
            schemas=self.schemas,
            errors=self.errors,
            stats=stats,
            statements=self.statements,
        )


def _is_python_model(code: str) -> bool:
    """dbt Python models keep their Python source where SQL models keep compiled SQL."""
    return bool(_PYTHON_MODEL_RE.search(code))


def _relation_key(obj: DbtObject) -> TableKey:
    return tuple(p for p in (obj.database, obj.schema, obj.alias or obj.name) if p)


def _case_insensitive(dialect: str) -> bool:
    strategy = Dialect.get_or_raise(dialect or None).NORMALIZATION_STRATEGY
    return strategy in (
        NormalizationStrategy.CASE_INSENSITIVE,
        NormalizationStrategy.CASE_INSENSITIVE_UPPERCASE,
    )


def _seed_header(root: Path, obj: DbtObject) -> list[str]:
    for relative in (obj.original_file_path, obj.file_path):
        if not relative:
            continue
        path = root / relative
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                return [h.strip() for h in next(csv.reader(handle), []) if h.strip()]
        except (OSError, UnicodeDecodeError, csv.Error):
            return []
    return []


# ------------------------------------------------------------------------------ parallelism


@contextmanager
def _executor(workers: int | None) -> Iterator[_LazyPool]:
    pool = _LazyPool(workers if workers is not None else (os.cpu_count() or 1))
    try:
        yield pool
    finally:
        pool.shutdown()


class _LazyPool:
    """A process pool started only when a wave has enough uncached work to pay for it."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: Executor | None = None

    def get(self) -> Executor:
        if self._pool is None:
            methods = multiprocessing.get_all_start_methods()
            # fork shares the already-imported sqlglot; other start methods re-import it per worker.
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _map(pool: _LazyPool, tasks: list[_Task]) -> list[StatementLineage]:
    if pool.workers <= 1 or len(tasks) < _MIN_PARALLEL_TASKS:
        return [analyze_task(t) for t in tasks]
    chunksize = max(1, len(tasks) // (pool.workers * 4))
    return list(pool.get().map(analyze_task, tasks, chunksize=chunksize))


__all__ = [
    "ColumnLineage",
    "ModelSchema",
    "ProjectLineage",
    "analyze_task",
    "compute_project_lineage",
    "swap_ephemeral_ctes",
    "trace_to_sources",
]
