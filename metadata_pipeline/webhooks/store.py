"""Durable storage of webhook deliveries in `webhook_events`.

A delivery is stored once per delivery id (the unique constraint decides; a lost race is a
duplicate, not an error) with a `sequence` that grows in commit order, so a sensor that remembers
the last sequence it saw never skips a row that commits later with a smaller number.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import Engine, bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from metadata_pipeline.catalog.models import WebhookEvent
from metadata_pipeline.webhooks.matching import Match
from metadata_pipeline.webhooks.payloads import Delivery

# Key of the PostgreSQL advisory lock that serializes sequence allocation (any fixed 64-bit number).
_SEQUENCE_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"metadata_pipeline.webhook_events.sequence").digest()[:8], "big", signed=True
)
logger = logging.getLogger(__name__)
_SHA = re.compile(r"^[0-9a-f]{7,64}$")
_events = WebhookEvent.__table__


@dataclass(frozen=True)
class StoreResult:
    duplicate: bool
    sequence: int | None = None


class StaleMatchError(Exception):
    """The matched connection or workspace was deleted between matching and storing."""


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value is not None else None


def _sha(value: str | None) -> str | None:
    return value.lower() if value and _SHA.match(value.lower()) else None


def _insert_row(delivery: Delivery, match: Match) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4(),
        "company_id": match.company_id,
        "connection_id": match.connection.id if match.connection else None,
        "workspace_id": match.workspace.id if match.workspace else None,
        "provider": delivery.provider,
        "delivery_id": delivery.delivery_id,
        "event_type": _clip(delivery.event_type, 64),
        "repository": _clip(delivery.repository, 1024),
        "branch": _clip(delivery.branch, 255),
        "before_sha": _sha(delivery.before_sha),
        "after_sha": _sha(delivery.after_sha),
        "changed_paths": list(delivery.changed_paths),
        "only_pipeline_commits": delivery.only_pipeline_commits,
        "status": "received",
        "received_at": datetime.now(UTC),
        "raw_payload": delivery.payload,
    }


_MAX_SEQUENCE = select(func.coalesce(func.max(_events.c.sequence), 0))
_STORED_IDS = select(_events.c.delivery_id).where(_events.c.delivery_id.in_(bindparam("ids", expanding=True)))
_INSERT_BUILDERS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert_statement(dialect: str) -> Any:
    """A multi-row INSERT of deliveries; a delivery id already stored inserts nothing.

    The unique constraint on delivery_id decides duplicates (`ON CONFLICT DO NOTHING` leaves them
    out of RETURNING), so receivers racing each other, even in several processes, store one row.
    """
    if dialect not in _INSERT_BUILDERS:
        raise ValueError(f"webhook storage supports PostgreSQL and SQLite, not {dialect}")
    return (
        _INSERT_BUILDERS[dialect](_events)
        .on_conflict_do_nothing(index_elements=[_events.c.delivery_id])
        .returning(_events.c.delivery_id, _events.c.sequence)
    )


def _lock_sequence(conn: DbConnection) -> int:
    """Take the sequence lock, held until commit, and return the last sequence used.

    Holding it to commit makes sequence order equal commit order, so a sensor cursor never skips
    a row committed late. PostgreSQL: an advisory transaction lock. SQLite: BEGIN IMMEDIATE takes
    the database's single write lock before MAX is read.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEQUENCE_LOCK_KEY})
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    return int(conn.scalar(_MAX_SEQUENCE) or 0)


@dataclass(frozen=True)
class _Pending:
    row: dict[str, Any]
    done: Future[int | None]  # the sequence, or None for a duplicate

    @property
    def delivery_id(self) -> str:
        return str(self.row["delivery_id"])


class DeliveryStore:
    """Writes deliveries to `webhook_events`, once per delivery id, committing in small batches.

    A durable commit costs an fsync (about 4 ms on this machine's PostgreSQL) and the sequence lock
    serializes commits, so one commit per delivery would cap throughput near 250/s. Instead one
    writer thread inserts whatever deliveries are waiting with one statement in one transaction;
    each caller is answered only once its own row is committed.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 200, timeout_seconds: float = 30.0) -> None:
        self._engine = engine
        self._insert = _insert_statement(engine.dialect.name)
        self._max_batch = max_batch
        self._timeout = timeout_seconds
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    def store(self, delivery: Delivery, match: Match) -> StoreResult:
        """Insert the delivery once; a delivery id already stored (or racing us) is a duplicate.

        Raises StaleMatchError when the matched repository was deleted meanwhile, TimeoutError
        when the catalog does not answer in time, and SQLAlchemy's errors for anything else.
        """
        pending = _Pending(_insert_row(delivery, match), Future())
        self._ensure_writer()
        self._queue.put(pending)
        sequence = pending.done.result(timeout=self._timeout)
        return StoreResult(duplicate=sequence is None, sequence=sequence)

    def close(self) -> None:
        """Finish what is queued and stop the writer thread."""
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()

    def _ensure_writer(self) -> None:
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, name="webhook-writer", daemon=True)
                self._writer.start()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # close() was called: write this batch, then stop
                    self._write(batch)
                    return
                batch.append(item)
            self._write(batch)

    def _insert_batch(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Insert rows with consecutive sequences; returns the sequence of each row actually stored."""
        with self._engine.begin() as conn:
            last = _lock_sequence(conn)
            # Under the lock this is exact, so redeliveries use up no sequence numbers.
            stored = set(conn.scalars(_STORED_IDS, {"ids": [row["delivery_id"] for row in rows]}))
            new = [row for row in rows if row["delivery_id"] not in stored]
            if not new:
                return {}
            numbered = [{**row, "sequence": last + offset} for offset, row in enumerate(new, 1)]
            return {delivery_id: sequence for delivery_id, sequence in conn.execute(self._insert, numbered)}

    def _write(self, batch: list[_Pending]) -> None:
        # The same id twice in one batch: the first is inserted, the others are duplicates.
        firsts: dict[str, _Pending] = {}
        for pending in batch:
            firsts.setdefault(pending.delivery_id, pending)
        try:
            stored = self._insert_batch([p.row for p in firsts.values()])
        except IntegrityError as exc:
            if len(firsts) > 1:  # one row's repository vanished: write the rows one by one to find it
                for pending in batch:
                    self._write([pending])
                return
            logger.info("delivery %s not stored: %s", batch[0].delivery_id, exc.orig)
            error = StaleMatchError(f"repository of delivery {batch[0].delivery_id} was deleted")
            for pending in batch:
                pending.done.set_exception(error)
            return
        except Exception as exc:  # the callers answer 503; the writer carries on
            for pending in batch:
                pending.done.set_exception(exc)
            return
        for pending in batch:
            first = firsts[pending.delivery_id] is pending
            pending.done.set_result(stored.get(pending.delivery_id) if first else None)
