"""GitProvider: any remote the `git` command reaches (local bare repositories included).

It keeps a bare cache clone under the data directory and works with plumbing only (no checkout):
`git fast-import` writes one commit of any number of files in a single process, and the push uses
`--force-with-lease` on the head we built on, which makes publishing a compare-and-swap: if the branch
moved, the push is rejected, we fetch, re-apply the same file changes on the new head and retry.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from metadata_pipeline.sync.errors import ProviderError, PushRejectedError, SyncError
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

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
TOKEN_ENV = "METADATA_PIPELINE_GIT_TOKEN"  # how the askpass helper receives the token, never argv
_STATUS: dict[str, ChangeStatus] = {"A": "added", "M": "modified", "T": "modified", "D": "removed"}
_REJECTED = ("stale info", "fetch first", "non-fast-forward", "[rejected]")
_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "${METADATA_PIPELINE_GIT_USERNAME:-x-access-token}" ;;
  *) printf '%s\\n' "$METADATA_PIPELINE_GIT_TOKEN" ;;
esac
"""


def cache_dir_for(root: Path, remote_url: str) -> Path:
    """One cache clone per remote URL."""
    return root / hashlib.sha1(remote_url.encode("utf-8")).hexdigest()[:16]


def redact(text: str, secret: str | None = None) -> str:
    """Strip credentials from git output: `https://user:token@host` and the token itself."""
    text = re.sub(r"(://)[^/@\s]+@", r"\1***@", text)
    return text.replace(secret, "***") if secret else text


