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

Within a wave, uncached models run in a process pool. Results are cached per project (see `cache`),
and a re-run is incremental in the manner of dbt's `state:modified+`. Each node's snapshot entry
holds what its own result depends on (its compiled SQL, and a fingerprint of the columns it is seeded
with and of its config), how it was seeded and, for an analysed model, a record of its finished
result: statement, edges, final schema, and the nodes it read with the "token" each had then (a
digest of what a reader sees of a node: its columns, schema source and display names). A re-run
reads every node's own inputs once; a node whose entry still matches is seeded from it without
normalizing or hashing a name, and a model whose inputs' tokens are those its record holds is
restored from it wholesale, in last run's order (so a change propagates to exactly the models that
read something that changed). Records validate themselves that way whichever run wrote them. The
others take the per-model path: their statement key (a hash of the compiled SQL, dialect, upstream
columns and engine version) and the digest of the context their edges were resolved in (their own
seeded schema; for each table they read, the node that table is and that node's token) are checked
against the record, to replay it without re-deriving an edge, re-absorb it (when only the context
changed) or re-analyse the model. A change to the project's graph (a node added, removed, renamed or
re-wired) sends every model down that path. Edges stay plain data until read (see `EdgeList`), so a
run that restores everything touches no edge at all.

Ephemeral models are inlined by dbt as `__dbt__cte__<name>` CTEs. We swap each such CTE for a
reference to the ephemeral model itself, so a mart's edges point at the ephemeral model and the
ephemeral model's own edges continue to its sources (`trace_to_sources` follows the chain). That
mirrors dbt's DAG and analyses each ephemeral body once instead of once per consumer.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import marshal
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
from itertools import chain
from pathlib import Path
from typing import Any, Literal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

