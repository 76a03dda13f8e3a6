"""Keep a local, cached checkout of a git repository in step with one remote branch.

Everything goes through the `git` command line: it already speaks every transport (local paths,
file://, ssh, https), and a subprocess with a timeout cannot hang the pipeline on a prompt.
Credentials never reach argv, `.git/config` or an error message: a token is handed to the git
process only, through `GIT_CONFIG_*` environment variables, and every text we raise is redacted.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from metadata_pipeline.ingest.errors import RepositoryError

DEFAULT_TIMEOUT_SECONDS = 600.0
_REMOTE = "origin"

# stderr fragments (git runs with LC_ALL=C) mapped to the reason we report.
_AUTH_MARKERS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "repository not found",
    "invalid username or password",
)
_MISSING_BRANCH_MARKERS = ("couldn't find remote ref", "remote branch", "not found in upstream")
_UNREACHABLE_MARKERS = (
    "could not resolve host",
    "does not appear to be a git repository",
    "unable to access",
    "connection refused",
    "connection timed out",
    "no such file or directory",
    "not a git repository",
    "could not read from remote repository",
    "failed to connect",
)


@dataclass(frozen=True)
class RepoSnapshot:
    """A checkout at the remote branch head; `changed` is False when the head did not move."""

    path: Path
    head_sha: str
    previous_sha: str | None
    changed: bool
    branch: str


def sync_repository(
    url: str,
    branch: str | None,
    cache_dir: Path,
    *,
    token_env: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> RepoSnapshot:
    """Clone `url` once under `cache_dir`, then fetch and hard-reset to the remote `branch` head.

    `branch=None` follows the remote's default branch. `token_env` names the environment variable
    holding an https access token (never the token itself).
    """
    remote = _GitRemote(url, token_env=token_env, timeout=timeout)
    _check_branch(branch, remote.safe_url)
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest = cache_dir / repo_slug(url)
    with _locked(cache_dir / f"{dest.name}.lock"):
        target_branch = branch or remote.default_branch()
        _check_branch(target_branch, remote.safe_url)
        previous = _current_head(dest, remote) if _is_git_checkout(dest, remote) else None
        if previous is None:
            _init_checkout(dest, remote)
        remote.fetch_branch(dest, target_branch)
        remote.checkout(dest, target_branch)
        head = remote.git(["rev-parse", "HEAD"], cwd=dest).strip()
    return RepoSnapshot(
        path=dest, head_sha=head, previous_sha=previous, changed=head != previous, branch=target_branch
    )


def ls_remote_head(
    url: str, branch: str | None, token_env: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> str:
    """The commit sha the remote `branch` (or its default branch) points at, without cloning."""
    remote = _GitRemote(url, token_env=token_env, timeout=timeout)
    _check_branch(branch, remote.safe_url)
    ref = f"refs/heads/{branch}" if branch else "HEAD"
    out = remote.git(["ls-remote", remote.fetch_url, ref], cwd=None)
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name.strip() == ref:
            return sha.strip()
    what = f"branch {branch!r}" if branch else "a default branch (empty repository?)"
    raise RepositoryError(f"{remote.safe_url}: the remote has no {what}", url=remote.safe_url)


def repo_slug(url: str) -> str:
    """A filesystem-safe, collision-free directory name for a repository URL (credentials removed)."""
    clean = redact_url(_normalise_url(url))
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", re.sub(r"^[a-z+]+://", "", clean)).strip("-.")[-60:]
    digest = hashlib.sha256(clean.encode()).hexdigest()[:12]
    return f"{readable or 'repo'}-{digest}"


def redact_url(url: str) -> str:
    """The URL with any user:password@ part replaced, safe to log and to put in error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _normalise_url(url: str) -> str:
    """Local paths become absolute so the same repository maps to one cache directory from any cwd."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", url) or re.match(r"^[^/]+@[^/]+:", url):
        return url
    return str(Path(url).expanduser().resolve())


class _GitRemote:
    """One remote URL plus how to talk to it: environment, credentials, redaction, timeout."""

    def __init__(self, url: str, *, token_env: str | None, timeout: float) -> None:
        self.fetch_url = _normalise_url(url)
        self.safe_url = redact_url(self.fetch_url)
        if not url.strip() or url.lstrip().startswith("-"):
            # A "URL" such as --upload-pack=... would be read by git as an option.
            raise RepositoryError(f"{self.safe_url!r} is not a repository URL", url=self.safe_url)
        self.timeout = timeout
        self._secrets = _url_secrets(self.fetch_url)
        self._env = _git_env(self._auth_header(token_env))

    def _auth_header(self, token_env: str | None) -> str | None:
        if not token_env:
            return None
        token = os.environ.get(token_env, "")
        if not token:
            raise RepositoryError(
                f"{self.safe_url}: the access token variable {token_env} is not set", url=self.safe_url
            )
        # GitHub, GitLab and Bitbucket all accept a token as the password of HTTP basic auth.
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        self._secrets += [token, basic]
        return f"Authorization: Basic {basic}"

    def default_branch(self) -> str:
        out = self.git(["ls-remote", "--symref", self.fetch_url, "HEAD"], cwd=None)
        match = re.search(r"^ref: refs/heads/(\S+)\s+HEAD$", out, re.MULTILINE)
        if not match:
            raise RepositoryError(
                f"{self.safe_url}: the remote has no default branch (empty repository?)", url=self.safe_url
            )
        return match.group(1)

    def fetch_branch(self, dest: Path, branch: str) -> None:
        refspec = f"+refs/heads/{branch}:refs/remotes/{_REMOTE}/{branch}"
        # Fetch by URL rather than through a configured remote, so a URL carrying credentials is
        # never written to .git/config.
        self.git(["fetch", "--no-tags", "--quiet", self.fetch_url, refspec], cwd=dest, branch=branch)

    def checkout(self, dest: Path, branch: str) -> None:
        self.git(
            ["checkout", "--quiet", "--force", "-B", branch, f"refs/remotes/{_REMOTE}/{branch}"], cwd=dest
        )
        self.git(["reset", "--quiet", "--hard", f"refs/remotes/{_REMOTE}/{branch}"], cwd=dest)
        # -x as well: the cache is ours, so ignored leftovers (target/, dbt_packages/) must not survive.
        self.git(["clean", "-ffdxq"], cwd=dest)

    def git(self, args: list[str], *, cwd: Path | None, branch: str | None = None) -> str:
        try:
            result = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=self._env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RepositoryError(
                f"{self.safe_url}: git {args[0]} timed out after {self.timeout:g}s", url=self.safe_url
            ) from exc
        except FileNotFoundError as exc:
            raise RepositoryError("the git executable was not found on PATH", url=self.safe_url) from exc
        if result.returncode != 0:
            raise RepositoryError(self._explain(args[0], result.stderr, branch), url=self.safe_url)
        return result.stdout

    def _explain(self, command: str, stderr: str, branch: str | None) -> str:
        detail = self.redact(_first_fatal_line(stderr))
        lowered = stderr.lower()
        if branch and any(marker in lowered for marker in _MISSING_BRANCH_MARKERS):
            reason = f"branch {branch!r} does not exist on the remote"
        elif any(marker in lowered for marker in _AUTH_MARKERS):
            reason = "authentication failed (check the access token and its permissions)"
        elif any(marker in lowered for marker in _UNREACHABLE_MARKERS):
            reason = "the repository is unreachable"
        else:
            reason = f"git {command} failed"
        return f"{self.safe_url}: {reason} ({detail})"

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


_BAD_BRANCH = re.compile(r"(^[-/.])|(\.\.)|([\s~^:?*\[\\\x00-\x1f\x7f])|(@\{)|([/.]$)|(\.lock$)")


def _check_branch(branch: str | None, safe_url: str) -> None:
    """git's ref-name rules, checked before a branch name ever reaches a git command line."""
    if branch is not None and (not branch or _BAD_BRANCH.search(branch)):
        raise RepositoryError(f"{safe_url}: {branch!r} is not a valid branch name", url=safe_url)


