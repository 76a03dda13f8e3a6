"""GitHubProvider: the metadata repository on GitHub (or GitHub Enterprise) through PyGithub.

One commit of many files goes through the Git Data API: a tree on top of the head's tree
(`base_tree`), one commit, then a non-forced ref update, which GitHub refuses unless it is a
fast-forward: if the branch moved, the tree and commit are rebuilt on the new head and the update
retried. File contents travel inside the tree requests (batched by size); only large files go
through the blobs API first. The reason is PyGithub's default pacing for GitHub's secondary rate
limits (one write per second): a blob per file would make a 1,000-file commit take 17 minutes.
The token comes from an environment variable and is only ever handed to PyGithub's `Auth.Token`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from github import Auth, Github, GithubException, InputGitAuthor, InputGitTreeElement, UnknownObjectException
from github.GitCommit import GitCommit
from github.Repository import Repository

from metadata_pipeline.sync.errors import ProviderError, PushRejectedError, SyncError
from metadata_pipeline.sync.layout import is_under
from metadata_pipeline.sync.providers import (
    PIPELINE_AUTHOR,
    ChangedFile,
    ChangeStatus,
    CommitAuthor,
    CommitInfo,
    FileChange,
    OnMoved,
    SourceControlProvider,
    TreeEntry,
)

DEFAULT_BASE_URL = "https://api.github.com"
COMPARE_FILE_LIMIT = 300  # GitHub lists at most 300 files in a comparison; beyond that, diff the trees
INLINE_LIMIT = 256 * 1024  # larger files are uploaded as blobs first
TREE_BATCH_BYTES = 2 * 1024 * 1024  # inline content per tree request
_STATUS: dict[str, list[ChangeStatus]] = {
    "added": ["added"],
    "copied": ["added"],
    "modified": ["modified"],
    "changed": ["modified"],
    "removed": ["removed"],
}
_DEFAULT = object()


def parse_github_remote(remote: str) -> tuple[str, str]:
    """(API base URL, "owner/repo") from the forms a user may write.

    `owner/repo` and `https://github.com/owner/repo(.git)` use api.github.com; an Enterprise
    `https://host/owner/repo` uses `https://host/api/v3`; an API URL `<base>/repos/owner/repo`
    (GitHub Enterprise, or a test server) keeps its base.
    """
    text = remote.strip().removesuffix("/").removesuffix(".git")
    if "/repos/" in text:
        base, full = text.split("/repos/", 1)
        return base, full
    match = re.match(r"^(?:git@([^:]+):|https?://([^/]+)/)?([^/\s]+/[^/\s]+)$", text)
    if not match:
        raise SyncError(f"cannot read a GitHub repository from {remote!r}: use owner/repo or its URL")
    host = match.group(1) or match.group(2)
    if host is None or host in ("github.com", "www.github.com"):
        return DEFAULT_BASE_URL, match.group(3)
    return f"https://{host}/api/v3", match.group(3)


def _failure(action: str, exc: GithubException) -> ProviderError:
    """GitHub's own text for a failure; never the request (whose headers carry the token)."""
    message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
    return ProviderError(f"GitHub {action} failed ({exc.status}): {message}")


@contextmanager
def _github_errors(action: str) -> Iterator[None]:
    try:
        yield
    except GithubException as exc:
        raise _failure(action, exc) from None
    except OSError as exc:  # connection refused, DNS, TLS
        raise ProviderError(f"GitHub {action} failed: {exc}") from None


def _is_not_fast_forward(exc: GithubException) -> bool:
    return exc.status in (409, 422)