def _quote_path(path: str) -> str:
    # fast-import accepts C-style quoted paths, which keeps spaces and quotes unambiguous.
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class GitProvider(SourceControlProvider):
    name = "git"

    def __init__(
        self,
        remote_url: str,
        cache_dir: Path,
        token: str | None = None,
        max_attempts: int = 5,
        timeout: float = 600,
    ) -> None:
        self.remote_url = remote_url
        self.cache_dir = cache_dir
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._token = token
        self._thread_lock = threading.RLock()
        self._lock_depth = 0
        self._lock_file: int | None = None
        self._initialized = False

    # -- plumbing -------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        if self._token:
            askpass = self.cache_dir.parent / "askpass.sh"
            if not askpass.exists():
                askpass.write_text(_ASKPASS)
                askpass.chmod(0o700)
            env.update({"GIT_ASKPASS": str(askpass), TOKEN_ENV: self._token})
        return env

    def _git(
        self, *args: str, stdin: bytes | None = None, check: bool = True, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        command = ["git", "--literal-pathspecs", *args]
        try:
            result = subprocess.run(
                command,
                cwd=cwd or self.cache_dir,
                input=stdin,
                capture_output=True,
                env=self._env(),
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            raise ProviderError(f"git {args[0]} timed out after {self.timeout:.0f}s") from None
        if check and result.returncode != 0:
            stderr = redact(result.stderr.decode("utf-8", "replace").strip(), self._token)
            raise ProviderError(f"git {args[0]} failed: {stderr or 'exit ' + str(result.returncode)}")
        return result

    def _out(self, *args: str) -> str:
        return self._git(*args).stdout.decode("utf-8").strip()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialize use of the cache across threads and processes (git's own locks just fail)."""
        with self._thread_lock:
            if self._lock_depth == 0:
                self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
                self._lock_file = os.open(str(self.cache_dir) + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self._lock_depth += 1
            try:
                self._ensure_cache()
                yield
            finally:
                self._lock_depth -= 1
                if self._lock_depth == 0 and self._lock_file is not None:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                    os.close(self._lock_file)
                    self._lock_file = None

    def _ensure_cache(self) -> None:
        if self._initialized:
            return
        if not (self.cache_dir / "HEAD").exists():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self._git("init", "--bare", "-q", str(self.cache_dir), cwd=self.cache_dir.parent)
            self._git("remote", "add", "origin", self.remote_url)
        elif self._out("config", "--get", "remote.origin.url") != self.remote_url:
            self._git("remote", "set-url", "origin", self.remote_url)
        self._initialized = True

    def fetch(self) -> None:
        with self._locked():
            self._git("fetch", "--prune", "--quiet", "origin", "+refs/heads/*:refs/remotes/origin/*")

    def _has_commit(self, sha: str) -> bool:
        return self._git("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0

    def _ensure_commits(self, *shas: str | None) -> None:
        missing = [s for s in shas if s and not self._has_commit(s)]
        if missing:
            self.fetch()
            still = [s for s in missing if not self._has_commit(s)]
            if still:
                raise ProviderError(f"commit {still[0]} is not in {redact(self.remote_url)}")

    # -- reading --------------------------------------------------------------------------------

    def latest_commit(self, branch: str) -> str | None:
        with self._locked():
            self.fetch()
            result = self._git(
                "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{branch}^{{commit}}", check=False
            )
            return result.stdout.decode().strip() or None

    def changed_files(self, base: str | None, head: str, path: str = "") -> list[ChangedFile]:
        with self._locked():
            self._ensure_commits(base, head)
            args = ["diff", "--name-status", "-z", "--no-renames", base or EMPTY_TREE, head]
            out = self._git(*args, *(["--", path] if path else [])).stdout.decode("utf-8")
            fields = out.split("\0")
            changes = [
                ChangedFile(path=fields[i + 1], status=_STATUS.get(fields[i][:1], "modified"))
                for i in range(0, len(fields) - 1, 2)
                if fields[i]
            ]
            return sorted(changes, key=lambda c: c.path)

    def file_content(self, commit: str, path: str) -> str | None:
        with self._locked():
            self._ensure_commits(commit)
            result = self._git("cat-file", "blob", f"{commit}:{path}", check=False)
            return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None

    def read_files(self, commit: str, paths: Iterable[str]) -> dict[str, str | None]:
        return self.read_files_at({p: (commit, p) for p in paths})

    def read_files_at(self, requests: Mapping[str, tuple[str, str]]) -> dict[str, str | None]:
        """All files through one `git cat-file --batch` process instead of one process each."""
        # A newline in a path would break the line protocol: those few are read one by one.
        keys = [k for k, (_, p) in requests.items() if "\n" not in p]
        result: dict[str, str | None] = {
            k: self.file_content(c, p) for k, (c, p) in requests.items() if "\n" in p
        }
        if not keys:
            return result
        with self._locked():
            self._ensure_commits(*{requests[k][0] for k in keys})
            stdin = "".join(f"{requests[k][0]}:{requests[k][1]}\n" for k in keys).encode("utf-8")
            out = self._git("cat-file", "--batch", stdin=stdin).stdout
        offset = 0
        for key in keys:
            end = out.index(b"\n", offset)
            header = out[offset:end].decode("utf-8", "replace")
            offset = end + 1
            if header.endswith((" missing", " ambiguous")):  # "<rev>:<path> missing": no body follows
                result[key] = None
                continue
            _sha, kind, size = header.split(" ")
            body = out[offset : offset + int(size)]
            offset += int(size) + 1
            result[key] = body.decode("utf-8", "replace") if kind == "blob" else None
        return result

    def list_files(self, commit: str, path: str = "") -> dict[str, TreeEntry]:
        with self._locked():
            self._ensure_commits(commit)
            args = ["ls-tree", "-r", "-z", "--full-tree", commit, *(["--", path] if path else [])]
            out = self._git(*args).stdout.decode("utf-8")
        entries: dict[str, TreeEntry] = {}
        for record in out.split("\0"):
            if not record:
                continue
            meta, file_path = record.split("\t", 1)
            mode, _kind, sha = meta.split(" ")
            entries[file_path] = TreeEntry(file_path, mode, sha)
        return entries

    # -- writing --------------------------------------------------------------------------------

    def _build_commit(
        self, head: str | None, changes: list[FileChange], message: str, author: CommitAuthor
    ) -> str | None:
        """The new commit's sha (not yet published), or None when the tree would not change."""
        ref = f"refs/metadata-pipeline/tmp/{uuid.uuid4().hex}"
        when = f"{int(time.time())} +0000"
        ident = f"{author.name} <{author.email}> {when}"
        msg = message.encode("utf-8")
        parts = [
            f"commit {ref}\nauthor {ident}\ncommitter {ident}\n".encode(),
            b"data %d\n" % len(msg),
            msg,
            b"\n",
        ]
        if head:
            parts.append(f"from {head}\n".encode())
        for change in changes:
            if change.content is None:
                parts.append(f"D {_quote_path(change.path)}\n".encode())
            else:
                data = change.content.encode("utf-8")
                parts += [
                    f"M 100644 inline {_quote_path(change.path)}\n".encode(),
                    b"data %d\n" % len(data),
                    data,
                    b"\n",
                ]
        parts.append(b"done\n")
        self._git("fast-import", "--quiet", "--done", stdin=b"".join(parts))
        try:
            sha = self._out("rev-parse", ref)
        finally:
            self._git("update-ref", "-d", ref)
        if self._out("rev-parse", f"{sha}^{{tree}}") == self._out(
            "rev-parse", f"{head or EMPTY_TREE}^{{tree}}"
        ):
            return None
        return sha

    def _push(self, sha: str, branch: str, expected: str | None) -> bool:
        """Publish `sha` as the branch only if the remote branch is still `expected` (None: absent)."""
        if self.before_publish is not None:
            self.before_publish()
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        result = self._git("push", "--porcelain", lease, "origin", f"{sha}:refs/heads/{branch}", check=False)
        if result.returncode == 0:
            self._git("update-ref", f"refs/remotes/origin/{branch}", sha)
            return True
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        rejected = [line for line in output.splitlines() if line.startswith("!")]
        if rejected and all(any(r in line for r in _REJECTED) for line in rejected):
            return False
        raise ProviderError(
            f"git push to {redact(self.remote_url)} failed: {redact(output.strip(), self._token)}"
        )

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
        with self._locked():
            known = expected_head
            for attempt in range(1, self.max_attempts + 1):
                head = self.latest_commit(branch)
                if on_moved is not None and head != known and head is not None:
                    on_moved(known, head)
                sha = self._build_commit(head, changes, message, author)
                if sha is None:
                    return None
                if self._push(sha, branch, head):
                    return CommitInfo(sha=sha, parent=head, attempts=attempt)
                known = head
        raise PushRejectedError(f"branch {branch} kept moving: gave up after {self.max_attempts} attempts")

    def create_branch(self, branch: str, from_commit: str) -> None:
        with self._locked():
            self._ensure_commits(from_commit)
            # A push that changes nothing succeeds whatever the lease says: look first.
            if self.latest_commit(branch) is not None or not self._push(from_commit, branch, None):
                raise SyncError(f"branch {branch} already exists in {redact(self.remote_url)}")
