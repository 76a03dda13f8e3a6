"""Payload parsing, repository URL keys and signatures: plain functions, no database."""

from __future__ import annotations

import pytest

from metadata_pipeline.webhooks import repo_key, sign_github, verify_github_signature, verify_gitlab_token
from metadata_pipeline.webhooks.payloads import github_delivery, gitlab_delivery
from metadata_pipeline_tests.webhooks.helpers import PIPELINE_MESSAGE, commit, github_push, gitlab_push


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://github.com/Acme/Shop.git", "github.com/acme/shop"),
        ("https://github.com/acme/shop", "github.com/acme/shop"),
        ("https://github.com/acme/shop/", "github.com/acme/shop"),
        ("git@github.com:acme/shop.git", "github.com/acme/shop"),
        ("ssh://git@github.com:22/acme/shop.git", "github.com/acme/shop"),
        ("https://user:token@github.com/acme/shop.git", "github.com/acme/shop"),
        ("git://github.com/acme/shop.git", "github.com/acme/shop"),
        ("https://gitlab.example.com:8443/group/sub/proj.git", "gitlab.example.com/group/sub/proj"),
        ("/srv/git/shop.git", "/srv/git/shop"),
        ("file:///srv/git/shop.git", "/srv/git/shop"),
    ],
)
def test_repo_key_normalizes_every_spelling(url: str, key: str) -> None:
    assert repo_key(url) == key


def test_github_push_summary() -> None:
    payload = github_push(
        ref="refs/heads/feature/x",
        commits=[commit(added=("b.sql",), modified=("a.sql",)), commit(modified=("a.sql",))],
    )
    delivery = github_delivery("push", "d", payload)
    assert delivery.branch == "feature/x"
    assert delivery.changed_paths == ("a.sql", "b.sql")
    assert delivery.repo_urls == ("https://github.com/acme/shop.git", "https://github.com/acme/shop")
    assert delivery.only_pipeline_commits is False


@pytest.mark.parametrize(
    ("messages", "only_ours"),
    [
        ([PIPELINE_MESSAGE], True),
        ([PIPELINE_MESSAGE, PIPELINE_MESSAGE], True),
        ([PIPELINE_MESSAGE, "Fix orders model"], False),
        (["Fix orders model"], False),
        ([], False),  # no commits (a branch created at an existing commit) proves nothing
    ],
)
def test_only_pipeline_commits_needs_every_commit_marked(messages: list[str], only_ours: bool) -> None:
    payload = github_push(commits=[commit(message=m) for m in messages])
    assert github_delivery("push", "d", payload).only_pipeline_commits is only_ours


def test_a_truncated_gitlab_commit_list_is_never_only_ours() -> None:
    payload = {**gitlab_push(commits=[commit(message=PIPELINE_MESSAGE)]), "total_commits_count": 25}
    assert gitlab_delivery("Push Hook", "d", payload).only_pipeline_commits is False


def test_tag_push_has_no_branch_and_gitlab_event_names() -> None:
    assert github_delivery("push", "d", github_push(ref="refs/tags/v1")).branch is None
    assert gitlab_delivery("Tag Push Hook", "d", gitlab_push()).event_type == "tag_push"
    lake = gitlab_delivery("Push Hook", "d", gitlab_push())
    assert (lake.event_type, lake.full_name, lake.branch) == ("push", "data/lake", "main")


def test_github_signature_is_checked_against_every_secret() -> None:
    body = b'{"a": 1}'
    signature = sign_github(body, "two")
    assert verify_github_signature(body, signature, ["one", "two"])
    assert not verify_github_signature(body, signature, ["one"])
    assert not verify_github_signature(body + b" ", signature, ["two"])
    assert not verify_github_signature(body, signature.removeprefix("sha256="), ["two"])
    assert not verify_github_signature(body, None, ["two"])
    assert not verify_github_signature(body, signature, [])


def test_gitlab_token() -> None:
    assert verify_gitlab_token("s3cret", ["x", "s3cret"])
    assert not verify_gitlab_token("s3cret", ["x"])
    assert not verify_gitlab_token(None, ["x"])
    assert not verify_gitlab_token("", [""])
