"""The source control provider interface, and what every provider shares (the pipeline's commit marker).

A provider speaks in commits and repository-relative paths on one remote. Two implementations:
`GitProvider` (anything the `git` command reaches, via a local cache) and `GitHubProvider` (the
GitHub REST API through PyGithub).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from metadata_pipeline.sync.errors import NotSupportedError

PIPELINE_TRAILER_KEY = "Metadata-Pipeline-Commit"
PIPELINE_TRAILER = f"{PIPELINE_TRAILER_KEY}: true"
PIPELINE_AUTHOR_NAME = "metadata-pipeline"
PIPELINE_AUTHOR_EMAIL = "metadata-pipeline@localhost"

REGULAR_FILE_MODES = frozenset({"100644", "100755"})
SYMLINK_MODE = "120000"
SUBMODULE_MODE = "160000"

ChangeStatus = Literal["added", "modified", "removed"]

_TRAILER_RE = re.compile(rf"^{re.escape(PIPELINE_TRAILER_KEY)}:\s*true\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class CommitAuthor:
    name: str = PIPELINE_AUTHOR_NAME
    email: str = PIPELINE_AUTHOR_EMAIL


PIPELINE_AUTHOR = CommitAuthor()


@dataclass(frozen=True)
class FileChange:
    """One file of a commit: new content, or None to delete it."""

    path: str
    content: str | None

    @property
    def is_delete(self) -> bool:
        return self.content is None


@dataclass(frozen=True)
class ChangedFile:
    """A file that differs between two commits; a rename is reported as removed + added."""

    path: str
    status: ChangeStatus


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    sha: str  # blob sha: equal content <=> equal sha, on every provider

    @property
    def is_regular_file(self) -> bool:
        return self.mode in REGULAR_FILE_MODES


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parent: str | None
    attempts: int = 1  # > 1 when the branch moved and the changes were re-applied


# Called with (head we built on, new head) when the branch moved under a commit; raise to abort.
OnMoved = Callable[[str | None, str], None]


def with_trailer(message: str) -> str:
    """The commit message with the pipeline's trailer as the last paragraph (git-interpret-trailers style)."""
    body = message.rstrip()
    if _TRAILER_RE.search(body):
        return body + "\n"
    return f"{body}\n\n{PIPELINE_TRAILER}\n"


def is_pipeline_commit(message: str | None) -> bool:
    """True for commits the pipeline wrote, so the webhook sensor can skip syncing its own pushes."""
    return bool(message) and _TRAILER_RE.search(message or "") is not None


def git_blob_sha(content: str | bytes) -> str:
    """Git's object id of a blob: lets us tell whether a file changed without downloading it."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


class SourceControlProvider(ABC):
    """One remote repository. Paths are repository-relative with '/' separators."""

    name: str = "abstract"
    # Test seam: called right before every publish attempt (push / ref update), so a test can move
    # the branch at exactly the worst moment. Never set in production code.
    before_publish: Callable[[], None] | None = None

    @abstractmethod
    def latest_commit(self, branch: str) -> str | None:
        """The branch's head commit, or None when the branch (or the repository) is empty."""

    @abstractmethod
    def changed_files(self, base: str | None, head: str, path: str = "") -> list[ChangedFile]:
        """Files under `path` that differ between `base` (None = empty tree) and `head`, sorted."""

    @abstractmethod
    def file_content(self, commit: str, path: str) -> str | None:
        """The file's text at `commit`, or None when it does not exist there."""

    @abstractmethod
    def list_files(self, commit: str, path: str = "") -> dict[str, TreeEntry]:
        """Every file (blob, symlink, submodule) under `path` at `commit`, by path."""

    @abstractmethod
    def commit_files(
        self,
        branch: str,
        changes: list[FileChange],
        message: str,
        author: CommitAuthor = PIPELINE_AUTHOR,
        on_moved: OnMoved | None = None,
        expected_head: str | None = None,
    ) -> CommitInfo | None:
        """One commit of all `changes` on top of the branch head, published; None if nothing changed.

        Deleting a path that does not exist is ignored. `expected_head` is the head the caller
        prepared the changes against: whenever the branch is found elsewhere (before the first
        attempt, or after a rejected publish) `on_moved(previous, new)` is called first and may
        raise to abort; otherwise the changes are re-applied on the new head and published again.
        """

    @abstractmethod
    def create_branch(self, branch: str, from_commit: str) -> None:
        """Create `branch` at `from_commit`."""

    def open_pull_request(self, head: str, base: str, title: str, body: str = "") -> str:
        """Open a pull request and return its URL; plain git has none."""
        raise NotSupportedError(f"the {self.name} provider cannot open pull requests")

    def read_files(self, commit: str, paths: Iterable[str]) -> dict[str, str | None]:
        """Several files at one commit; providers override this when they can batch."""
        return {p: self.file_content(commit, p) for p in paths}

    def read_files_at(self, requests: Mapping[str, tuple[str, str]]) -> dict[str, str | None]:
        """Files at different commits: key -> (commit, path)."""
        return {key: self.file_content(commit, path) for key, (commit, path) in requests.items()}

    def close(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release connections or locks."""
