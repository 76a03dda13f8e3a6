"""Fixtures: the fake OpenAI server (one per session, reset per test) and a provider pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from metadata_pipeline.enrich import OpenAIConfig, OpenAIEnricher

from .fake_openai import FakeOpenAI

TEST_KEY_ENV = "METADATA_PIPELINE_TEST_OPENAI_KEY"
TEST_KEY = "sk-test-do-not-leak-0123456789"


@pytest.fixture(scope="session")
def _server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_openai(_server: FakeOpenAI) -> FakeOpenAI:
    _server.reset()
    return _server


@pytest.fixture
def make_provider(fake_openai: FakeOpenAI) -> Callable[..., OpenAIEnricher]:
    """An OpenAIEnricher on the fake server; small retries so failure tests stay fast."""

    def make(**overrides: object) -> OpenAIEnricher:
        settings: dict[str, object] = {
            "base_url": fake_openai.base_url,
            "model": "gpt-4o-mini",
            "api_key_env": TEST_KEY_ENV,
            "timeout_s": 10.0,
            "max_retries": 2,
            "concurrency": 2,
        }
        settings.update(overrides)
        return OpenAIEnricher(OpenAIConfig(**settings), env={TEST_KEY_ENV: TEST_KEY})  # type: ignore[arg-type]

    return make
