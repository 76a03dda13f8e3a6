"""A content-addressed cache of provider answers, one JSON file per answer.

The key is the sha256 of everything the provider saw (the full request: SQL or raw definition, columns,
existing and upstream descriptions, parents) plus the prompt version and provider/model: an unchanged
dataset is never sent twice, and any change to what the model would see is a miss. Answers are stored
as the provider gave them; the human-description policy is applied on every run after the lookup, so a
description a person writes later still wins over a cached answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from pydantic import ValidationError

from metadata_pipeline.enrich.models import DatasetEnrichment, DatasetRequest

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the stored layout changes


def cache_key(request: DatasetRequest, *, provider: str, model: str, prompt_version: str) -> str:
    payload = {
        "format": CACHE_FORMAT,
        "provider": provider,
        "model": model,
        "prompt_version": prompt_version,
        "request": request.model_dump(mode="json"),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class EnrichmentCache:
    """JSON files under `directory` (two-level fan-out), or memory only when `directory` is None."""

    def __init__(self, directory: str | Path | None) -> None:
        self._dir = Path(directory) if directory is not None else None
        self._memory: dict[str, DatasetEnrichment] = {}
        self._lock = threading.Lock()

    @classmethod
    def in_memory(cls) -> EnrichmentCache:
        return cls(None)

    @property
    def directory(self) -> Path | None:
        return self._dir

    def _path(self, key: str) -> Path:
        assert self._dir is not None
        return self._dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> DatasetEnrichment | None:
        with self._lock:
            if key in self._memory:
                return self._memory[key]
        if self._dir is None:
            return None
        path = self._path(key)
        try:
            found = DatasetEnrichment.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, ValidationError) as exc:
            # A torn or outdated entry is only a miss: the dataset is asked again and the entry rewritten.
            log.warning("ignoring unreadable enrichment cache entry %s: %s", path.name, exc)
            return None
        with self._lock:
            self._memory[key] = found
        return found

    def put(self, key: str, enrichment: DatasetEnrichment) -> None:
        with self._lock:
            self._memory[key] = enrichment
        if self._dir is not None:
            _atomic_write(self._path(key), enrichment.model_dump_json(indent=1))


def _atomic_write(path: Path, text: str) -> None:
    """Temp file in the same directory, fsync, rename: readers never see half an entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
