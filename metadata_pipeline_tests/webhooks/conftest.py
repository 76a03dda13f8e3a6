"""Fixtures for the webhook tests: secrets in the environment, registered repositories, a live receiver."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from metadata_pipeline.catalog import Tenant
from metadata_pipeline.webhooks import GLOBAL_SECRET_ENV, create_app
from metadata_pipeline_tests.webhooks.helpers import (
    GLOBAL_SECRET,
    SHOP_SECRET,
    SHOP_SECRET_ENV,
    Registered,
    register_repositories,
    running_server,
)

MAX_BODY_BYTES = 64 * 1024


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(GLOBAL_SECRET_ENV, GLOBAL_SECRET)
    monkeypatch.setenv(SHOP_SECRET_ENV, SHOP_SECRET)


@pytest.fixture
def registered(catalog_engine: Engine, tenant: Tenant) -> Registered:
    return register_repositories(catalog_engine, tenant)


@pytest.fixture
def client(catalog_engine: Engine, registered: Registered, secrets: None) -> Iterator[httpx.Client]:
    """An HTTP client talking to a real uvicorn serving the receiver on the test catalog."""
    with running_server(create_app(catalog_engine, max_body_bytes=MAX_BODY_BYTES)) as base_url:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            yield http
