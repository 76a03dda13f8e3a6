"""`reconcile_extraction`: the entry point, owning the workspace lock and the transaction."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from metadata_pipeline.catalog.database import Tenant, session_factory
from metadata_pipeline.ingest.extraction import Extraction
from metadata_pipeline.lineage.edges import ColumnEdge
from metadata_pipeline.reconcile.context import RunArgs
from metadata_pipeline.reconcile.locks import (
    LockHandle,
    acquire_lock,
    default_holder,
    reconcile_lock_key,
    release_lock,
)
from metadata_pipeline.reconcile.options import ReconcileOptions, ReconcileResult, Suggestions
from metadata_pipeline.reconcile.run import ReconcileRun

logger = logging.getLogger(__name__)


def reconcile_extraction(
    engine_or_session: Engine | Session,
    *,
    tenant: Tenant,
    connection_id: uuid.UUID | None,
    extraction: Extraction,
    column_edges: Sequence[ColumnEdge],
    suggestions: Suggestions | None = None,
    job_id: uuid.UUID | None = None,
    actor: str = "extraction",
    options: ReconcileOptions = ReconcileOptions(),  # frozen: safe as a default
) -> ReconcileResult:
    """Reconcile `extraction` (and optional machine `suggestions`) into the tenant's catalog.

    Given an Engine, the run owns its transaction: it commits everything, or nothing on any error,
    and a run that finds nothing new writes nothing at all. Given a Session, it writes into the
    caller's transaction, and the workspace lock is held until that transaction ends (commit or
    rollback). On SQLite pass an Engine, or a session that has not written yet: the lock is taken
    on a separate connection, which would wait for the session's write lock.

    Raises ReconcileLocked when another run holds the workspace lock beyond `options.lock_wait_s`.
    """
    started = time.perf_counter()
    run_actor = f"extraction_job:{job_id}" if job_id is not None and actor == "extraction" else actor
    engine = _engine_of(engine_or_session)
    lock = acquire_lock(
        engine,
        tenant,
        key=reconcile_lock_key(tenant.workspace_id),
        holder=default_holder(run_actor),
        ttl_s=options.lock_ttl_s,
        wait_s=options.lock_wait_s,
        poll_s=options.lock_poll_s,
        reason="reconcile",
    )
    lock_waited = time.perf_counter() - started
    args = RunArgs(
        tenant,
        connection_id,
        extraction,
        column_edges,
        suggestions or Suggestions(),
        job_id,
        run_actor,
        options,
    )
    if isinstance(engine_or_session, Session):
        _release_when_transaction_ends(engine_or_session, engine, lock)
        result = ReconcileRun(engine_or_session, args, lock).execute()
    else:
        result = _run_own_transaction(engine, args, lock)
    result.timings["lock_wait"] = lock_waited
    result.duration_s = time.perf_counter() - started
    return result


def _engine_of(engine_or_session: Engine | Session) -> Engine:
    if isinstance(engine_or_session, Engine):
        return engine_or_session
    bind = engine_or_session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _run_own_transaction(engine: Engine, args: RunArgs, lock: LockHandle) -> ReconcileResult:
    session = session_factory(engine)()
    try:
        run = ReconcileRun(session, args, lock)
        result = run.execute()
        if run.wrote:
            session.commit()
        else:
            session.rollback()  # nothing to say: not even an empty commit
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        _release_quietly(engine, lock)


def _release_when_transaction_ends(session: Session, engine: Engine, lock: LockHandle) -> None:
    """Free the lock only once the caller's transaction is over, so no run reads uncommitted state."""
    released = False

    def release(_session: Session) -> None:
        nonlocal released
        if not released:  # whichever of commit and rollback comes first
            released = True
            _release_quietly(engine, lock)

    event.listen(session, "after_commit", release, once=True)
    event.listen(session, "after_rollback", release, once=True)


def _release_quietly(engine: Engine, lock: LockHandle) -> None:
    """Release the lock without masking the run's own outcome: if the database is unreachable now,
    the lock simply expires (or is taken over once this process is gone)."""
    try:
        release_lock(engine, lock)
    except SQLAlchemyError:
        logger.warning(
            "could not release %s; it expires at %s", lock.lock_key, lock.expires_at, exc_info=True
        )
