"""A local server speaking enough of the OpenAI chat completions API to drive the real `openai` client.

Starlette app served by uvicorn on 127.0.0.1 (a free port) in a background thread. Each test scripts it
with a handler deciding the reply per request: a good structured answer built from the dataset in the
prompt, 429 with Retry-After, 5xx, malformed or schema-violating content... It records every request.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass(frozen=True)
class FakeCall:
    """One HTTP request as the server saw it."""

    body: dict[str, Any]
    dataset: dict[str, Any]  # the DatasetRequest JSON from the user message
    attempt: int  # 1 for the first request about this dataset, 2 for its first retry...
    authorization: str | None
    at: float

    @property
    def unique_id(self) -> str:
        return str(self.dataset.get("unique_id", ""))


@dataclass(frozen=True)
class Reply:
    status: int = 200
    content: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = "error"
    prompt_tokens: int = 120
    completion_tokens: int = 60
    finish_reason: str = "stop"


Handler = Callable[[FakeCall], Reply]


def good_answer_payload(dataset: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid answer for the dataset in the prompt."""
    columns = [
        {
            "name": col["name"],
            "description": None if col.get("locked") else f"AI: {col['name']} of {dataset['name']}",
            "business_name": col["name"].replace("_", " ").title(),
            "pii_category": "email" if "email" in col["name"].lower() else "none",
            "confidence": 75,
        }
        for col in dataset.get("columns", [])
    ]
    return {
        "description": f"AI description of {dataset['name']}",
        "medallion_layer": "Gold",
        "entity_type": "DataMart",
        "entity_subtype": "Fact",
        "confidence": 80,
        "columns": columns,
    }


def good_answer(call: FakeCall) -> Reply:
    return Reply(content=json.dumps(good_answer_payload(call.dataset)))


def rate_limited_then_ok(times: int = 1, retry_after: str = "1") -> Handler:
    def handler(call: FakeCall) -> Reply:
        if call.attempt <= times:
            return Reply(status=429, headers={"retry-after": retry_after}, error_message="Rate limit reached")
        return good_answer(call)

    return handler


def server_error(status: int = 500, retry_after_ms: str | None = "10") -> Handler:
    # retry-after-ms keeps the SDK's backoff short: it honours server-directed delays.
    headers = {"retry-after-ms": retry_after_ms} if retry_after_ms else {}

    def handler(call: FakeCall) -> Reply:
        return Reply(status=status, headers=headers, error_message="The server had an error")

    return handler


def malformed(call: FakeCall) -> Reply:
    return Reply(content='{"description": "half an answer", "columns": [')


def schema_violation(call: FakeCall) -> Reply:
    payload = good_answer_payload(call.dataset)
    payload["medallion_layer"] = "Platinum"
    payload["confidence"] = 150
    return Reply(content=json.dumps(payload))


def echo_unauthorized(call: FakeCall) -> Reply:
    """What a careless server might do: echo the credentials it rejected."""
    return Reply(status=401, error_message=f"Incorrect API key provided: {call.authorization}")


def per_dataset(handlers: dict[str, Handler], default: Handler = good_answer) -> Handler:
    def handler(call: FakeCall) -> Reply:
        return handlers.get(call.unique_id, default)(call)

    return handler


class FakeOpenAI:
    def __init__(self) -> None:
        self.handler: Handler = good_answer
        self.latency_s = 0.0  # simulated model latency per request (benchmarks)
        self.calls: list[FakeCall] = []
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reset(self, handler: Handler = good_answer) -> None:
        with self._lock:
            self.handler = handler
            self.latency_s = 0.0
            self.calls = []
            self._attempts = Counter()

    def requests_for(self, unique_id: str) -> int:
        return sum(1 for c in self.calls if c.unique_id == unique_id)

    async def _completions(self, request: Request) -> JSONResponse:
        body = await request.json()
        try:
            dataset = json.loads(body["messages"][-1]["content"])
        except (KeyError, IndexError, ValueError):
            dataset = {}
        with self._lock:
            self._attempts[str(dataset.get("unique_id", ""))] += 1
            call = FakeCall(
                body=body,
                dataset=dataset,
                attempt=self._attempts[str(dataset.get("unique_id", ""))],
                authorization=request.headers.get("authorization"),
                at=time.monotonic(),
            )
            self.calls.append(call)
            handler = self.handler
        if self.latency_s:  # after recording, so a late request never lands in the next test's log
            await asyncio.sleep(self.latency_s)
        return _render(handler(call), body.get("model", "unknown"))

    def start(self) -> None:
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


def _render(reply: Reply, model: str) -> JSONResponse:
    if reply.status != 200:
        error = {"message": reply.error_message, "type": "fake_error", "param": None, "code": str(reply.status)}
        return JSONResponse({"error": error}, status_code=reply.status, headers=reply.headers)
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content, "refusal": None},
                "finish_reason": reply.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }
    return JSONResponse(body, headers=reply.headers)