from metadata_pipeline.ingest.extraction import DbtObject, Extraction
from metadata_pipeline.lineage.cache import (
    META,
    LineageCache,
    ProjectSnapshot,
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


class _DisplayNames(dict[str, dict[str, str]]):
    """Per node: column names as the warehouse resolves them -> the display name used in edges.

    A node seeded from the cache gets its names on first read, from its seeded schema and the names
    its snapshot entry says they normalize to (`pending`: None when they are the names as they
    are): a run that restores a project reads few of them."""

    __slots__ = ("pending", "schemas")

    def __init__(self, schemas: dict[str, ModelSchema]) -> None:
        super().__init__()
        self.pending: dict[str, tuple[str, ...] | None] = {}
        self.schemas = schemas

    def __missing__(self, uid: str) -> dict[str, str]:
        keys = self.pending.pop(uid)  # (KeyError: nothing known of this node's names)
        # Still the seeded schema: absorbing a model sets its names whenever it replaces it.
        columns = self.schemas[uid].columns
        value = self[uid] = (
            {name: name for name in columns} if keys is None else dict(zip(keys, columns, strict=True))
        )
        return value

    def get(self, uid: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[uid]
        except KeyError:
            return default


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


# A snapshot entry (see `_ProjectRun.save`), one flat tuple per node: its fingerprint (see
# `_fingerprint`), its compiled SQL if it is a model or snapshot, how it was seeded (see `_set_schema`:
# schema source, the names its column names normalize to, its token then; all None without a
# schema) and, for an analysed model, its record (see `_ProjectRun._record`; False when it has
# none, e.g. after a timeout; None for a node that is not analysed). Flat tuples of strings keep a
# warm run's loading, garbage collection and freeing cheap. Positions matter: bump cache.LAYOUT on
# any change.
_E_FP, _E_SQL, _E_SOURCE, _E_KEYS, _E_TOKEN, _E_RECORD, _E_LEN = range(7)
(
    _R_GRAPH,  # the project's graph it was made in (see `_ProjectRun.start`)
    # Its statement key, edge context digest and tables with the nodes they resolved to, as one
    # marshal blob: only the per-model path reads them (see `_checks`).
    _R_CHECKS,
    # The nodes its statement was analysed against, and their tokens then (see `_ProjectRun._token`)
    # joined into one string: one string to load and compare instead of one per node.
    _R_KEY_READS,
    _R_KEY_TOKENS,
    # The nodes the tables in its lineage resolve to, and their tokens when it was absorbed.
    _R_CONTEXT_READS,
    _R_CONTEXT_TOKENS,
    # Its schema after absorbing: source None (it has none), False (the seeded one, as it was) or
    # the source of the one absorbing inferred, its columns, display names and partial flag.
    _R_FINAL,
    _R_FINAL_COLUMNS,
    _R_FINAL_NAMES,
    _R_FINAL_PARTIAL,
    _R_TOKEN,  # its own token after absorbing
    _R_EDGES,
    _R_COUNT,
    _R_DIRECT,
    _R_RAW,  # the engine's own statement (read on its own by `_raw_statement`)
    _R_COMPLETED,
    _R_COLUMNS,
    _R_WITH_LINEAGE,
    _R_STAR,
    _R_ERRORS,
    _R_SOURCES,
    _R_LEN,
) = range(22)
_DIGEST_LENGTH = len(digest())


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
    identity = _ProjectRun.identity_of(extraction, use_catalog)
    snapshot = LineageCache(cache_dir).snapshot(identity) if cache_dir else None
    run = _ProjectRun(extraction, use_catalog=use_catalog, timeout_s=timeout_s, seed=False)
    waves = run.start(snapshot)
    hits = computed = replayed = 0
    analyzing = 0.0  # wall time spent analysing SQL (the rest is cache and bookkeeping)
    with _executor(workers) as pool:
        for wave in waves:
            # A model whose SQL and inputs are those its record was made from needs no statement
            # key: `restore` applies the record in order (or, if its context moved, re-absorbs it).
            keys = {uid: run.key(uid) for uid in run.redo(wave)}
            records: dict[str, tuple[Any, ...]] = {}
            pending: list[tuple[str, _Task]] = []
            for uid in keys:
                record = run.previous_record(uid, keys[uid])
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
                if uid in keys:
                    key = keys[uid]
                    record = records.get(uid)
                    if record is not None and run.replay(uid, record):
                        replayed += 1
                        continue
                elif run.restore(uid):
                    replayed += 1
                    continue
                else:
                    record = run.previous_record(uid)
                    key = _checks(record)[0] if record else ""
                lineage = results.get(uid) or _raw_statement(record)
                if lineage is None:  # an unreadable record: redo the model here
                    mark = time.perf_counter()
                    lineage = analyze_task(run.task(uid))
                    analyzing += time.perf_counter() - mark
                    results[uid] = lineage
                run.absorb(uid, lineage, key if snapshot and not _timed_out(lineage) else None)
            computed += len(results)
            hits += len(wave) - len(results)
    result = run.finish()
    if snapshot:
        run.save(snapshot)
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
        return decode_statement(loads(record[_R_RAW])) if record else None
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

    def __init__(
        self, extraction: Extraction, *, use_catalog: bool, timeout_s: float, seed: bool = True
    ) -> None:
        """`seed`: give every node the schema its catalog/schema.yml/seed file says now (else
        `start` does, from the cache where it can)."""
        self.extraction = extraction
        self.dialect = dialect_for_adapter(extraction.adapter_type)
        self.timeout_s = timeout_s
        self.use_catalog = use_catalog
        self.root = Path(extraction.project_root or ".")
        self.objects = {o.unique_id: o for o in extraction.objects if o.enabled}
        self.deps: dict[str, set[str]] = defaultdict(set)
        objects = self.objects
        for dep in extraction.dependencies:
            source, target = dep.source, dep.target
            if source in objects and target in objects and source != target:
                # The unique_id objects the nodes have: snapshot records name the same node many
                # times, and marshal stores an object it has seen as a reference to it.
                self.deps[source].add(objects[target].unique_id)
        self.schemas: dict[str, ModelSchema] = {}
        # Per node: column names as the warehouse resolves them -> the display name used in edges.
        self.names = _DisplayNames(self.schemas)
        self._sql_cache: dict[str, dict[str, str]] = {}
        self._folded: dict[str, dict[str, str]] = {}
        # Per node, hashed once per run however many models read it, as one string (see `_token`):
        # its columns as a downstream statement sees them (part of their statement keys), and its
        # schema source and display names (part of the context their edges are resolved in).
        self._tokens: dict[str, str] = {}
        # How each node seeded here was seeded, as its snapshot entry holds it (see `_set_schema`),
        # and every node's token as seeded (what `_own_state` reads).
        self._seeded: dict[str, tuple[str, Any, str]] = {}
        self._seed_tokens: dict[str, str] = {}
        self._inferred: set[str] = set()  # models whose schema absorbing replaced
        self._headers: dict[str, list[str]] = {}  # header rows of seed files, read once
        self._partial: set[str] = set()  # star models whose schema is a possibly partial list
        self._inputs: dict[str, tuple[list[tuple[TableKey, str]], dict[str, str]]] = {}
        self._upstream_sets: dict[str, set[str]] = {}
        self._name_cache: dict[str, str] = {}
        self._table_cache: dict[tuple[str | None, str], str | None] = {}
        self.edges = EdgeList()
        self.errors: list[str] = []
        self.statements = StatementMap()
        self.infos: dict[str, _ModelInfo] = {}
        self.order: list[str] = []  # analysed nodes, upstream before downstream
        self.identity = self.identity_of(extraction, use_catalog)
        # Built on first use: a run that restores everything from the cache resolves no table.
        self._relations: dict[TableKey, str] | None = None
        self._by_last: dict[str, list[tuple[TableKey, str]]] = {}
        self._relation_keys: dict[str, TableKey | None] = {}
        self._ephemeral_by_name: dict[str, str] | None = None
        self._case_insensitive = _case_insensitive(self.dialect)
        # Runs with a cache (see `start`): last run's entries, this run's fingerprints and records.
        self._tracking = False
        self._previous: dict[str, Any] = {}
        self._fingerprints: dict[str, str] = {}
        self._graph = b""  # a hash of the project's graph (see `start`)
        self._graph_text: str | None = None  # set when it is not last run's
        self._reseeded: set[str] = set()  # nodes whose entry does not hold (changed, or new)
        self._trusted: dict[str, tuple[Any, ...]] = {}  # records of the models whose entry holds
        self._analysable: set[str] = set()
        self._key_reads: dict[str, tuple[tuple[str, ...], str]] = {}
        self._records: dict[str, tuple[Any, ...] | None] = {}  # models absorbed or replayed
        self._waves: list[list[str]] | None = None
        if seed:
            self._seed_schemas()

    @staticmethod
    def identity_of(extraction: Extraction, use_catalog: bool) -> str:
        """What names a project's cache snapshot: runs of other settings keep their own."""
        return digest(
            extraction.project_name,
            extraction.project_root or "",
            dialect_for_adapter(extraction.adapter_type),
            str(use_catalog),
        )

    # ---------------------------------------------------------------------------- relations

    def _relation_key_of(self, uid: str) -> TableKey | None:
        """The relation a node is in the warehouse, if it is one (an ephemeral model is not)."""
        if uid in self._relation_keys:
            return self._relation_keys[uid]
        obj = self.objects.get(uid)
        key = (
            _relation_key(obj)
            if obj is not None and obj.resource_type in RELATION_TYPES and obj.materialization != "ephemeral"
            else None
        )
        self._relation_keys[uid] = key
        return key

    def _relation_index(self) -> tuple[dict[TableKey, str], dict[str, list[tuple[TableKey, str]]]]:
        if self._relations is None:
            relations: dict[TableKey, str] = {}
            by_last: dict[str, list[tuple[TableKey, str]]] = defaultdict(list)
            for uid in self.objects:
                key = self._relation_key_of(uid)
                if not key:
                    continue
                folded = tuple(map(str.casefold, key))
                relations.setdefault(folded, uid)
                by_last[folded[-1]].append((folded, uid))
            self._relations, self._by_last = relations, by_last
        return self._relations, self._by_last

    def _ephemeral_names(self) -> dict[str, str]:
        if self._ephemeral_by_name is None:
            names: dict[str, str] = {}
            for uid, obj in self.objects.items():
                if obj.materialization == "ephemeral" and obj.resource_type in RELATION_TYPES:
                    names.setdefault(obj.name.lower(), uid)
            self._ephemeral_by_name = names
        return self._ephemeral_by_name

    # ---------------------------------------------------------------------------- schemas

    def _seed_schemas(self) -> None:
        for uid, obj in self.objects.items():
            self._seed(uid, obj)

    def _seed(self, uid: str, obj: DbtObject) -> None:
        if self.use_catalog and obj.catalog_columns:
            columns = {c.name: c.data_type or "" for c in obj.catalog_columns}
            self._set_schema(uid, columns, "catalog", exact=not self._case_insensitive)
        elif obj.declared_columns:
            columns = {c.name: c.data_type or "" for c in obj.declared_columns}
            self._set_schema(uid, columns, "manifest", exact=False)
        elif obj.resource_type == "seed":
            header = self._headers.get(uid)
            if header is None:
                header = self._headers[uid] = _seed_header(self.root, obj)
            if header:
                self._set_schema(uid, dict.fromkeys(header, ""), "inferred", exact=False)

    def _set_schema(self, uid: str, columns: dict[str, str], source: SchemaSource, exact: bool) -> None:
        """`exact`: the names are spelled as the warehouse stores them (catalog.json), so they are
        used as they are; other names (schema.yml) are normalized like unquoted identifiers.
        Takes ownership of `columns`."""
        self.schemas[uid] = ModelSchema(columns=columns, source=source)
        keys: Any = None  # the normalized names, when they are not the names as they are
        if exact:
            names = self.names[uid] = {name: name for name in columns}
        else:
            normalized = self._normalized
            names = self.names[uid] = {normalized(name): name for name in columns}
            if len(names) != len(columns):
                keys = names  # two names normalize alike: the mapping itself
            elif not names.keys() == columns.keys():
                keys = tuple(names)  # in the order of `columns`
        # (Seeding runs first: there is nothing derived from this node to invalidate yet.)
        # One hash of the seeded columns stands for everything derived from them (the dialect and
        # `source` decide the rest): the columns downstream keys hash, the state edge contexts hash,
        # and this node's own state before its SQL is absorbed. One pass over the columns instead
        # of one per use; a node whose schema is later inferred is hashed afresh.
        fingerprint = digest("seeded", source, pairs_text(columns.items()))
        token = self._tokens[uid] = self._seed_tokens[uid] = fingerprint + fingerprint  # (see `_token`)
        # Its columns are the ones `_fingerprint` read; the rest goes in its snapshot entry.
        self._seeded[uid] = (source, keys, token)

    def _restore_seed(self, uid: str, entry: tuple[Any, ...], columns: dict[str, str] | None) -> bool:
        """Seed an unchanged node as `_seed` did last time, from its snapshot `entry` and the
        `columns` `_fingerprint` just read: no name is normalized or hashed again. False if the entry
        is unreadable. Takes ownership of `columns`."""
        source = entry[_E_SOURCE]
        if source is None:
            return columns is None  # (it had no schema)
        keys = entry[_E_KEYS]
        if columns is None or not (keys is None or type(keys) is dict or len(keys) == len(columns)):
            return False
        self.schemas[uid] = ModelSchema(columns=columns, source=source)
        if type(keys) is dict:
            self.names[uid] = keys
        else:
            self.names.pending[uid] = keys  # (derived on first read: most never are)
        self._tokens[uid] = self._seed_tokens[uid] = entry[_E_TOKEN]
        return True

    def _schema_changed(self, uid: str) -> None:
        self._sql_cache.pop(uid, None)
        self._folded.pop(uid, None)
        self._tokens.pop(uid, None)

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

    def _token(self, uid: str) -> str:
        """What readers of `uid` see of it right now, as one string: the digest of its columns as a
        downstream statement sees them (`_digest`) and its state (`_state`); "" with no schema.

        Hashed once per run however many models read it (a seeded node's is the hash of the schema
        it was seeded with, twice: the dialect and schema source decide the rest). A record keeps
        the tokens of the nodes it read, so it validates itself whichever run wrote it and whatever
        happened to the other entries since."""
        token = self._tokens.get(uid)
        if token is None:
            schema = self.schemas.get(uid)
            if schema is None:
                token = ""
            else:
                names = self.names.get(uid)
                token = columns_digest(self._sql_columns(uid) or {}) + digest(
                    schema.source, pairs_text(names.items()) if names else ""
                )
            self._tokens[uid] = token
        return token

    def _digest(self, uid: str) -> str:
        """What statement keys of `uid`'s readers hash of it: its columns as they see them."""
        return self._token(uid)[:_DIGEST_LENGTH]

    def _state(self, uid: str) -> str:
        """What edges read through `uid` depend on: its schema's source (the confidence factor)
        and its display names."""
        return self._token(uid)[_DIGEST_LENGTH:]

    def _own_state(self, uid: str) -> str:
        """What absorbing `uid`'s statement depends on besides the statement itself: its resource
        type, the schema it was seeded with and, for snapshots, dbt's column names. (Its display
        names follow from that schema and the dialect; its schema.yml columns either are that schema
        or, under a catalog, go unread.)"""
        obj = self.objects[uid]
        # (Its seed token stands for the schema it was seeded with.)
        seeded = self._seed_tokens.get(uid, "")
        # A snapshot's bookkeeping column names are config, not SQL.
        extra = "\x1f".join(obj.snapshot_columns)
        return f"{obj.resource_type}\x1f{seeded}\x1f{extra}"

    # ------------------------------------------------------------------------------ order

    def analyzable(self) -> list[str]:
        return [uid for uid, obj in self.objects.items() if _analyzable(obj)]

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

    # ------------------------------------------------------------------------ incremental

    def start(self, snapshot: ProjectSnapshot | None) -> list[list[str]]:
        """Seed every node and return the waves to run, using last run's `snapshot` if any.

        Each node is fingerprinted (see `_fingerprint`); one whose fingerprint and SQL match its entry
        is seeded from it (see `_restore_seed`), and its record (if it is an analysed model) is
        trusted: `redo` and `restore` decide by its tokens whether it still holds. The waves are last
        run's if the project's graph (nodes, dependencies, relation names) and the set of analysable
        models are unchanged."""
        if snapshot is None:
            self._seed_schemas()
            self._waves = self.waves()
            return self._waves
        self._tracking = True
        graph = _graph_text(self.extraction)  # (first: __init__ just read every node and dependency)
        previous = self._previous = snapshot.records
        fingerprints = self._fingerprints
        tokens = self._tokens
        analysable = self._analysable
        trusted = self._trusted
        fingerprint_of = self._fingerprint
        restore_seed = self._restore_seed
        # One loop over every node, the hottest of a warm run: kept flat.
        for uid, obj in self.objects.items():
            fingerprint, columns = fingerprint_of(uid, obj)
            fingerprints[uid] = fingerprint
            entry = previous.get(uid)
            if (
                type(entry) is tuple
                and len(entry) == _E_LEN
                # Compared as they are: cheaper than hashing them, and they are in the entry anyway.
                and entry[_E_FP] == fingerprint
                and entry[_E_SQL] == (obj.compiled_sql if obj.resource_type in ANALYZED_TYPES else None)
                and restore_seed(uid, entry, columns)
            ):
                record = entry[_E_RECORD]
                if record is not None:  # (the fingerprint covers what makes a node analysable)
                    analysable.add(uid)
                    if type(record) is tuple and len(record) == _R_LEN:
                        trusted[uid] = record
            else:
                self._reseeded.add(uid)
                self._seed(uid, obj)
                if _analyzable(obj):
                    analysable.add(uid)
            tokens.setdefault(uid, "")  # (no schema)
        # The graph is compared as text, and hashed (for records to name it by) only when it changed.
        meta = previous.get(META)
        if type(meta) is tuple and len(meta) == 3 and meta[0] == graph:
            self._graph = meta[1]
            waves = meta[2]
            if set(chain.from_iterable(waves)) == analysable:
                self._waves = [list(wave) for wave in waves]
                return self._waves
        else:
            self._graph = hashlib.blake2b(graph.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        self._graph_text = graph
        self._waves = self.waves()
        return self._waves

    def _fingerprint(self, uid: str, obj: DbtObject) -> tuple[str, dict[str, str] | None]:
        """Everything of a node's own that its result (or what its readers see of it) depends on,
        besides its SQL and the project's graph, as one string: its type, the columns it is seeded
        with (catalog.json's under a catalog, else schema.yml's, else a seed file's header: the
        others go unread) and dbt's snapshot column names. A few joins over one dict, no per-column
        Python in the common case. Also returns that dict, the schema `_seed` would give the node."""
        listed = obj.catalog_columns
        if listed and self.use_catalog:
            kind = "catalog"
        else:
            kind, listed = "declared", obj.declared_columns
        columns: dict[str, str] | None = None
        if listed:
            # One pass over the column objects (reading their attributes is most of the cost here:
            # a comprehension's specialized attribute loads beat `map(attrgetter(...))`).
            columns = {column.name: column.data_type or "" for column in listed}  # as `_seed` reads them
            if len(columns) == len(listed):
                joined = _join_columns(columns, columns.values())
            else:  # a name listed twice: the list itself (schema.yml's is read as a list too)
                joined = "\x1c" + _join_columns(
                    [column.name for column in listed], [column.data_type or "" for column in listed]
                )
        elif obj.resource_type == "seed":
            kind = "header"
            header = self._headers[uid] = _seed_header(self.root, obj)
            if header:
                columns = dict.fromkeys(header, "")
            joined = _join_columns(header, ())
        else:
            joined = ""
        snapshot_columns = "\x1f".join(obj.snapshot_columns) if obj.snapshot_columns else ""
        fingerprint = (
            f"{obj.resource_type}\x1e{obj.materialization or ''}\x1e{kind}\x1e{joined}\x1e{snapshot_columns}"
        )
        return fingerprint, columns

    def redo(self, wave: list[str]) -> list[str]:
        """The models of `wave` that take the per-model path (statement key, replay or analysis):
        all of them without a cache; else those without a trusted record (see `start`), with one
        made in another graph, or whose statement's inputs no longer have the tokens it records."""
        if not self._tracking:
            return wave
        trusted = self._trusted
        tokens = self._tokens
        graph = self._graph
        redo: list[str] = []
        for uid in wave:
            record = trusted.get(uid)
            if (
                record is None
                or record[_R_GRAPH] != graph
                or _joined(map(tokens.get, record[_R_KEY_READS])) != record[_R_KEY_TOKENS]
            ):
                redo.append(uid)
        return redo

    def previous_record(self, uid: str, key: str | None = None) -> tuple[Any, ...] | None:
        """Last run's record of `uid` (if it was made under statement key `key`, when given)."""
        entry = self._previous.get(uid)
        record = entry[_E_RECORD] if type(entry) is tuple and len(entry) == _E_LEN else None
        if type(record) is not tuple or len(record) != _R_LEN:
            return None
        return record if key is None or _checks(record)[0] == key else None

    def restore(self, uid: str) -> bool:
        """Apply the trusted record of a model `redo` passed over, if the nodes the tables in its
        lineage resolve to still have the tokens it records (else change nothing and return False:
        its statement holds, its edges must be resolved again)."""
        record = self._trusted[uid]
        if _joined(map(self._tokens.get, record[_R_CONTEXT_READS])) != record[_R_CONTEXT_TOKENS]:
            return False
        self._apply(uid, record)
        return True

    def _apply(self, uid: str, record: tuple[Any, ...]) -> None:
        (
            _graph,
            _checks,
            _key_reads,
            _key_tokens,
            _context_reads,
            _context_tokens,
            final,
            final_columns,
            final_names,
            partial,
            token,
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
        ) = record  # (unpacked before anything changes)
        if final:
            self.schemas[uid] = ModelSchema(columns=final_columns, source=final)
            self.names[uid] = final_names
            if partial:
                self._partial.add(uid)
            self._sql_cache.pop(uid, None)
            self._folded.pop(uid, None)
        if final is not None:
            # A function of the schema and names in place: no need to hash them again.
            self._tokens[uid] = token
        self.statements[uid] = completed_blob or raw_blob
        self.order.append(uid)
        if errors:
            self.errors.extend(f"{uid}: {error}" for error in errors)
        self.edges.add_encoded(edges_blob, count, direct)
        self.infos[uid] = _ModelInfo(columns, with_lineage, star or None, sources_blob)

    def save(self, snapshot: ProjectSnapshot) -> None:
        """Write the entries of this run that differ from last run's."""
        previous = self._previous
        analysable = self._analysable
        for uid in self._reseeded.union(self._records):
            obj = self.objects[uid]
            record: Any = self._records.get(uid)
            if record is None and uid in analysable:
                record = False  # analysable, but nothing to keep (a timeout)
            seeded = self._seeded.get(uid)
            if seeded is None and uid not in self._reseeded:  # seeded from its entry: as it says
                seeded = previous[uid][_E_SOURCE:_E_RECORD]
            entry = (
                self._fingerprints[uid],
                obj.compiled_sql if obj.resource_type in ANALYZED_TYPES else None,
                *(seeded or (None, None, None)),
                record,
            )
            if previous.get(uid) != entry:
                snapshot.put(uid, entry)
        meta = (self._graph_text, self._graph, tuple(map(tuple, self._waves or ())))
        if self._graph_text is not None and previous.get(META) != meta:
            snapshot.retain(self.objects)
            snapshot.put(META, meta)
        snapshot.save()

    # ------------------------------------------------------------------------------ tasks

    def key(self, uid: str) -> str:
        """The statement key of `uid`: its SQL, dialect and the digests of its inputs' columns."""
        relations, ephemeral = self._model_inputs(uid)
        if self._tracking:
            reads = tuple(sorted(self._upstream_sets[uid]))
            self._key_reads[uid] = (reads, "\x1f".join(map(self._token, reads)))
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
        upstreams = self._upstream_sets[uid] = self._upstreams(uid, sql)
        for dep in sorted(upstreams):
            dep_obj = self.objects[dep]
            if not self.names.get(dep) or dep not in self.schemas:
                continue  # nothing known of its columns (what `_sql_columns` would say)
            if dep_obj.materialization == "ephemeral":
                ephemeral[f"{EPHEMERAL_PREFIX}{dep_obj.name}".lower()] = dep
                relations.append(((dep,), dep))
                continue
            key = self._relation_key_of(dep) or _relation_key(dep_obj)
            if key:
                relations.append((key, dep))
        # Upstreams are final by the time a model's wave runs, so this holds for the whole run.
        self._inputs[uid] = (relations, ephemeral)
        return relations, ephemeral

    def _upstreams(self, uid: str, sql: str) -> set[str]:
        recorded = self.deps.get(uid)
        ephemeral_by_name = self._ephemeral_names()
        if not ephemeral_by_name and recorded:
            return set(recorded)  # the common case, with nothing to look for in the SQL
        deps = set(recorded or ())
        lowered = sql.lower()
        # The substring test is a necessary condition of the (case-insensitive) pattern and much
        # cheaper than running the regex over every model's SQL.
        if ephemeral_by_name and EPHEMERAL_PREFIX in lowered:
            for name in _EPHEMERAL_RE.findall(sql):
                dep = ephemeral_by_name.get(name.lower())
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
        record = (
            None if key is None else self._record(uid, key, own, refs, raw, lineage, rows, direct, sources)
        )
        self._records[uid] = record
        return record

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
        """The snapshot record of a model just absorbed; see `replay` and `restore` for when it holds.

        Whatever a run that restores the model does not read (edges, statements, edge sources) is a
        compressed blob: unmarshalling a bytes object is a copy, unmarshalling the same data as
        tuples of strings costs twenty times more. Its schema is restored every time: plain dicts."""
        context = self._context(uid, refs, own)
        blobs = (
            dumps(rows),
            dumps(encode_statement(raw)),
            # Completing a star rarely changes anything: only then is the result stored too.
            None if lineage is raw else dumps(encode_statement(lineage)),
            dumps(sources),
        )
        if context is None or any(b is None for i, b in enumerate(blobs) if i != 2):
            return None
        edges_blob, raw_blob, completed_blob, sources_blob = blobs
        schema = self.schemas.get(uid)
        final: tuple[Any, ...] = (None, None, None, False)
        if schema is not None:
            if uid not in self._inferred and uid not in self._partial:
                final = (False, None, None, False)  # absorbing left the seeded schema as it was
            else:
                final = (schema.source, schema.columns, self.names.get(uid, {}), uid in self._partial)
        info = self.infos[uid]
        return self._stamped(
            uid,
            refs,
            (
                self._graph,
                marshal.dumps((key, context, refs)),
                (),
                "",
                (),
                "",
                *final,
                self._token(uid),
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
            ),
        )

    def _stamped(
        self, uid: str, refs: tuple[tuple[str, str], ...], record: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        """`record` with what it was read against now: this run's graph, the tokens of the nodes
        its statement was analysed against (as of its statement key) and of those its tables
        resolve to (as of now, right after it was absorbed or replayed)."""
        key_reads = self._key_reads.get(uid)
        if key_reads is None:
            # Re-absorbed without a key (see `restore`): `redo` found its statement's inputs as its
            # trusted record has them. (Anything else gets tokens no join of tokens can equal.)
            trusted = self._trusted.get(uid)
            key_reads = (trusted[_R_KEY_READS], trusted[_R_KEY_TOKENS]) if trusted else ((uid,), "\x00")
        context_reads = tuple(dict.fromkeys(r for _, r in refs if r and r != uid))
        return (
            self._graph,
            record[_R_CHECKS],
            *key_reads,
            context_reads,
            "\x1f".join(map(self._token, context_reads)),
            *record[_R_FINAL:],
        )

    def replay(self, uid: str, record: tuple[Any, ...]) -> bool:
        """Apply a snapshot record made by `absorb` under the same statement key, if the context
        its edges were resolved in still holds; else change nothing and return False.

        The context is `uid`'s own schema.yml/catalog state before absorbing, and for every table its
        statement reads: the node it resolves to, that node's schema source and display names.
        Together with the statement key that is everything `absorb` reads, so replaying gives what
        absorbing would, without re-deriving a single edge."""
        if type(record) is not tuple or len(record) != _R_LEN:
            return False  # a record of another shape: absorb afresh
        _key, context, refs = _checks(record)
        if self._context(uid, refs, self._own_state(uid)) != context:
            return False
        try:
            self._apply(uid, record)
        except (TypeError, ValueError):
            return False  # (checked before anything is applied: see `_apply`)
        self._records[uid] = self._stamped(uid, refs, record)
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
        self._inferred.add(uid)
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
            key = self._relation_key_of(dep)
            if not key:
                continue
            dep_key = tuple(map(str.casefold, key))
            n = min(len(dep_key), len(folded))
            if dep_key[-n:] == folded[-n:]:
                matches.add(dep)
        return matches.pop() if len(matches) == 1 else None

    def _resolve_table(self, table: str) -> str | None:
        obj = self.objects.get(table)
        if obj is not None:
            return obj.unique_id
        folded = tuple(p.casefold() for p in table.split("."))
        relations, by_last = self._relation_index()
        uid = relations.get(folded)
        if uid is not None:
            return uid
        matches = {
            candidate_uid
            for key, candidate_uid in by_last.get(folded[-1], [])
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


def _checks(record: tuple[Any, ...]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """A record's statement key, edge context digest and tables with the nodes they resolved to."""
    try:
        key, context, refs = marshal.loads(record[_R_CHECKS])
    except (EOFError, ValueError, TypeError):
        return "", "", ()  # (no key is empty: never matches)
    return key, context, refs


def _joined(tokens: Iterable[str | None]) -> str | None:
    """Tokens as one string to compare (None if one is missing: never equal to a stored one)."""
    try:
        return "\x1f".join(tokens)  # type: ignore[arg-type]
    except TypeError:
        return None


def _graph_text(extraction: Extraction) -> str:
    """The project's graph as one string: its nodes with what resolving a table name to one reads
    (type, materialization, relation name, enabled) and its dependencies. (None and "" mean the same
    in each of those fields.)"""
    nodes = "\x1e".join(
        [
            f"{o.unique_id}\x1f{o.resource_type}\x1f{o.materialization or ''}\x1f{o.name}\x1f"
            f"{o.alias or ''}\x1f{o.database or ''}\x1f{o.schema or ''}\x1f{o.enabled}"
            for o in extraction.objects
        ]
    )
    dependencies = "\x1e".join([f"{d.source}\x1f{d.target}" for d in extraction.dependencies])
    return f"{nodes}\x1d{dependencies}"


def _join_columns(names: Iterable[str], types: Iterable[str]) -> str:
    """Column names and types as one string to compare (see `cache.pairs_text` on the separators)."""
    try:
        return "\x1f".join(names) + "\x1d" + "\x1f".join(types)
    except TypeError:  # a value that is not a string (never from our own readers): spell it out
        return repr((list(names), list(types)))


def _analyzable(obj: DbtObject) -> bool:
    """A model or snapshot with compiled SQL (a Python model's compiled code is Python)."""
    return bool(
        obj.resource_type in ANALYZED_TYPES
        and obj.compiled_sql
        and not obj.compiled_sql.isspace()  # (isspace stops at the first character; strip copies)
        and not _is_python_model(obj.compiled_sql)
    )


def _is_python_model(code: str) -> bool:
    """dbt Python models keep their Python source where SQL models keep compiled SQL."""
    # The substring tests are necessary conditions of the pattern and far cheaper than scanning
    # every model's SQL with a multi-line regex.
    return "def" in code and "dbt" in code and bool(_PYTHON_MODEL_RE.search(code))


def _relation_key(obj: DbtObject) -> TableKey:
    return tuple(p for p in (obj.database, obj.schema, obj.alias or obj.name) if p)


@functools.cache
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
    pool = _LazyPool(workers)
    try:
        yield pool
    finally:
        pool.shutdown()


class _LazyPool:
    """A process pool started only when a wave has enough uncached work to pay for it."""

    def __init__(self, workers: int | None) -> None:
        self._workers = workers  # None: one per CPU (looked up only when a wave has work)
        self._pool: Executor | None = None

    @property
    def workers(self) -> int:
        return max(1, self._workers if self._workers is not None else (os.cpu_count() or 1))

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
    if len(tasks) < _MIN_PARALLEL_TASKS or pool.workers <= 1:
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
