"""Git webhooks: the receiver app that stores deliveries, and the plain-data core the sensors use
(new deliveries past a cursor, what each should trigger, branch-head polling). No Dagster here."""

from metadata_pipeline.webhooks.app import DEFAULT_MAX_BODY_BYTES, GLOBAL_SECRET_ENV, create_app
from metadata_pipeline.webhooks.events import (
    DISPATCHED,
    SKIPPED,
    Action,
    StoredEvent,
    mark_events,
    new_events,
    plan_event,
)
from metadata_pipeline.webhooks.payloads import Delivery, repo_key
from metadata_pipeline.webhooks.polling import (
    HeadChange,
    PollTarget,
    git_ls_remote,
    poll_heads,
    poll_targets,
)
from metadata_pipeline.webhooks.signatures import sign_github, verify_github_signature, verify_gitlab_token

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DISPATCHED",
    "GLOBAL_SECRET_ENV",
    "SKIPPED",
    "Action",
    "Delivery",
    "HeadChange",
    "PollTarget",
    "StoredEvent",
    "create_app",
    "git_ls_remote",
    "mark_events",
    "new_events",
    "plan_event",
    "poll_heads",
    "poll_targets",
    "repo_key",
    "sign_github",
    "verify_github_signature",
    "verify_gitlab_token",
]
