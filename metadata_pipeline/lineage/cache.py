"""On-disk cache of per-model lineage results: one snapshot per project.

A snapshot maps each node's unique_id to an entry the project layer (`project_lineage`) writes and
reads: what the node's own result depends on (its compiled SQL, a fingerprint of its columns and
config), how it was seeded and, for an analysed model, the record of its finished result (statement,
edges, final schema) with what it was made from: its statement key and edge context, and the nodes it
read with what each looked like then. One more entry, under `META`, describes the project as a
whole (its dependency graph and the order models run in). This module only stores entries.

Layout: `<root>/projects/<project digest>.m` holds every entry; `.log` next to it holds entries
changed since, appended. A warm re-run that redoes one model appends one entry instead of rewriting
a multi-megabyte file (and on this kind of disk creating and renaming a file costs half a millisecond
whatever its size, opening an existing one a hundredth of that: the log is created, empty, with the
base); the log is folded into the base once it outgrows a quarter of it. Every write is either an
atomic rename or a single O_APPEND write; a torn or foreign entry only means a miss, and concurrent
runs of one project at worst lose each other's entries (entries validate themselves: an entry the
log repeats over a newer base is only stale, and a stale entry only a miss).

Everything is `marshal` of primitive values: nothing runs on load (unlike pickle) and it loads an
order of magnitude faster than JSON. Edge lists and statements are zlib-compressed blobs (level 1:
edges shrink 7x since a model's edges repeat the same names), decoded only when read; schemas are
plain dicts, since every run restores them. The layout, engine, sqlglot and Python versions tag
every file and log entry, so entries from another build are never used.
"""

from __future__ import annotations

import hashlib
import io
import marshal
import os
import sys
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlglot

from metadata_pipeline.lineage.column_lineage import (
    ENGINE_VERSION,
    ColumnLineage,
    StatementLineage,
)

# Bump when the encoding below or the record layout in project_lineage changes.
LAYOUT = 7
# marshal's format may change between Python releases; sqlglot's output between its releases.
BUILD = (
    f"{LAYOUT}\x1f{ENGINE_VERSION}\x1f{sqlglot.__version__}\x1f{sys.version_info[0]}.{sys.version_info[1]}"
)
_COMPACT_MIN_BYTES = 64 * 1024  # a log below this is never worth folding into the base
META = ""  # the key of the project-wide entry (no unique_id is empty)


