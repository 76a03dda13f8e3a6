"""Turn GitHub and GitLab webhook payloads into one plain `Delivery` record.

Only what planning needs is extracted (repository identity, branch, SHAs, changed paths, whether
every commit was the pipeline's own); the raw payload is kept alongside for audit.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import Any

# The sync package writes the trailer into the pipeline's commits; one definition of it, there.
from metadata_pipeline.sync.providers import is_pipeline_commit

ZERO_SHA = "0" * 40
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^/:]+):(?P<path>(?!//).+)$")


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery, provider differences removed."""

    provider: str  # github | gitlab
    delivery_id: str
    event_type: str  # push | ping | the provider's own name for anything else
    repository: str | None  # human-readable: owner/name or group/project
    repo_urls: tuple[str, ...]  # every URL the payload names for the repository
    full_name: str | None
    branch: str | None = None  # None for tag pushes and pings
    before_sha: str | None = None
    after_sha: str | None = None
    changed_paths: tuple[str, ...] = ()
    only_pipeline_commits: bool = False
    payload: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def repo_key(url: str) -> str:
    """A comparable key for a repository URL: no scheme, credentials, port, `.git` suffix or case.

    `https://github.com/Org/Repo.git`, `git@github.com:org/repo` and `ssh://git@github.com:22/org/repo`
    all become `github.com/org/repo`; a local path keeps its path.
    """
    text = url.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
        netloc, _, path = text.partition("/")
        host = netloc.rsplit("@", 1)[-1].split(":", 1)[0]
        text = f"{host}/{path}" if host else f"/{path}"
    else:
        scp = _SCP_LIKE.match(text)
        if scp and not text.startswith("/"):
            text = f"{scp['host']}/{scp['path'].lstrip('/')}"
    text = text.rstrip("/")
    if text.endswith(".git"):
        text = text[: -len(".git")]
    return text.rstrip("/")


def branch_of(ref: str | None) -> str | None:
    """`refs/heads/feature/x` -> `feature/x`; tags and other refs have no branch."""
    prefix = "refs/heads/"
    return ref[len(prefix) :] if ref and ref.startswith(prefix) else None


def body_hash_id(body: bytes) -> str:
    """A delivery id for a provider that sent none: identical retries hash the same."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _text(mapping: Any, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) and value else None


def _urls(*mappings: Any, keys: tuple[str, ...]) -> tuple[str, ...]:
    found: list[str] = []
    for mapping in mappings:
        found += [v for k in keys if (v := _text(mapping, k)) and v not in found]
    return tuple(found)


def _commit_summary(payload: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    """Changed paths over all commits, and whether every commit carries the pipeline trailer."""
    commits = [c for c in payload.get("commits") or [] if isinstance(c, dict)]
    paths: set[str] = set()
    for commit in commits:
        for key in ("added", "modified", "removed"):
            paths.update(p for p in commit.get(key) or [] if isinstance(p, str))
    total = payload.get("total_commits_count")
    # A truncated list (GitLab sends at most 20 commits) cannot prove that every commit is ours.
    complete = not isinstance(total, int) or total <= len(commits)
    only_ours = bool(commits) and complete and all(is_pipeline_commit(_text(c, "message")) for c in commits)
    return tuple(sorted(paths)), only_ours


def _delivery(
    provider: str,
    event: str,
    delivery_id: str,
    payload: dict[str, Any],
    urls: tuple[str, ...],
    full_name: str | None,
) -> Delivery:
    delivery = Delivery(
        provider=provider,
        delivery_id=delivery_id,
        event_type=event,
        repository=full_name or (urls[0] if urls else None),
        repo_urls=urls,
        full_name=full_name,
        payload=payload,
    )
    if event != "push":
        return delivery
    paths, only_ours = _commit_summary(payload)
    return replace(
        delivery,
        branch=branch_of(_text(payload, "ref")),
        before_sha=_text(payload, "before"),
        after_sha=_text(payload, "after"),
        changed_paths=paths,
        only_pipeline_commits=only_ours,
    )


def github_delivery(event: str, delivery_id: str, payload: dict[str, Any]) -> Delivery:
    """A GitHub delivery; `event` is the X-GitHub-Event header (`push`, `ping`...)."""
    repo = payload.get("repository")
    urls = _urls(repo, keys=("clone_url", "ssh_url", "html_url", "git_url", "svn_url"))
    return _delivery("github", event, delivery_id, payload, urls, _text(repo, "full_name"))


def gitlab_delivery(event_header: str, delivery_id: str, payload: dict[str, Any]) -> Delivery:
    """A GitLab delivery; `Push Hook` becomes `push`, `Tag Push Hook` becomes `tag_push`."""
    project, repo = payload.get("project"), payload.get("repository")
    keys = ("git_http_url", "git_ssh_url", "web_url", "http_url", "ssh_url", "url", "homepage")
    event = event_header.removesuffix(" Hook").strip().lower().replace(" ", "_") or "unknown"
    return _delivery(
        "gitlab",
        event,
        delivery_id,
        payload,
        _urls(project, repo, keys=keys),
        _text(project, "path_with_namespace"),
    )
