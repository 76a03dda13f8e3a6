"""The workspace lock: one reconcile per workspace at a time, surviving crashes by expiring.

The lock is a `dataset_locks` row with a unique `lock_key`, written in its own short transaction so
other runs see it at once. A second run polls until the holder releases it or it expires (a crashed
run never releases: its lock is taken over after `expires_at`). Before committing, a run confirms in
its own transaction that it still holds the lock, so a run that outlived its lock commits nothing.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, session_scope, set_company
from metadata_pipeline.catalog.models import DatasetLock
from metadata_pipeline.reconcile.options import ReconcileLocked, ReconcileLockLost

LOCKS: Table = DatasetLock.__table__  # type: ignore[assignment]


def reconcile_lock_key(workspace_id: uuid.UUID) -> str:
    return f"reconcile:{workspace_id}"


def default_holder(actor: str) -> str:
    """Who holds a lock, in words a person can act on: the actor and the process."""
    return f"{actor}@{socket.gethostname()}:{os.getpid()}"[:255]


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class LockInfo:
    """The lock row as another run sees it."""

    lock_token: uuid.UUID
    holder: str | None
    expires_at: datetime


@dataclass(frozen=True)
class LockHandle:
    lock_key: str
    lock_token: uuid.UUID
    holder: str
    company_id: uuid.UUID
    expires_at: datetime


def acquire_lock(
    engine: Engine,
    tenant: Tenant,
    *,
    key: str,
    holder: str,
    ttl_s: float,
    wait_s: float,
    poll_s: float = 0.2,
    reason: str | None = None,
) -> LockHandle:
    """Take the lock, waiting up to `wait_s` for a live holder; raise ReconcileLocked after that."""
    started = time.monotonic()
    while True:
        handle, blocker = _try_acquire(engine, tenant, key, holder, ttl_s, reason)
        if handle is not None:
            return handle
        waited = time.monotonic() - started
        if waited >= wait_s:
            holder_name = blocker.holder if blocker else None
            expires = blocker.expires_at if blocker else utcnow()
            raise ReconcileLocked(key, holder_name, expires, waited)
        time.sleep(min(poll_s, max(0.01, wait_s - waited)))


def _try_acquire(
    engine: Engine, tenant: Tenant, key: str, holder: str, ttl_s: float, reason: str | None
) -> tuple[LockHandle | None, LockInfo | None]:
    """One attempt: insert the lock, or take over an expired one. Returns (handle, current holder)."""
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        # Read first: on SQLite a blind INSERT would queue behind the holder's write transaction.
        current = _current(session, key)
        now = utcnow()
        if current is not None and current.expires_at > now and not _holder_is_dead(current.holder):
            return None, current
        token, expires_at = uuid.uuid4(), now + timedelta(seconds=ttl_s)
        values = {
            "lock_token": token,
            "holder": holder,
            "reason": reason,
            "locked_at": now,
            "expires_at": expires_at,
        }
        try:
            if current is None:
                _insert_lock(session, tenant, key, values)
            elif not _take_over(session, key, current, now, values):
                return None, current
        except IntegrityError:
            return None, _read(engine, tenant, key)
    return LockHandle(key, token, holder, tenant.company_id, expires_at), None


def _insert_lock(session: Session, tenant: Tenant, key: str, values: dict[str, object]) -> None:
    row = {
        "lock_id": uuid.uuid4(),
        "company_id": tenant.company_id,
        "workspace_id": tenant.workspace_id,
        "lock_key": key,
        "lock_type": "pessimistic",
        **values,
    }
    session.execute(insert(LOCKS), [row])
    session.flush()


def _take_over(
    session: Session, key: str, current: LockInfo, now: datetime, values: dict[str, object]
) -> bool:
    """Replace an expired (or orphaned) lock. Matching the old token makes racing takers safe, and a
    holder that is in fact alive loses nothing: its commit-time confirm_lock fails and it rolls back."""
    stmt = update(LOCKS).where(LOCKS.c.lock_key == key, LOCKS.c.lock_token == current.lock_token)
    if not _holder_is_dead(current.holder):
        stmt = stmt.where(LOCKS.c.expires_at <= now)  # not if the holder extended it meanwhile
    return bool(session.execute(stmt.values(**values)).rowcount == 1)  # type: ignore[attr-defined]


def _holder_is_dead(holder: str | None) -> bool:
    """A holder on this host whose process is gone (killed, crashed): no need to wait for expiry."""
    if not holder or "@" not in holder:
        return False
    host, _, pid = holder.rsplit("@", 1)[1].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # another user's live process
    return False


def _read(engine: Engine, tenant: Tenant, key: str) -> LockInfo | None:
    with session_scope(engine) as session:
        set_company(session, tenant.company_id)
        return _current(session, key)


def _current(session: Session, key: str) -> LockInfo | None:
    row = session.execute(
        select(LOCKS.c.lock_token, LOCKS.c.holder, LOCKS.c.expires_at).where(LOCKS.c.lock_key == key)
    ).first()
    return None if row is None else LockInfo(row.lock_token, row.holder, as_utc(row.expires_at))


def confirm_lock(session: Session, handle: LockHandle, ttl_s: float) -> None:
    """Inside the reconcile transaction: prove the lock is still ours (and extend it) or give up.

    On PostgreSQL the UPDATE also row-locks the lock until commit, so a run trying to take it over
    waits for this commit and then sees an unexpired lock.
    """
    result = session.execute(
        update(LOCKS)
        .where(LOCKS.c.lock_key == handle.lock_key, LOCKS.c.lock_token == handle.lock_token)
        .values(expires_at=utcnow() + timedelta(seconds=ttl_s))
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ReconcileLockLost(
            f"{handle.lock_key} expired and was taken over by another run; this run committed nothing"
        )


def release_lock(engine: Engine, handle: LockHandle) -> None:
    """Delete the lock if it is still ours (a run that lost it must not free the new holder's)."""
    with session_scope(engine) as session:
        set_company(session, handle.company_id)
        session.execute(
            delete(LOCKS).where(LOCKS.c.lock_key == handle.lock_key, LOCKS.c.lock_token == handle.lock_token)
        )
