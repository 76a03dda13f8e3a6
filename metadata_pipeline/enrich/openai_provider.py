"""OpenAI (or any chat-completions-compatible server) as an enrichment provider.

One request per dataset, all its columns batched, answer forced into a strict JSON schema. Transient
failures (429, 408/409, 5xx, timeouts, connection errors) are retried by the SDK itself with
`max_retries`; the SDK backs off exponentially (0.5 s doubling, capped at 8 s, in openai 3.x) and honours
`Retry-After` / `retry-after-ms` up to 120 s. What still fails becomes a typed `EnrichmentError` for that
dataset only. The API key is read from the environment when the provider is built, handed to the SDK,
and never stored on this object, logged or put in an error message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import openai
from openai import OpenAI

from metadata_pipeline.enrich.enricher import (
    Enricher,
    EnrichmentError,
    InvalidAnswer,
    ProviderUnavailable,
)
from metadata_pipeline.enrich.models import DatasetEnrichment, DatasetRequest, TokenUsage
from metadata_pipeline.enrich.pricing import DEFAULT_PRICES, ModelPrice, price_for
from metadata_pipeline.enrich.prompt import (
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    messages,
    parse_answer,
    response_format,
    user_message,
)
from metadata_pipeline.errors import PipelineError

log = logging.getLogger(__name__)

ENV_PREFIX = "METADATA_PIPELINE_ENRICH_"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
# Rough completion size per column for the token budget: description + business name + labels.
COMPLETION_TOKENS_PER_COLUMN = 45
COMPLETION_TOKENS_BASE = 80


class MissingApiKey(PipelineError, RuntimeError):
    """No key in the configured environment variable (the message names the variable, never a value)."""


@dataclass(frozen=True)
class OpenAIConfig:
    model: str = "gpt-4o-mini"
    base_url: str | None = None  # None: the SDK's default (or OPENAI_BASE_URL)
    api_key_env: str = DEFAULT_API_KEY_ENV  # the *name* of the variable holding the key
    timeout_s: float = 60.0
    max_retries: int = 3
    concurrency: int = 4
    # None omits the parameter: some reasoning models reject any temperature but the default.
    temperature: float | None = 0.0
    max_completion_tokens: int | None = None
    prices: Mapping[str, ModelPrice] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    chars_per_token: float = 4.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenAIConfig:
        """METADATA_PIPELINE_ENRICH_{MODEL,BASE_URL,API_KEY_ENV,TIMEOUT,MAX_RETRIES,CONCURRENCY}."""
        env = os.environ if env is None else env
        base = cls()

        def get(name: str) -> str | None:
            return env.get(ENV_PREFIX + name) or None

        return cls(
            model=get("MODEL") or base.model,
            base_url=get("BASE_URL"),
            api_key_env=get("API_KEY_ENV") or base.api_key_env,
            timeout_s=float(get("TIMEOUT") or base.timeout_s),
            max_retries=int(get("MAX_RETRIES") or base.max_retries),
            concurrency=int(get("CONCURRENCY") or base.concurrency),
        )

    def api_key(self, env: Mapping[str, str] | None = None) -> str | None:
        env = os.environ if env is None else env
        return env.get(self.api_key_env) or None


class OpenAIEnricher(Enricher):
    def __init__(self, config: OpenAIConfig | None = None, *, env: Mapping[str, str] | None = None) -> None:
        self._config = config or OpenAIConfig()
        key = self._config.api_key(env)
        if not key:
            raise MissingApiKey(f"no API key: environment variable {self._config.api_key_env} is not set")
        # Kept only to scrub it from error text should a server ever echo it back.
        self._redact = _redactor(key)
        kwargs: dict[str, Any] = {
            "api_key": key,
            "timeout": self._config.timeout_s,
            "max_retries": self._config.max_retries,
        }
        if self._config.base_url:
            kwargs["base_url"] = self._config.base_url
        self._client = OpenAI(**kwargs)
        self._price = price_for(self._config.model, self._config.prices)

    def __repr__(self) -> str:
        return f"OpenAIEnricher(model={self._config.model!r}, base_url={self._config.base_url!r})"

    @property
    def provider_name(self) -> str:
        return "openai"

    @property
    def model_name(self) -> str:
        return self._config.model

    @property
    def prompt_version(self) -> str:
        return PROMPT_VERSION

    @property
    def max_concurrency(self) -> int:
        return max(1, self._config.concurrency)

    def estimate_tokens(self, request: DatasetRequest) -> int:
        prompt_chars = len(SYSTEM_PROMPT) + len(user_message(request))
        completion = COMPLETION_TOKENS_BASE + COMPLETION_TOKENS_PER_COLUMN * len(request.columns)
        return int(prompt_chars / self._config.chars_per_token) + completion

    def enrich_dataset(self, request: DatasetRequest) -> DatasetEnrichment:
        completion = self._call(request)
        usage = self._usage(completion)
        if not completion.choices:
            raise InvalidAnswer(f"{request.unique_id}: answer has no choices", usage=usage)
        choice = completion.choices[0]
        if choice.finish_reason in ("length", "content_filter"):
            raise InvalidAnswer(
                f"{request.unique_id}: answer cut short (finish_reason={choice.finish_reason})", usage=usage
            )
        if choice.message.refusal:
            raise InvalidAnswer(
                f"{request.unique_id}: model refused: {choice.message.refusal[:200]}", usage=usage
            )
        try:
            return parse_answer(choice.message.content, request, source=self.source, usage=usage)
        except InvalidAnswer as exc:
            raise InvalidAnswer(str(exc), usage=usage) from None

    def _call(self, request: DatasetRequest) -> Any:
        uid = request.unique_id
        try:
            return self._client.chat.completions.create(
                model=self._config.model,
                messages=messages(request),  # type: ignore[arg-type]
                response_format=response_format(),  # type: ignore[arg-type]
                **self._optional_params(),
            )
        except openai.RateLimitError as exc:
            raise ProviderUnavailable(
                f"{uid}: rate limited (HTTP 429) after {self._config.max_retries} retries"
                f"{_retry_after_note(exc)}: {self._detail(exc)}"
            ) from None
        except openai.APIStatusError as exc:
            raise _status_error(uid, exc, self._detail(exc), self._config.max_retries) from None
        except openai.APITimeoutError:
            raise ProviderUnavailable(
                f"{uid}: timed out after {self._config.timeout_s}s ({self._config.max_retries} retries)"
            ) from None
        except openai.APIConnectionError as exc:
            raise ProviderUnavailable(f"{uid}: cannot reach the provider: {self._redact(str(exc))}") from None
        except openai.APIError as exc:  # e.g. a 200 whose body is not a chat completion
            raise InvalidAnswer(f"{uid}: unusable response: {self._redact(str(exc))[:300]}") from None

    def _optional_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self._config.temperature is not None:
            params["temperature"] = self._config.temperature
        if self._config.max_completion_tokens is not None:
            params["max_completion_tokens"] = self._config.max_completion_tokens
        return params

    def _usage(self, completion: Any) -> TokenUsage:
        usage = getattr(completion, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        answer = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = self._price.cost(prompt, answer) if self._price else None
        return TokenUsage(prompt_tokens=prompt, completion_tokens=answer, cost_usd=cost)

    def _detail(self, exc: openai.APIStatusError) -> str:
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None  # the SDK unwraps {"error": ...}
        return self._redact(str(message or exc.message))[:300]


def _status_error(uid: str, exc: openai.APIStatusError, detail: str, retries: int) -> EnrichmentError:
    status = exc.status_code
    if status >= 500 or status in (408, 409):
        return ProviderUnavailable(f"{uid}: provider error HTTP {status} after {retries} retries: {detail}")
    if status in (401, 403, 404):
        # Wrong key, no access, unknown model: every other dataset would fail the same way.
        return ProviderUnavailable(
            f"{uid}: provider refused the request (HTTP {status}): {detail}", fatal=True
        )
    return EnrichmentError(f"{uid}: request rejected (HTTP {status}): {detail}")


def _retry_after_note(exc: openai.APIStatusError) -> str:
    value = exc.response.headers.get("retry-after") if exc.response is not None else None
    return f" (server asked to retry after {value}s)" if value else ""


def _redactor(secret: str) -> Callable[[str], str]:
    def redact(text: str) -> str:
        return text.replace(secret, "***") if secret else text

    return redact