def _first_fatal_line(stderr: str) -> str:
    """git's own reason: its first `fatal:`/`error:` line (later lines are generic advice)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else "no output"


def _url_secrets(url: str) -> list[str]:
    """The user-info of a URL (user:password), which git may echo back in its messages."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return []
    if "@" not in netloc:
        return []
    userinfo = netloc.rsplit("@", 1)[0]
    return [userinfo, *[part for part in userinfo.split(":")[1:] if part]]


def _git_env(auth_header: str | None) -> dict[str, str]:
    """An environment in which git never prompts and speaks plain English we can classify."""
    env: dict[str, str] = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GCM_INTERACTIVE": "never",
        "LC_ALL": "C",
        "LANG": "C",
    }
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    # Only real transports: never ext:: (runs commands) or fd::, whatever a registered URL says.
    env["GIT_ALLOW_PROTOCOL"] = "file:git:http:https:ssh"
    if auth_header:
        env.update(_config_env({"http.extraheader": auth_header}))
    return env


def _config_env(settings: Mapping[str, str]) -> dict[str, str]:
    """`git -c` equivalents passed through the environment, so secrets stay out of argv (`ps`)."""
    start = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
    env = {"GIT_CONFIG_COUNT": str(start + len(settings))}
    for offset, (key, value) in enumerate(settings.items()):
        env[f"GIT_CONFIG_KEY_{start + offset}"] = key
        env[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    return env


def _is_git_checkout(dest: Path, remote: _GitRemote) -> bool:
    if not (dest / ".git").is_dir():
        return False
    try:
        remote.git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd=dest)
    except RepositoryError:
        # An interrupted first clone (no HEAD yet) or a damaged cache: start again from scratch.
        return False
    return True


def _current_head(dest: Path, remote: _GitRemote) -> str:
    return remote.git(["rev-parse", "HEAD"], cwd=dest).strip()


def _init_checkout(dest: Path, remote: _GitRemote) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    remote.git(["init", "--quiet", str(dest)], cwd=None)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Serialise syncs of one cache directory: two concurrent fetches would fight over git's locks."""
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
