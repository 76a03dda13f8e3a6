"""Typed errors of the sync package: each names what is at fault so the CLI can print it as-is."""

from __future__ import annotations

from metadata_pipeline.errors import PipelineError


class SyncError(PipelineError):
    """A sync problem a user can act on (bad configuration, unreachable remote, blocked commit...)."""


class NotSupportedError(SyncError):
    """The provider has no such feature (plain git has no pull requests)."""


class ProviderError(SyncError):
    """The remote refused or failed an operation; the message never contains a credential."""


class CredentialError(SyncError):
    """The environment variable that should hold a token is unset or empty."""


class PushRejectedError(ProviderError):
    """The branch kept moving while we retried: someone else is pushing continuously."""


class CommitBlockedError(SyncError):
    """Git has changes to files this commit would overwrite that the catalog has not pulled yet."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = sorted(paths)
        shown = ", ".join(self.paths[:5]) + (" ..." if len(self.paths) > 5 else "")
        super().__init__(
            f"Git has {len(self.paths)} changed file(s) this commit would overwrite ({shown}): "
            "run `metadata-pipeline pull` first"
        )


class YamlFormatError(SyncError):
    """A metadata YAML file that cannot be accepted: names the file, the line and the field."""

    def __init__(self, path: str, message: str, line: int | None = None, field: str | None = None) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = path + (f":{line}" if line else "")
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.reason}
