"""Column lineage of a whole dbt project: model schemas in dependency order, one pass per model.

Models are analysed in topological "waves": every model in a wave depends only on earlier waves, so
the output columns inferred for a model are known before any model that selects `*` from it. Each
model's schema comes from the most trusted place that has it: catalog.json, then the manifest's
declared columns when they cover what the SQL produces, then the columns inferred from its own SQL.
(schema.yml often documents only some columns: expanding a downstream `select *` from such a list
would silently drop the others, so a partial list only wins when the SQL's columns are unknown, and
then a downstream `select *` expands it plus a residual `*` standing for the undocumented rest.)

`select *` over a relation nothing describes stays a `*` column; its columns are completed from the
model's own catalog/schema.yml entry, else from the names downstream models read through it.

Within a wave, uncached models run in a process pool. Results are cached per project (see `cache`):
each model's record holds its statement, edges and inferred schema under its statement key (a hash
of its compiled SQL, dialect, upstream columns and engine version) and a digest of the context its
edges were resolved in (its own seeded schema; for each table it reads, the node that table is and
that node's schema source and display names). A re-run replays every model whose key and context
still match, without re-deriving an edge, re-analyses only models whose SQL or upstream columns
changed, and re-absorbs (without re-analysing) those whose context alone changed. Edges stay plain
data until read (see `EdgeList`), so a run that replays everything touches no edge at all.

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
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from metadata_pipeline.ingest.extraction import DbtObject, Extraction
from metadata_pipeline.lineage.cache import (
    LineageCache,
    columns_digest,
    decode_statement,
    digest,
    dumps,
    encode_statement,
    loads,
    pairs_text,
    statement_key,
)
from metadata_pipeline.lineage.column_lineage import ColumnLineage, StatementLineage, statement_lineage
from metadata_pipeline.lineage.dialects import dialect_for_adapter
from metadata_pipeline.lineage.edges import ColumnEdge, EdgeList, EdgeRow
from metadata_pipeline.lineage.lineage_schema import LineageSchema, TableKey, column_key

SchemaSource = Literal["catalog", "manifest", "inferred"]

ANALYZED_TYPES = frozenset({"model", "snapshot"})
RELATION_TYPES = frozenset({"model", "seed", "snapshot", "source"})
SNAPSHOT_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")
EPHEMERAL_PREFIX = "__dbt__cte__"
PARTIAL_STAR = "*"
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
    edges: Sequence[ColumnEdge] = field(default_factory=EdgeList)
    schemas: dict[str, ModelSchema] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    statements: Mapping[str, StatementLineage] = field(default_factory=dict)  # per analysed model


class StatementMap(Mapping[str, StatementLineage]):
    """Per-model statements; those replayed from the cache stay marshal bytes until first read."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, StatementLineage | bytes] = {}

    def __setitem__(self, uid: str, value: StatementLineage | bytes) -> None:
        self._items[uid] = value

    def __getitem__(self, uid: str) -> StatementLineage:
        value = self._items[uid]
        if isinstance(value, bytes):
            value = self._items[uid] = decode_statement(loads(value))
        return value

    def __contains__(self, uid: object) -> bool:
        return uid in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as a plain dict: marshal bytes are only meant for this interpreter.
        return (dict, (dict(self.items()),))


# Position of the engine's own statement in a snapshot record (see `_ProjectRun._record`).
_RAW = 10


@dataclass(slots=True)
class _ModelInfo:
    """What `finish` needs of each analysed model, known without decoding its statement."""

    columns: int  # output columns
    with_lineage: int  # of which with value upstreams or Calculated
    star: str | None  # the one table an unexpanded `select *` reads, if any
    # Distinct edge sources ("unique_id.column"); compressed when replayed, as most runs never
    # need them (only a project with unexpanded stars does).
    encoded_sources: tuple[str, ...] | bytes

    @property
    def sources(self) -> tuple[str, ...]:
        if isinstance(self.encoded_sources, bytes):
            self.encoded_sources = tuple(loads(self.encoded_sources))
        return self.encoded_sources