class GitHubProvider(SourceControlProvider):
    name = "github"

    def __init__(
        self,
        repository: str,
        token: str | None,
        base_url: str = DEFAULT_BASE_URL,
        max_attempts: int = 5,
        timeout: int = 30,
        retry: Any = _DEFAULT,
        seconds_between_requests: Any = _DEFAULT,
        seconds_between_writes: Any = _DEFAULT,
    ) -> None:
        kwargs: dict[str, Any] = {"base_url": base_url, "timeout": timeout}
        if token:
            kwargs["auth"] = Auth.Token(token)
        # PyGithub's defaults suit github.com; a test server or GHE may lift them.
        for name, value in (
            ("retry", retry),
            ("seconds_between_requests", seconds_between_requests),
            ("seconds_between_writes", seconds_between_writes),
        ):
            if value is not _DEFAULT:
                kwargs[name] = value
        self.repository = repository
        self.max_attempts = max_attempts
        self._github = Github(**kwargs)
        self._repo_cache: Repository | None = None

    @property
    def _repo(self) -> Repository:
        if self._repo_cache is None:
            with _github_errors(f"opening {self.repository}"):
                self._repo_cache = self._github.get_repo(self.repository)
        return self._repo_cache

    def close(self) -> None:
        self._github.close()

    # -- reading --------------------------------------------------------------------------------

    def latest_commit(self, branch: str) -> str | None:
        try:
            return self._repo.get_git_ref(f"heads/{branch}").object.sha
        except UnknownObjectException:
            return None
        except GithubException as exc:
            if exc.status == 409:  # "Git Repository is empty"
                return None
            raise _failure(f"reading branch {branch}", exc) from None

    def changed_files(self, base: str | None, head: str, path: str = "") -> list[ChangedFile]:
        if base is None:
            return [ChangedFile(p, "added") for p in sorted(self.list_files(head, path))]
        with _github_errors("compare"):
            comparison = self._repo.compare(base, head)
            files = comparison.files
            exact = comparison.status in ("ahead", "identical") and len(files) < COMPARE_FILE_LIMIT
        if not exact:  # truncated, or base is not an ancestor (three-dot compare would mislead)
            return self._tree_diff(base, head, path)
        changes: dict[str, ChangeStatus] = {}
        for item in files:
            if item.status == "renamed":
                changes[item.previous_filename] = "removed"
                changes[item.filename] = "added"
                continue
            for status in _STATUS.get(item.status, []):
                changes[item.filename] = status
        return [ChangedFile(p, s) for p, s in sorted(changes.items()) if is_under(p, path)]

    def _tree_diff(self, base: str, head: str, path: str) -> list[ChangedFile]:
        old, new = self.list_files(base, path), self.list_files(head, path)
        changes = [ChangedFile(p, "removed") for p in old if p not in new]
        changes += [ChangedFile(p, "added") for p in new if p not in old]
        changes += [ChangedFile(p, "modified") for p in new if p in old and old[p] != new[p]]
        return sorted(changes, key=lambda c: c.path)

    def file_content(self, commit: str, path: str) -> str | None:
        try:
            found = self._repo.get_contents(path, ref=commit)
        except UnknownObjectException:
            return None
        except GithubException as exc:
            raise _failure(f"reading {path}", exc) from None
        if isinstance(found, list) or found.type != "file":
            return None
        if found.encoding == "base64":
            return found.decoded_content.decode("utf-8", "replace")
        with _github_errors(f"reading {path}"):  # over 1 MB the contents API sends no content
            blob = self._repo.get_git_blob(found.sha)
            return base64.b64decode(blob.content).decode("utf-8", "replace")

    def list_files(self, commit: str, path: str = "") -> dict[str, TreeEntry]:
        with _github_errors("reading a tree"):
            tree_sha = self._repo.get_git_commit(commit).tree.sha
            tree = self._repo.get_git_tree(tree_sha, recursive=True)
            if tree.truncated:
                raise ProviderError(f"the tree of {commit} is too large for one GitHub request")
            return {
                e.path: TreeEntry(e.path, e.mode, e.sha)
                for e in tree.tree
                if e.type in ("blob", "commit") and is_under(e.path, path)
            }

    # -- writing --------------------------------------------------------------------------------

    def _create_blobs(self, changes: list[FileChange]) -> dict[str, str]:
        """Blob shas for the large files; the others go inline in the tree requests."""
        large = [
            c for c in changes if c.content is not None and len(c.content.encode("utf-8")) > INLINE_LIMIT
        ]
        with _github_errors("creating blobs"):
            return {c.path: self._repo.create_git_blob(c.content, "utf-8").sha for c in large if c.content}

    def _tree_batches(
        self, head: str | None, changes: list[FileChange], blobs: dict[str, str]
    ) -> list[list[InputGitTreeElement]]:
        deletes = [c.path for c in changes if c.content is None]
        existing = self.list_files(head) if head and deletes else {}
        # GitHub refuses to delete a path that does not exist; the interface says that is a no-op.
        batches: list[list[InputGitTreeElement]] = [
            [InputGitTreeElement(p, "100644", "blob", sha=None) for p in deletes if p in existing]
        ]
        size = 0
        for change in changes:
            if change.content is None:
                continue
            if change.path in blobs:
                batches[-1].append(InputGitTreeElement(change.path, "100644", "blob", sha=blobs[change.path]))
                continue
            length = len(change.content.encode("utf-8"))
            if size and size + length > TREE_BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(InputGitTreeElement(change.path, "100644", "blob", content=change.content))
            size += length
        return [b for b in batches if b]

    def _build_commit(
        self, head: str | None, batches: list[list[InputGitTreeElement]], message: str, author: CommitAuthor
    ) -> GitCommit | None:
        with _github_errors("creating a commit"):
            parent = self._repo.get_git_commit(head) if head else None
            tree = parent.tree if parent is not None else None
            for batch in batches:  # each request builds on the previous tree
                tree = (
                    self._repo.create_git_tree(batch, base_tree=tree)
                    if tree
                    else self._repo.create_git_tree(batch)
                )
            if tree is None or (parent is not None and tree.sha == parent.tree.sha):
                return None
            who = InputGitAuthor(author.name, author.email)
            return self._repo.create_git_commit(
                message, tree, [parent] if parent else [], author=who, committer=who
            )

    def _publish(self, branch: str, head: str | None, sha: str) -> bool:
        """Move the branch to `sha`; False when GitHub refuses because the branch moved."""
        if self.before_publish is not None:
            self.before_publish()
        try:
            if head is None:
                self._repo.create_git_ref(f"refs/heads/{branch}", sha)
            else:
                ref = self._repo.get_git_ref(f"heads/{branch}")
                ref.edit(sha, force=False)
            return True
        except GithubException as exc:
            if _is_not_fast_forward(exc):
                return False
            raise _failure(f"updating branch {branch}", exc) from None

    def commit_files(
        self,
        branch: str,
        changes: list[FileChange],
        message: str,
        author: CommitAuthor = PIPELINE_AUTHOR,
        on_moved: OnMoved | None = None,
        expected_head: str | None = None,
    ) -> CommitInfo | None:
        if not changes:
            return None
        blobs = self._create_blobs(changes)
        known = expected_head
        for attempt in range(1, self.max_attempts + 1):
            head = self.latest_commit(branch)
            if on_moved is not None and head != known and head is not None:
                on_moved(known, head)
            batches = self._tree_batches(head, changes, blobs)
            if not batches:
                return None
            commit = self._build_commit(head, batches, message, author)
            if commit is None:
                return None
            if self._publish(branch, head, commit.sha):
                return CommitInfo(sha=commit.sha, parent=head, attempts=attempt)
            known = head
        raise PushRejectedError(f"branch {branch} kept moving: gave up after {self.max_attempts} attempts")

    def create_branch(self, branch: str, from_commit: str) -> None:
        try:
            self._repo.create_git_ref(f"refs/heads/{branch}", from_commit)
        except GithubException as exc:
            if exc.status == 422:
                raise SyncError(f"branch {branch} already exists in {self.repository}") from None
            raise _failure(f"creating branch {branch}", exc) from None

    def open_pull_request(self, head: str, base: str, title: str, body: str = "") -> str:
        with _github_errors("opening a pull request"):
            return self._repo.create_pull(base=base, head=head, title=title, body=body).html_url
