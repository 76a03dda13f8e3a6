"""A reconcile that freezes once it is writing, for the crash test to SIGKILL it mid-transaction.

    python -m metadata_pipeline_tests.reconcile.crash_worker URL COMPANY PROJECT WORKSPACE CONNECTION
        MODELS TRIGGER LOCK_TTL_S

TRIGGER "early" freezes after the first table of the transaction is written; "before_commit" freezes on
the run's last statement before COMMIT (its lock confirmation), when every row is written.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from typing import Any

from sqlalchemy import event

from metadata_pipeline.catalog.database import Tenant, make_engine
from metadata_pipeline.reconcile import ReconcileOptions, reconcile_extraction
from metadata_pipeline_tests.reconcile.builders import synthetic

MARKER = "RECONCILE-WRITING"
# Data writes SQLAlchemy sees (SQLite INSERTs, PostgreSQL UPDATEs), and on PostgreSQL the probe that
# precedes each table's COPY: the second one comes after the first table was copied.
_WRITING = re.compile(r"^\s*(INSERT INTO (datasets|columns)|SELECT row_security_active)", re.IGNORECASE)


def changed_project(models: int) -> Any:
    """The crash test's "new state": more models than before, and new descriptions on the old ones."""
    extraction, edges = synthetic(models, columns=8)
    for obj in extraction.objects:
        obj.description = f"Described {obj.name}"
    return extraction, edges


def _freeze_when_writing(engine: Any, trigger: str) -> None:
    seen = 0

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal seen
        if trigger == "early" and _WRITING.match(statement):
            seen += 1
            hit = seen == 2
        else:
            hit = trigger == "before_commit" and statement.lstrip().startswith("UPDATE dataset_locks")
        if hit:
            print(MARKER, flush=True)
            time.sleep(600)  # the test kills us here

    event.listen(engine, "after_cursor_execute", hook)


def main(argv: list[str]) -> int:
    url, company, project, workspace, connection, models, trigger, ttl = argv
    tenant = Tenant(uuid.UUID(company), uuid.UUID(project), uuid.UUID(workspace))
    engine = make_engine(url)
    _freeze_when_writing(engine, trigger)
    extraction, edges = changed_project(int(models))
    reconcile_extraction(
        engine,
        tenant=tenant,
        connection_id=uuid.UUID(connection),
        extraction=extraction,
        column_edges=edges,
        options=ReconcileOptions(lock_ttl_s=float(ttl)),
    )
    print("FINISHED WITHOUT BEING KILLED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