@dataclass(frozen=True)
class _Task:
    """Everything a worker needs to analyse one model (plain data, so it pickles)."""

    sql: str
    dialect: str
    schema: dict[TableKey, dict[str, str]]  # upstream relations: {normalized column: type}
    ephemeral: dict[str, str]  # lower-cased `__dbt__cte__x` -> ephemeral model unique_id
    timeout_s: float


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
    snapshot = cache.snapshot(run.identity) if cache else None
    waves = run.waves()
    hits = computed = replayed = 0
    analyzing = 0.0  # wall time spent analysing SQL (the rest is cache and bookkeeping)
    with _executor(workers) as pool:
        for wave in waves:
            keys = {uid: run.key(uid) for uid in wave}
            records: dict[str, tuple[Any, ...]] = {}
            pending: list[tuple[str, _Task]] = []
            for uid in wave:
                record = snapshot.get(uid, keys[uid]) if snapshot else None
                if record is not None:
                    records[uid] = record
                else:
                    pending.append((uid, run.task(uid)))
            results: dict[str, StatementLineage] = {}
            mark = time.perf_counter()
            for (uid, _task), lineage in zip(pending, _map(pool, [p[1] for p in pending]), strict=True):
                results[uid] = lineage
            analyzing += time.perf_counter() - mark
            for uid in wave:
                # Checked here, in order: a record is only valid in the context its edges were
                # resolved in, which earlier models of this wave may just have changed.
                record = records.get(uid)
                if record is not None and run.replay(uid, record):
                    replayed += 1
                    continue
                lineage = results.get(uid) or _raw_statement(record)
                if lineage is None:  # an unreadable record: redo the model here
                    mark = time.perf_counter()
                    lineage = analyze_task(run.task(uid))
                    analyzing += time.perf_counter() - mark
                    results[uid] = lineage
                fresh = run.absorb(uid, lineage, keys[uid] if snapshot and not _timed_out(lineage) else None)
                if snapshot and fresh is not None:
                    snapshot.put(uid, fresh)
            computed += len(results)
            hits += len(wave) - len(results)
    result = run.finish()
    if snapshot:
        snapshot.retain(run.order)
        snapshot.save()
    result.stats.update(
        {
            "waves": len(waves),
            "analyzed": computed,
            "cache_hits": hits,
            "replayed": replayed,
            "seconds": round(time.perf_counter() - started, 3),
            "analysis_seconds": round(analyzing, 3),
            "dialect": run.dialect,
        }
    )
    return result


def _raw_statement(record: tuple[Any, ...] | None) -> StatementLineage | None:
    """The statement a record was made from, as the engine returned it."""
    try:
        return decode_statement(loads(record[_RAW])) if record else None
    except (IndexError, EOFError, ValueError, TypeError, zlib.error):
        return None


