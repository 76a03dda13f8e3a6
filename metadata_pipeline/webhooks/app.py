"""The webhook receiver: a Starlette app that authenticates Git push deliveries and stores them.

Nothing is processed inline: a delivery is verified, written to `webhook_events` and answered 202;
Dagster sensors pick it up from there. Parsing, hashing and database work run in the thread pool so
one slow insert never stalls the event loop.

Status codes: 202 stored, 200 duplicate delivery or ignored event type, 400 malformed request,
401 missing or bad signature, 404 unknown repository, 413 body too large, 503 catalog unreachable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from metadata_pipeline.webhooks.matching import Match, RepositoryIndex
from metadata_pipeline.webhooks.payloads import Delivery, body_hash_id, github_delivery, gitlab_delivery
from metadata_pipeline.webhooks.signatures import verify_github_signature, verify_gitlab_token
from metadata_pipeline.webhooks.store import DeliveryStore, StaleMatchError

logger = logging.getLogger(__name__)

GLOBAL_SECRET_ENV = "METADATA_PIPELINE_WEBHOOK_SECRET"
# GitHub caps webhook payloads at 25 MB; anything larger is not a real delivery.
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024
MAX_DELIVERY_ID_LENGTH = 255  # webhook_events.delivery_id
HANDLED_EVENTS = frozenset({"push", "ping"})


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})


class _BodyTooLarge(Exception):
    pass


class Receiver:
    """The synchronous core of the receiver: parse, match, authenticate, store (no HTTP here)."""

    def __init__(self, engine: Engine, global_secret_env: str, index_ttl_seconds: float = 5.0) -> None:
        self._index = RepositoryIndex(engine, ttl_seconds=index_ttl_seconds)
        self._deliveries = DeliveryStore(engine)
        self._global_secret_env = global_secret_env

    def close(self) -> None:
        """Commit the deliveries still queued and stop the writer."""
        self._deliveries.close()

    # -- GitHub ---------------------------------------------------------------------------------

    @staticmethod
    def github_precheck(headers: Mapping[str, str]) -> Reply | None:
        if not headers.get("x-hub-signature-256"):
            return _error(401, "missing X-Hub-Signature-256")
        if not headers.get("x-github-event"):
            return _error(400, "missing X-GitHub-Event")
        return _check_delivery_id(headers.get("x-github-delivery"), "X-GitHub-Delivery", required=True)

    def github(self, headers: Mapping[str, str], body: bytes) -> Reply:
        payload = _github_payload(body, headers.get("content-type", ""))
        if payload is None:
            return _error(400, "body is not a JSON object")
        event = headers["x-github-event"]
        delivery = github_delivery(event, headers["x-github-delivery"], payload)
        signature = headers.get("x-hub-signature-256")
        return self._receive(delivery, lambda secrets: verify_github_signature(body, signature, secrets))

    # -- GitLab ---------------------------------------------------------------------------------

    @staticmethod
    def gitlab_precheck(headers: Mapping[str, str]) -> Reply | None:
        if not headers.get("x-gitlab-token"):
            return _error(401, "missing X-Gitlab-Token")
        if not headers.get("x-gitlab-event"):
            return _error(400, "missing X-Gitlab-Event")
        # Idempotency-Key stays the same across GitLab's retries; the event UUID is the older fallback.
        delivery_id = headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid")
        return _check_delivery_id(delivery_id, "delivery id", required=False)

    def gitlab(self, headers: Mapping[str, str], body: bytes) -> Reply:
        payload = _json_object(body)
        if payload is None:
            return _error(400, "body is not a JSON object")
        delivery_id = (
            headers.get("idempotency-key") or headers.get("x-gitlab-event-uuid") or body_hash_id(body)
        )
        delivery = gitlab_delivery(headers["x-gitlab-event"], delivery_id, payload)
        token = headers.get("x-gitlab-token")
        return self._receive(delivery, lambda secrets: verify_gitlab_token(token, secrets))

    # -- shared ---------------------------------------------------------------------------------

    def _secrets(self, match: Match | None) -> list[str]:
        names = [*(match.secret_envs if match else ()), self._global_secret_env]
        return [value for name in names if (value := os.environ.get(name))]

    def _receive(self, delivery: Delivery, authentic: Callable[[list[str]], bool]) -> Reply:
        try:
            match = self._index.match(delivery)
            secrets = self._secrets(match)
            ok = bool(secrets) and authentic(secrets)
            if match is None:
                # With a global secret, only an authenticated sender learns a repository is unknown.
                if secrets and not ok:
                    return self._reject(delivery, "bad signature")
                logger.info("webhook %s for unknown repository %s", delivery.delivery_id, delivery.repository)
                return _error(404, f"unknown repository {delivery.repository or '(none in payload)'}")
            if not secrets:
                logger.warning(
                    "no webhook secret configured for %s: set %s",
                    delivery.repository,
                    self._global_secret_env,
                )
                return self._reject(delivery, "no webhook secret configured")
            if not ok:
                return self._reject(delivery, "bad signature")
            if delivery.event_type not in HANDLED_EVENTS:
                return Reply(200, {"status": "ignored", "event": delivery.event_type})
            return self._store(delivery, match)
        except (SQLAlchemyError, TimeoutError):
            # Not stored and not acknowledged: the provider shows the failure and can redeliver.
            logger.exception("catalog error while storing webhook %s", delivery.delivery_id)
            return _error(503, "catalog unavailable")

    @staticmethod
    def _reject(delivery: Delivery, reason: str) -> Reply:
        logger.warning(
            "rejected %s webhook %s for %s: %s",
            delivery.provider,
            delivery.delivery_id,
            delivery.repository,
            reason,
        )
        return _error(401, reason)

    def _store(self, delivery: Delivery, match: Match) -> Reply:
        try:
            result = self._deliveries.store(delivery, match)
        except StaleMatchError:
            # The repository was deleted after the index was loaded: look again, once.
            self._index.invalidate()
            fresh = self._index.match(delivery)
            if fresh is None:
                return _error(404, f"unknown repository {delivery.repository}")
            result = self._deliveries.store(delivery, fresh)
        if result.duplicate:
            return Reply(200, {"status": "duplicate", "delivery_id": delivery.delivery_id})
        logger.info(
            "stored %s %s webhook %s for %s@%s as #%s",
            delivery.provider,
            delivery.event_type,
            delivery.delivery_id,
            delivery.repository,
            delivery.branch,
            result.sequence,
        )
        return Reply(
            202, {"status": "accepted", "delivery_id": delivery.delivery_id, "sequence": result.sequence}
        )


def _check_delivery_id(value: str | None, header: str, *, required: bool) -> Reply | None:
    if not value:
        return _error(400, f"missing {header}") if required else None
    if len(value) > MAX_DELIVERY_ID_LENGTH:
        return _error(400, f"{header} is longer than {MAX_DELIVERY_ID_LENGTH} characters")
    return None


def _json_object(raw: bytes | str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _github_payload(body: bytes, content_type: str) -> dict[str, Any] | None:
    """GitHub sends JSON, or a form with the JSON in `payload` when so configured."""
    if content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode(), strict_parsing=True)
        except (ValueError, UnicodeDecodeError):
            return None
        values = form.get("payload")
        return _json_object(values[0]) if values else None
    return _json_object(body)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes whether or not Content-Length tells the truth."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _endpoint(
    precheck: Callable[[Mapping[str, str]], Reply | None],
    process: Callable[[Mapping[str, str], bytes], Reply],
    max_body_bytes: int,
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> JSONResponse:
        reply = precheck(request.headers)
        if reply is None:
            try:
                body = await _read_body(request, max_body_bytes)
            except _BodyTooLarge:
                reply = _error(413, f"body larger than {max_body_bytes} bytes")
            else:
                reply = await run_in_threadpool(process, request.headers, body)
        return JSONResponse(reply.body, status_code=reply.status)

    return endpoint


async def _healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(
    engine: Engine,
    *,
    global_secret_env: str = GLOBAL_SECRET_ENV,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    index_ttl_seconds: float = 5.0,
) -> Starlette:
    """The receiver app: `POST /webhooks/github`, `POST /webhooks/gitlab`, `GET /healthz`.

    `global_secret_env` names the env var holding the secret used when a repository has none of
    its own; the secret itself is read per request, never stored on the app.
    """
    receiver = Receiver(engine, global_secret_env, index_ttl_seconds)
    routes = [
        Route(
            "/webhooks/github",
            _endpoint(receiver.github_precheck, receiver.github, max_body_bytes),
            methods=["POST"],
        ),
        Route(
            "/webhooks/gitlab",
            _endpoint(receiver.gitlab_precheck, receiver.gitlab, max_body_bytes),
            methods=["POST"],
        ),
        Route("/healthz", _healthz, methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        receiver.close()  # commit what is queued before the process exits

    return Starlette(routes=routes, lifespan=lifespan)
