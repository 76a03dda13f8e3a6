"""The delivery store's batch writer, on SQLite and PostgreSQL: duplicates, deleted repositories,
sequence numbering."""

from __future__ import annotations

import uuid
from concurrent.futures import Future

import pytest
from sqlalchemy import Engine, select

from metadata_pipeline.catalog import session_scope
from metadata_pipeline.catalog.models import WebhookEvent
from metadata_pipeline.webhooks.matching import Match, RepositoryIndex, Target
from metadata_pipeline.webhooks.payloads import github_delivery
from metadata_pipeline.webhooks.store import DeliveryStore, StaleMatchError, _insert_row, _Pending
from metadata_pipeline_tests.webhooks.helpers import Registered, github_push


def _match(engine: Engine) -> Match:
    match = RepositoryIndex(engine).match(github_delivery("push", "probe", github_push()))
    assert match is not None
    return match


def _pending(delivery_id: str, match: Match) -> _Pending:
    return _Pending(_insert_row(github_delivery("push", delivery_id, github_push()), match), Future())


def _sequences(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(select(WebhookEvent.delivery_id, WebhookEvent.sequence))
        return {r.delivery_id: r.sequence for r in rows}


def test_a_deleted_repository_is_reported_not_stored(catalog_engine: Engine, registered: Registered) -> None:
    match = _match(catalog_engine)
    assert match.connection is not None
    gone = Match(
        connection=Target("connection", uuid.uuid4(), match.company_id, "gone", None, None), workspace=None
    )
    store = DeliveryStore(catalog_engine)
    try:
        with pytest.raises(StaleMatchError):
            store.store(github_delivery("push", "d-gone", github_push()), gone)
        assert store.store(github_delivery("push", "d-ok", github_push()), match).sequence == 1
    finally:
        store.close()
    assert _sequences(catalog_engine) == {"d-ok": 1}


def test_one_batch_with_duplicates_and_a_deleted_repository(
    catalog_engine: Engine, registered: Registered
) -> None:
    match = _match(catalog_engine)
    gone = Match(
        connection=Target("connection", uuid.uuid4(), match.company_id, "gone", None, None), workspace=None
    )
    store = DeliveryStore(catalog_engine)
    assert store.store(github_delivery("push", "old", github_push()), match).sequence == 1
    batch = [
        _pending("a", match),
        _pending("a", match),  # the same delivery twice in one batch
        _pending("old", match),  # already stored
        _pending("stale", gone),
        _pending("b", match),
    ]
    store._write(batch)  # what the writer thread does with one batch
    store.close()
    results = [p.done.exception() or p.done.result() for p in batch]
    assert results[:3] == [2, None, None] and results[4] == 3
    assert isinstance(results[3], StaleMatchError)
    # Redeliveries and failures use up no sequence numbers.
    assert _sequences(catalog_engine) == {"old": 1, "a": 2, "b": 3}


def test_close_commits_what_is_queued(catalog_engine: Engine, registered: Registered) -> None:
    match = _match(catalog_engine)
    store = DeliveryStore(catalog_engine)
    results = [store.store(github_delivery("push", f"d-{i}", github_push()), match) for i in range(3)]
    store.close()
    store.close()  # idempotent
    assert [r.sequence for r in results] == [1, 2, 3]
    # A closed store starts a new writer when used again.
    assert store.store(github_delivery("push", "d-3", github_push()), match).sequence == 4
    store.close()