def _timed_out(lineage: StatementLineage) -> bool:
    """A timeout says how busy the machine was, not what the SQL means: never cache one."""
    return any(error.startswith("timeout:") for error in lineage.errors)


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
        self.use_catalog = use_catalog
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
        # Per node, hashed once per run however many models read it: its columns as a downstream
        # statement sees them (part of their statement keys), and its schema source and display
        # names (part of the context their edges are resolved in).
        self._digests: dict[str, str] = {}
        self._states: dict[str, str] = {}
        self._seeds: dict[str, str] = {}  # hash of the schema each node was seeded with
        self._partial: set[str] = set()  # star models whose schema is a possibly partial list
        self._inputs: dict[str, tuple[list[tuple[TableKey, str]], dict[str, str]]] = {}
        self._name_cache: dict[str, str] = {}
        self._table_cache: dict[tuple[str | None, str], str | None] = {}
        self.edges = EdgeList()
        self.errors: list[str] = []
        self.statements = StatementMap()
        self.infos: dict[str, _ModelInfo] = {}
        self.order: list[str] = []  # analysed nodes, upstream before downstream
        self.identity = digest(
            extraction.project_name, extraction.project_root or "", self.dialect, str(use_catalog)
        )
        self._relations: dict[TableKey, str] = {}
        self._relation_keys: dict[str, TableKey] = {}
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
            key = self._relation_keys[uid] = _relation_key(obj)
            if not key:
                continue
            folded = tuple(map(str.casefold, key))
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
        used as they are; other names (schema.yml) are normalized like unquoted identifiers.
        Takes ownership of `columns`."""
        self.schemas[uid] = ModelSchema(columns=columns, source=source)
        if exact:
            self.names[uid] = dict(zip(columns, columns, strict=True))
        else:
            normalized = self._normalized
            self.names[uid] = {normalized(name): name for name in columns}
        # (Seeding runs first: there is nothing derived from this node to invalidate yet.)
        # One hash of the seeded columns stands for everything derived from them (the dialect and
        # `source` decide the rest): the columns downstream keys hash, the state edge contexts hash,
        # and this node's own state before its SQL is absorbed. One pass over the columns instead
        # of one per use; a node whose schema is later inferred is hashed afresh.
        fingerprint = digest("seeded", source, pairs_text(columns.items()))
        self._digests[uid] = self._states[uid] = self._seeds[uid] = fingerprint

    def _schema_changed(self, uid: str) -> None:
        self._sql_cache.pop(uid, None)
        self._folded.pop(uid, None)
        self._digests.pop(uid, None)
        self._states.pop(uid, None)

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
        if uid in self._partial:
            # A column named `*` survives qualification as a column, which the walk then traces to
            # (this table, `*`): the same lineage an unexpanded star has.
            columns[PARTIAL_STAR] = ""
        self._sql_cache[uid] = columns
        return columns

    def _digest(self, uid: str) -> str:
        found = self._digests.get(uid)
        if found is None:
            found = self._digests[uid] = columns_digest(self._sql_columns(uid) or {})
        return found

    def _state(self, uid: str) -> str:
        """What edges read through `uid` depend on: its schema's source (the confidence factor)
        and its display names."""
        found = self._states.get(uid)
        if found is None:
            schema = self.schemas.get(uid)
            names = self.names.get(uid)
            found = self._states[uid] = digest(
                schema.source if schema else "", pairs_text(names.items()) if names else ""
            )
        return found

    def _own_state(self, uid: str) -> str:
        """What absorbing `uid`'s statement depends on besides the statement itself: its resource
        type, the schema it was seeded with and, for snapshots, dbt's column names. (Its display
        names follow from that schema and the dialect; its schema.yml columns either are that schema
        or, under a catalog, go unread.)"""
        obj = self.objects[uid]
        # A snapshot's bookkeeping column names are config, not SQL.
        extra = "\x1f".join(obj.snapshot_columns)
        return f"{obj.resource_type}\x1f{self._seeds.get(uid, '')}\x1f{extra}"

    # ------------------------------------------------------------------------------ order

    def analyzable(self) -> list[str]:
        return [
            uid
            for uid, obj in self.objects.items()
            if obj.resource_type in ANALYZED_TYPES
            and obj.compiled_sql
            and not obj.compiled_sql.isspace()  # (isspace stops at the first character; strip copies)
            and not _is_python_model(obj.compiled_sql)
        ]

    def waves(self) -> list[list[str]]:
        """Analysable nodes grouped so each group depends only on earlier groups."""
        nodes = set(self.analyzable())
        # Kahn's algorithm, one level at a time: linear in models + dependencies.
        waiting = {uid: len([d for d in self.deps.get(uid, ()) if d in nodes]) for uid in nodes}
        downstream: dict[str, list[str]] = defaultdict(list)
        for uid in nodes:
            for dep in self.deps.get(uid, ()):
                if dep in nodes:
                    downstream[dep].append(uid)
        waves: list[list[str]] = []
        ready = sorted(uid for uid, count in waiting.items() if not count)
        while waiting:
            if not ready:
                # A dependency cycle (disabled or broken manifests): analyse the rest together.
                ready = sorted(waiting)
            waves.append(ready)
            for uid in ready:
                del waiting[uid]
            following: list[str] = []
            for uid in ready:
                for child in downstream.get(uid, ()):
                    if child in waiting:
                        waiting[child] -= 1
                        if not waiting[child]:
                            following.append(child)
            ready = sorted(following)
        return waves

    # ------------------------------------------------------------------------------ tasks

    def key(self, uid: str) -> str:
        """The statement key of `uid`: its SQL, dialect and the digests of its inputs' columns."""
        relations, ephemeral = self._model_inputs(uid)
        return statement_key(
            self.objects[uid].compiled_sql or "",
            self.dialect,
            [(key, self._digest(dep)) for key, dep in relations],
            ephemeral.items(),
        )

    def task(self, uid: str) -> _Task:
        relations, ephemeral = self._model_inputs(uid)
        schema: dict[TableKey, dict[str, str]] = {}
        for key, dep in relations:
            schema[key] = self._sql_columns(dep) or {}
        return _Task(
            sql=self.objects[uid].compiled_sql or "",
            dialect=self.dialect,
            schema=schema,
            ephemeral=ephemeral,
            timeout_s=self.timeout_s,
        )

    def _model_inputs(self, uid: str) -> tuple[list[tuple[TableKey, str]], dict[str, str]]:
        """The relations `uid`'s SQL is analysed against as (schema key, unique_id), and its inlined
        ephemeral CTEs. Only upstreams with known columns count: the others add nothing."""
        found = self._inputs.get(uid)
        if found is not None:
            return found
        sql = self.objects[uid].compiled_sql or ""
        relations: list[tuple[TableKey, str]] = []
        ephemeral: dict[str, str] = {}
        for dep in sorted(self._upstreams(uid, sql)):
            dep_obj = self.objects[dep]
            if not self.names.get(dep) or dep not in self.schemas:
                continue  # nothing known of its columns (what `_sql_columns` would say)
            if dep_obj.materialization == "ephemeral":
                ephemeral[f"{EPHEMERAL_PREFIX}{dep_obj.name}".lower()] = dep
                relations.append(((dep,), dep))
                continue
            key = self._relation_keys.get(dep) or _relation_key(dep_obj)
            if key:
                relations.append((key, dep))
        # Upstreams are final by the time a model's wave runs, so this holds for the whole run.
        self._inputs[uid] = (relations, ephemeral)
        return relations, ephemeral

    def _upstreams(self, uid: str, sql: str) -> set[str]:
        recorded = self.deps.get(uid)
        if not self._ephemeral_by_name and recorded:
            return set(recorded)  # the common case, with nothing to look for in the SQL
        deps = set(recorded or ())
        lowered = sql.lower()
        # The substring test is a necessary condition of the (case-insensitive) pattern and much
        # cheaper than running the regex over every model's SQL.
        if self._ephemeral_by_name and EPHEMERAL_PREFIX in lowered:
            for name in _EPHEMERAL_RE.findall(sql):
                dep = self._ephemeral_by_name.get(name.lower())
                if dep and dep != uid:
                    deps.add(dep)
        if not recorded:
            # No recorded dependencies (older or partial manifests): any relation named in the SQL.
            for other, obj in self.objects.items():
                alias = (obj.alias or obj.name or "").lower()
                if other != uid and obj.resource_type in RELATION_TYPES and alias and alias in lowered:
                    deps.add(other)
        return deps

    # ------------------------------------------------------------------------------ results

    def absorb(self, uid: str, lineage: StatementLineage, key: str | None = None) -> tuple[Any, ...] | None:
        """Record one model's lineage: its schema for downstream models and its edges.

        With a statement `key`, also returns the model's snapshot record (see `replay`)."""
        own = self._own_state(uid) if key is not None else ""
        raw = lineage
        lineage = self._complete_star(uid, lineage)
        self.statements[uid] = lineage
        self.order.append(uid)
        self.errors.extend(f"{uid}: {error}" for error in lineage.errors)
        self._infer_schema(uid, lineage)
        rows, direct, refs, sources = self._edge_rows(uid, lineage)
        self.edges.add_rows(rows, direct)
        columns = with_lineage = 0
        star_tables: set[str] = set()
        for column in lineage.columns:
            columns += 1
            if column.upstreams or column.mapping_type == "Calculated":
                with_lineage += 1
            if column.column == "*":
                star_tables.update(table for table, name in column.upstreams if name == "*")
        star = star_tables.pop() if len(star_tables) == 1 else None
        self.infos[uid] = _ModelInfo(columns, with_lineage, star, sources)
        if key is None:
            return None
        return self._record(uid, key, own, refs, raw, lineage, rows, direct, sources)

    def _record(
        self,
        uid: str,
        key: str,
        own: str,
        refs: tuple[tuple[str, str], ...],
        raw: StatementLineage,
        lineage: StatementLineage,
        rows: list[EdgeRow],
        direct: int,
        sources: tuple[str, ...],
    ) -> tuple[Any, ...] | None:
        """The snapshot record of a model just absorbed; see `replay` for when it holds.

        Whatever a replay of an all-cached run does not read (schemas it need not restore, edges,
        statements, edge sources) is a compressed blob: unmarshalling a bytes object is a copy,
        unmarshalling the same data as tuples of strings costs twenty times more."""
        context = self._context(uid, refs, own)
        schema = self.schemas.get(uid)
        blobs = (
            dumps(rows),
            dumps(encode_statement(raw)),
            # Completing a star rarely changes anything: only then is the result stored too.
            None if lineage is raw else dumps(encode_statement(lineage)),
            dumps(
                (tuple(schema.columns.items()), tuple(self.names.get(uid, {}).items()), uid in self._partial)
                if schema
                else ()
            ),
            dumps(sources),
        )
        if context is None or any(b is None for i, b in enumerate(blobs) if i != 2):
            return None
        edges_blob, raw_blob, completed_blob, schema_blob, sources_blob = blobs
        info = self.infos[uid]
        # Positions matter (_RAW is read on its own): bump cache.LAYOUT on any change.
        return (
            key,
            context,
            refs,
            schema.source if schema else "",
            schema_blob,
            self._digest(uid) if schema else "",
            self._state(uid) if schema else "",
            edges_blob,
            len(rows),
            direct,
            raw_blob,
            completed_blob,
            info.columns,
            info.with_lineage,
            info.star or "",
            tuple(lineage.errors),
            sources_blob,
        )

    def replay(self, uid: str, record: tuple[Any, ...]) -> bool:
        """Apply a snapshot record made by `absorb` under the same statement key, if the context
        its edges were resolved in still holds; else change nothing and return False.

        The context is `uid`'s own schema.yml/catalog state before absorbing, and for every table its
        statement reads: the node it resolves to, that node's schema source and display names.
        Together with the statement key that is everything `absorb` reads, so replaying gives what
        absorbing would, without re-deriving a single edge."""
        try:
            (
                _key,
                context,
                refs,
                schema_source,
                schema_blob,
                columns_hash,
                state_hash,
                edges_blob,
                count,
                direct,
                raw_blob,
                completed_blob,
                columns,
                with_lineage,
                star,
                errors,
                sources_blob,
            ) = record
        except (TypeError, ValueError):
            return False  # a record of another shape: absorb afresh
        if self._context(uid, refs, self._own_state(uid)) != context:
            return False
        if schema_source and schema_source != "catalog":
            # (A catalog schema is never changed by absorbing, and the context check just confirmed
            # it is the one the record was made with: nothing to restore.)
            try:
                schema_columns, names, partial = loads(schema_blob)
            except (EOFError, ValueError, TypeError, zlib.error):
                return False
            self.schemas[uid] = ModelSchema(columns=dict(schema_columns), source=schema_source)
            self.names[uid] = dict(names)
            if partial:
                self._partial.add(uid)
            self._schema_changed(uid)
        if schema_source:
            # Functions of the schema and names in place: no need to hash them again.
            self._digests[uid] = columns_hash
            self._states[uid] = state_hash
        self.statements[uid] = completed_blob or raw_blob
        self.order.append(uid)
        self.errors.extend(f"{uid}: {error}" for error in errors)
        self.edges.add_encoded(edges_blob, count, direct)
        self.infos[uid] = _ModelInfo(columns, with_lineage, star or None, sources_blob)
        return True

    def _context(self, uid: str, refs: tuple[tuple[str, str], ...], own: str) -> str | None:
        parts = [own]
        for table, resolved in refs:
            if (self.resolve_table(table, uid) or "") != resolved:
                return None
            # A model reading itself (incremental) yields no edge, and its own state moves on
            # while it is absorbed: leave it out.
            parts.append(self._state(resolved) if resolved and resolved != uid else "")
        return digest(*parts)

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
        if self.objects[uid].resource_type == "snapshot":
            # dbt adds these itself (see `_snapshot_edges`); they do not come through the star.
            produced |= {c.casefold() for c in _snapshot_columns(self.objects[uid])}
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
            produced += [
                c for c in _snapshot_columns(obj) if c.casefold() not in {p.casefold() for p in produced}
            ]
        has_star = any(c.column == "*" for c in lineage.columns)
        if has_star and current is not None:
            # Its SQL's columns are unknown, so its schema.yml list stays its schema, but nothing
            # says that list is complete: a `select *` downstream expands it plus a residual `*`
            # for the rest, instead of silently dropping every undocumented column.
            self._partial.add(uid)
            self._schema_changed(uid)
        if not produced or has_star or lineage.confidence == 0.0:
            # Declared columns (if any) stay.
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
        self._schema_changed(uid)

    def _edge_rows(
        self, uid: str, lineage: StatementLineage
    ) -> tuple[list[EdgeRow], int, tuple[tuple[str, str], ...], tuple[str, ...]]:
        """One model's edges as rows in ColumnEdge field order, how many are direct, the tables it
        reads with the node each resolved to, and the distinct edge sources."""
        sources: dict[tuple[str, str], tuple[str | None, float]] = {}
        rows: list[EdgeRow] = []
        direct = 0
        for column in lineage.columns:
            target = f"{uid}.{self._display(uid, column.column)}"
            mapping = column.mapping_type
            confidence = column.confidence
            seen: set[tuple[str | None, str | None]] = set()
            if not column.upstreams and mapping == "Calculated":
                rows.append((target, None, "Calculated", "direct", column.transformation, confidence, None))
                direct += 1
            for table, name in column.upstreams:
                found = sources.get((table, name))
                if found is None:
                    found = sources[(table, name)] = self._source(uid, table, name)
                source, factor = found
                if source is not None and (source, None) not in seen:
                    seen.add((source, None))
                    rows.append(
                        (
                            target,
                            source,
                            mapping,
                            "direct",
                            column.transformation,
                            round(confidence * factor, 2),
                            None,
                        )
                    )
                    direct += 1
            for table, name, role in column.indirect:
                found = sources.get((table, name))
                if found is None:
                    found = sources[(table, name)] = self._source(uid, table, name)
                source, factor = found
                if source is not None and (source, role) not in seen:
                    seen.add((source, role))
                    rows.append(
                        (target, source, mapping, "indirect", None, round(confidence * factor, 2), role)
                    )
        tables = sorted({table for table, _ in sources})
        refs = tuple((table, self.resolve_table(table, uid) or "") for table in tables)
        distinct = tuple(sorted({source for source, _ in sources.values() if source is not None}))
        return rows, direct, refs, distinct

    def _emit(self, seen: set[tuple[str, str | None, str, str | None]], edge: ColumnEdge) -> None:
        key = (edge.target, edge.source, edge.lineage_type, edge.role)
        if key not in seen:
            seen.add(key)
            self.edges.append(edge)

    def _source(self, uid: str, table: str, column: str) -> tuple[str | None, float]:
        """`unique_id.column` for an upstream (table, column), and a confidence factor."""
        source_uid = self.resolve_table(table, uid)
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

    def resolve_table(self, table: str, reader: str | None = None) -> str | None:
        """The unique_id of a table named in lineage output (db.schema.name, any case).

        Two nodes can share a relation (a seed and a source declared over the seed's table); the
        one `reader` depends on is the one it reads, so its recorded dependencies are tried first.
        """
        key = (reader, table)
        if key in self._table_cache:
            return self._table_cache[key]
        uid = self._resolve_among_dependencies(table, reader) if reader else None
        if uid is None:
            uid = self._resolve_table(table)
        self._table_cache[key] = uid
        return uid

    def _resolve_among_dependencies(self, table: str, reader: str) -> str | None:
        deps = self.deps.get(reader)
        if not deps:
            return None
        folded = tuple(p.casefold() for p in table.split("."))
        matches = set()
        for dep in deps:
            key = self._relation_keys.get(dep)
            if not key:
                continue
            dep_key = tuple(map(str.casefold, key))
            n = min(len(dep_key), len(folded))
            if dep_key[-n:] == folded[-n:]:
                matches.add(dep)
        return matches.pop() if len(matches) == 1 else None

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
        star_models = {uid: info.star for uid in self.order if (info := self.infos[uid]).star}
        if not star_models:
            return
        read: dict[str, set[str]] = defaultdict(set)
        for info in self.infos.values():
            for source in info.sources:
                model, _, name = source.rpartition(".")
                if model in star_models and name != "*":
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
        for uid in self.order:
            obj = self.objects[uid]
            if obj.resource_type != "snapshot":
                continue
            lineage = self.statements[uid]
            produced = {c.column.casefold() for c in lineage.columns}
            # Behind an unexpanded star the catalog's other columns may well come from the star;
            # dbt's own four (under their default names) are dbt's whatever the SQL selects.
            extra = (
                [] if "*" in produced or not self.use_catalog else [c.name for c in obj.catalog_columns or []]
            )
            for name in dict.fromkeys([*_snapshot_columns(obj), *extra]):
                if name.casefold() not in produced:
                    target = f"{uid}.{self._display(uid, name)}"
                    self._emit(
                        seen, ColumnEdge(target, None, "Calculated", "direct", "dbt snapshot metadata")
                    )

    def finish(self) -> ProjectLineage:
        self._complete_stars_from_demand()
        self._snapshot_edges()
        stats = {
            "models": len(self.statements),
            "columns": sum(info.columns for info in self.infos.values()),
            "columns_with_lineage": sum(info.with_lineage for info in self.infos.values()),
            "edges": len(self.edges),
            "direct_edges": self.edges.direct_count,
            "indirect_edges": self.edges.indirect_count,
            "errors": len(self.errors),
        }
        return ProjectLineage(
            edges=self.edges,
            schemas=self.schemas,
            errors=self.errors,
            stats=stats,
            statements=self.statements,
        )


def _snapshot_columns(obj: DbtObject) -> Sequence[str]:
    """The bookkeeping columns dbt adds to a snapshot, under the project's names for them."""
    return obj.snapshot_columns or SNAPSHOT_COLUMNS


def _is_python_model(code: str) -> bool:
    """dbt Python models keep their Python source where SQL models keep compiled SQL."""
    # The substring tests are necessary conditions of the pattern and far cheaper than scanning
    # every model's SQL with a multi-line regex.
    return "def" in code and "dbt" in code and bool(_PYTHON_MODEL_RE.search(code))


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