def digest(*parts: str) -> str:
    """A short stable hash of `parts` (blake2b: several times faster than sha256 on short input).
    The separator keeps ("ab", "c") and ("a", "bc") apart."""
    return hashlib.blake2b("\x1c".join(parts).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def pairs_text(pairs: Iterable[tuple[str, str]]) -> str:
    """(name, value) pairs as one string to hash: a join, several times cheaper than repr.
    (Unit/record separators cannot occur in a column name or type dbt or a warehouse reports.)"""
    items = pairs if isinstance(pairs, (list, tuple)) else list(pairs)
    try:
        return "\x1e".join(map("\x1f".join, items))
    except TypeError:  # a value that is not a string (never from our own inputs): format it
        return "\x1e".join(f"{a}\x1f{b}" for a, b in items)


def columns_digest(columns: dict[str, str]) -> str:
    # Order matters: it is the order `select *` expands in.
    return digest(pairs_text(columns.items()))


def statement_key(
    sql: str,
    dialect: str,
    upstreams: Iterable[tuple[tuple[str, ...], str]],
    ephemeral: Iterable[tuple[str, str]],
) -> str:
    """Key of one model's statement result: its SQL and dialect, and for each upstream relation its
    table key and the digest of its columns (hashed once per relation, not once per reader)."""
    return digest(
        BUILD,
        dialect,
        sql,
        pairs_text(("\x1d".join(key), schema_digest) for key, schema_digest in upstreams),
        pairs_text(sorted(ephemeral)),
    )


# ------------------------------------------------------------------------------ encoding


def encode_statement(lineage: StatementLineage) -> tuple[Any, ...]:
    """A StatementLineage as nested tuples of str/float/None (what marshal stores natively)."""
    return (
        tuple(
            (
                c.column,
                tuple(tuple(u) for u in c.upstreams),
                c.mapping_type,
                c.lineage_type,
                c.transformation,
                c.confidence,
                tuple(tuple(i) for i in c.indirect),
            )
            for c in lineage.columns
        ),
        tuple(tuple(i) for i in lineage.indirect),
        tuple(lineage.tables),
        tuple(lineage.errors),
        tuple(lineage.warnings),
        lineage.target,
        lineage.statement_type,
        lineage.confidence,
    )


def decode_statement(data: tuple[Any, ...]) -> StatementLineage:
    columns, indirect, tables, errors, warnings, target, statement_type, confidence = data
    return StatementLineage(
        columns=[
            ColumnLineage(
                column=name,
                upstreams=list(upstreams),
                mapping_type=mapping,
                lineage_type=lineage_type,
                transformation=transformation,
                confidence=column_confidence,
                indirect=list(column_indirect),
            )
            for name, upstreams, mapping, lineage_type, transformation, column_confidence, column_indirect in columns
        ],
        indirect=list(indirect),
        tables=list(tables),
        errors=list(errors),
        warnings=list(warnings),
        target=target,
        statement_type=statement_type,
        confidence=confidence,
    )


def dumps(value: Any) -> bytes | None:
    """marshal, compressed; None for a value marshal cannot store (never expected: not cached)."""
    try:
        return zlib.compress(marshal.dumps(value), 1)
    except ValueError:
        return None


def loads(blob: bytes) -> Any:
    """The inverse of `dumps`; raises ValueError/EOFError/TypeError/zlib.error on a bad blob."""
    return marshal.loads(zlib.decompress(blob))


# ------------------------------------------------------------------------------ storage


class LineageCache:
    """The lineage cache rooted at `root` (shared by any number of projects)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def snapshot(self, project: str) -> ProjectSnapshot:
        """The snapshot of the project identified by `project` (any stable string)."""
        return ProjectSnapshot(self.root / "projects" / digest(BUILD, project))


class ProjectSnapshot:
    """`{unique_id: entry}` of one project (plus `META`), loaded once and saved once per run.

    Entries are the project layer's business: any value marshal stores.
    """

    def __init__(self, stem: Path) -> None:
        self.base = stem.with_suffix(".m")
        self.log = stem.with_suffix(".log")
        self.records: dict[str, Any] = {}
        self._changed: dict[str, Any] = {}  # None: forget the node
        self._base_size = self._log_size = 0
        try:
            data = self.base.read_bytes()
            self._base_size = len(data)
            build, records = marshal.loads(data)
            if build == BUILD and isinstance(records, dict):
                self.records = records
        except (OSError, EOFError, ValueError, TypeError):
            pass
        try:
            data = self.log.read_bytes()
        except OSError:
            return
        self._log_size = len(data)
        stream = io.BytesIO(data)
        while stream.tell() < len(data):
            try:
                build, changes = marshal.load(stream)
            except (EOFError, ValueError, TypeError):
                break  # a torn last entry (a run killed mid-write): what came before still holds
            if build != BUILD or not isinstance(changes, dict):
                continue
            for uid, record in changes.items():
                if record is None:
                    self.records.pop(uid, None)
                else:
                    self.records[uid] = record

    def get(self, uid: str) -> Any:
        return self.records.get(uid)

    def put(self, uid: str, record: Any) -> None:
        self.records[uid] = record
        self._changed[uid] = record

    def retain(self, uids: Iterable[str]) -> None:
        """Forget nodes the project no longer has (`META` stays)."""
        keep = set(uids)
        keep.add(META)
        for uid in [uid for uid in self.records if uid not in keep]:
            del self.records[uid]
            self._changed[uid] = None

    def save(self) -> None:
        if not self._changed:
            return
        try:
            entry = marshal.dumps((BUILD, self._changed))
            if self._base_size and self._log_size + len(entry) <= max(
                _COMPACT_MIN_BYTES, self._base_size // 4
            ):
                self._append(entry)
            else:
                # Blobs inside records are compressed already: the base is not compressed again.
                base = marshal.dumps((BUILD, self.records))
                _write_atomic(self.base, base)
                # Emptied rather than removed: appending to an existing file is much cheaper.
                os.close(os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
                self._base_size, self._log_size = len(base), 0
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs time
        self._changed = {}

    def _append(self, entry: bytes) -> None:
        # (Only ever after a base was read: its directory exists.)
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            # One write() of an O_APPEND file lands in one piece, after whatever others appended.
            view = memoryview(entry)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self._log_size += len(entry)


def _write_atomic(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
