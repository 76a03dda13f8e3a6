"""Configuration from the environment: catalog URL, data directory, secret names.

Secrets are never stored here, only the *names* of environment variables that hold them, so a
Settings object can be printed or logged safely.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

HOME_ENV = "METADATA_PIPELINE_HOME"
CATALOG_URL_ENV = "METADATA_PIPELINE_CATALOG_URL"
DEFAULT_HOME = ".metadata_pipeline"


@dataclass(frozen=True)
class Settings:
    home: Path
    catalog_url: str

    @classmethod
    def from_env(cls, catalog_url: str | None = None, home: str | Path | None = None) -> Settings:
        home_path = Path(home or os.environ.get(HOME_ENV) or DEFAULT_HOME).resolve()
        url = catalog_url or os.environ.get(CATALOG_URL_ENV) or default_catalog_url(home_path)
        return cls(home=home_path, catalog_url=url)

    @property
    def repos_dir(self) -> Path:
        return self.home / "repos"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def metadata_remote_dir(self) -> Path:
        """Where the default workspace's bare metadata repository lives."""
        return self.home / "metadata.git"

    @property
    def safe_catalog_url(self) -> str:
        """The catalog URL with any password masked, fit for logs and `db status`."""
        return redact_url(self.catalog_url)

    def ensure_dirs(self) -> None:
        for d in (self.home, self.repos_dir, self.artifacts_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True)


def default_catalog_url(home: Path) -> str:
    return f"sqlite:///{home / 'catalog.db'}"


def redact_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is echoed back only as its scheme
        return url.split(":", 1)[0] + ":***"
