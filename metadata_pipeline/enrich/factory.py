"""Choosing a provider: OpenAI when a key is configured, the offline rules otherwise."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from metadata_pipeline.enrich.enricher import Enricher
from metadata_pipeline.enrich.offline_provider import OfflineEnricher
from metadata_pipeline.enrich.openai_provider import OpenAIConfig, OpenAIEnricher

log = logging.getLogger(__name__)


def default_enricher(config: OpenAIConfig | None = None, env: Mapping[str, str] | None = None) -> Enricher:
    """The OpenAI provider if `config.api_key_env` is set in the environment, else the offline one."""
    config = config or OpenAIConfig.from_env(env)
    if config.api_key(env):
        return OpenAIEnricher(config, env=env)
    log.info("no API key in %s: using the offline enrichment rules", config.api_key_env)
    return OfflineEnricher()
