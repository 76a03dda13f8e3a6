"""One provider suite, run against GitProvider (local bare repo) and GitHubProvider (PyGithub against a
local GitHub API over a real repository)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from metadata_pipeline.sync.errors import CommitBlockedError, NotSupportedError, ProviderError, SyncError
from metadata_pipeline.sync.github_provider import GitHubProvider, parse_github_remote
from metadata_pipeline.sync.providers import (
    PIPELINE_AUTHOR_NAME,
    PIPELINE_TRAILER,
    ChangedFile,
    FileChange,
    git_blob_sha,
    is_pipeline_commit,
    with_trailer,
)
from metadata_pipeline_tests.sync.conftest import TOKEN, ProviderCase, github_provider
from metadata_pipeline_tests.sync.github_server import FakeGitHub
from metadata_pipeline_tests.sync.helpers import Clone, git, init_bare


def _log(case: ProviderCase, *args: str) -> str:
    return git("--git-dir", str(case.bare), *args)


def test_empty_branch_then_first_commit(provider_case: ProviderCase) -> None:
    p = provider_case.provider
    assert p.latest_commit("main") is None
    info = p.commit_files("main", [FileChange("datasets/a.yml", "a: 1\n")], with_trailer("first"))
    assert info is not None and info.parent is None and info.attempts == 1
    assert p.latest_commit("main") == info.sha == _log(provider_case, "rev-parse", "refs/heads/main")
    assert p.file_content(info.sha, "datasets/a.yml") == "a: 1\n"


def test_one_commit_of_many_files_with_marker(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    base = clone.push({"datasets/keep.yml": "k\n", "datasets/old.yml": "o\n", "datasets/edit.yml": "e1\n"})
    changes = [FileChange(f"datasets/new_{i}.yml", f"n{i}\n") for i in range(25)]
    changes += [FileChange("datasets/edit.yml", "e2\n"), FileChange("datasets/old.yml", None)]
    changes.append(FileChange("datasets/never_existed.yml", None))  # deleting a missing path: ignored
    info = p.commit_files("main", changes, with_trailer("Update metadata"))
    assert info is not None and info.parent == base
    assert _log(provider_case, "rev-list", "--count", f"{base}..main") == "1"
    message = _log(provider_case, "log", "-1", "--format=%B", "main")
    assert is_pipeline_commit(message) and PIPELINE_TRAILER in message
    assert _log(provider_case, "log", "-1", "--format=%an", "main") == PIPELINE_AUTHOR_NAME
    files = p.list_files(info.sha, "datasets")
    assert "datasets/old.yml" not in files and "datasets/keep.yml" in files and len(files) == 27
    assert files["datasets/edit.yml"].sha == git_blob_sha("e2\n")
    assert p.file_content(info.sha, "datasets/edit.yml") == "e2\n"
    assert p.file_content(base, "datasets/edit.yml") == "e1\n"
    assert p.file_content(info.sha, "datasets/old.yml") is None


def test_no_change_makes_no_commit(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    base = clone.push({"datasets/a.yml": "same\n"})
    assert p.commit_files("main", [FileChange("datasets/a.yml", "same\n")], "noop") is None
    assert p.commit_files("main", [], "noop") is None
    assert p.latest_commit("main") == base


def test_changed_files_between_commits(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    first = clone.push(
        {"datasets/a.yml": "a\n", "datasets/b.yml": "b\n", "datasets/c.yml": "c\n", "other/x.md": "x"}
    )
    moves = {"datasets/c.yml": None, "datasets/moved.yml": "c\n"}  # same content: git sees a rename
    second = clone.push(
        {
            "datasets/a.yml": "a2\n",
            "datasets/b.yml": None,
            "datasets/d.yml": "d\n",
            "other/x.md": "y",
            **moves,
        }
    )
    changes = p.changed_files(first, second, "datasets")
    assert changes == [
        ChangedFile("datasets/a.yml", "modified"),
        ChangedFile("datasets/b.yml", "removed"),
        ChangedFile("datasets/c.yml", "removed"),  # a rename is removed + added on every provider
        ChangedFile("datasets/d.yml", "added"),
        ChangedFile("datasets/moved.yml", "added"),
    ]
    assert [c.path for c in p.changed_files(None, first, "datasets")] == [
        "datasets/a.yml",
        "datasets/b.yml",
        "datasets/c.yml",
    ]
    assert p.changed_files(second, second, "datasets") == []


def test_changed_files_beyond_the_compare_limit(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    first = clone.push({"datasets/seed.yml": "s\n"})
    second = clone.push({f"datasets/f{i:03d}.yml": f"{i}\n" for i in range(320)})
    changes = p.changed_files(first, second, "datasets")
    assert len(changes) == 320 and all(c.status == "added" for c in changes)


def test_list_files_reports_modes(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    clone.write({"datasets/real.yml": "r\n"})
    clone.symlink("datasets/link.yml", "../secret.txt")
    sha = clone.push({"secret.txt": "s3cret\n"})
    files = p.list_files(sha, "datasets")
    assert files["datasets/real.yml"].is_regular_file
    assert files["datasets/link.yml"].mode == "120000" and not files["datasets/link.yml"].is_regular_file
    assert set(p.list_files(sha)) == {"datasets/real.yml", "datasets/link.yml", "secret.txt"}


def test_read_files_batch(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    first = clone.push({"datasets/a.yml": "a1\n", "datasets/b.yml": "b1\n"})
    second = clone.push({"datasets/a.yml": "a2\n"})
    assert p.read_files(second, ["datasets/a.yml", "datasets/b.yml", "datasets/zzz.yml"]) == {
        "datasets/a.yml": "a2\n",
        "datasets/b.yml": "b1\n",
        "datasets/zzz.yml": None,
    }
    got = p.read_files_at({"old": (first, "datasets/a.yml"), "new": (second, "datasets/a.yml")})
    assert got == {"old": "a1\n", "new": "a2\n"}


def test_push_rejected_because_the_branch_moved_is_retried(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    base = clone.push({"datasets/theirs.yml": "t1\n"})
    moved: list[str] = []

    def someone_pushes() -> None:
        if not moved:  # only before the first attempt
            moved.append(clone.push({"datasets/theirs.yml": "t2\n"}, "concurrent edit"))

    p.before_publish = someone_pushes
    seen: list[tuple[str | None, str]] = []
    info = p.commit_files(
        "main",
        [FileChange("datasets/ours.yml", "o\n")],
        "ours",
        on_moved=lambda a, b: seen.append((a, b)),
        expected_head=base,
    )
    assert info is not None and info.attempts == 2 and info.parent == moved[0]
    assert seen == [(base, moved[0])]
    assert p.file_content(info.sha, "datasets/theirs.yml") == "t2\n"  # their change survived
    assert p.file_content(info.sha, "datasets/ours.yml") == "o\n"
    assert _log(provider_case, "rev-list", "--count", f"{base}..main") == "2"  # linear history


def test_on_moved_can_abort(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    base = clone.push({"datasets/x.yml": "x1\n"})
    head = clone.push({"datasets/x.yml": "x2\n"})

    def refuse(old: str | None, new: str) -> None:
        raise CommitBlockedError(["datasets/x.yml"])

    with pytest.raises(CommitBlockedError):
        p.commit_files(
            "main", [FileChange("datasets/x.yml", "mine\n")], "m", on_moved=refuse, expected_head=base
        )
    assert p.latest_commit("main") == head


def test_branches_and_pull_requests(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    base = clone.push({"datasets/a.yml": "a\n"})
    p.create_branch("metadata/update", base)
    assert p.latest_commit("metadata/update") == base
    with pytest.raises(SyncError):
        p.create_branch("metadata/update", base)
    p.commit_files("metadata/update", [FileChange("datasets/a.yml", "b\n")], "on a branch")
    if provider_case.kind == "git":
        with pytest.raises(NotSupportedError, match="pull requests"):
            p.open_pull_request("metadata/update", "main", "Update")
        return
    url = p.open_pull_request("metadata/update", "main", "Update metadata", "body")
    assert url.endswith("/pull/1")
    assert provider_case.server and provider_case.server.pulls[0]["head"]["ref"] == "metadata/update"


def test_github_token_is_sent_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bare = init_bare(tmp_path / "remote.git")
    Clone(bare, tmp_path / "clone").push({"datasets/a.yml": "a\n"})
    server = FakeGitHub(bare, TOKEN).start()
    provider = github_provider(server)
    try:
        caplog.set_level(logging.DEBUG)
        assert provider.latest_commit("main")
        assert server.authorizations == {f"token {TOKEN}"}
        assert TOKEN not in caplog.text
        wrong = GitHubProvider(server.full_name, "wrong", base_url=server.base_url, retry=None)
        with pytest.raises(ProviderError, match="Bad credentials") as info:
            wrong.latest_commit("main")
        assert "wrong" not in str(info.value)
    finally:
        provider.close()
        server.stop()


def test_pipeline_commit_marker() -> None:
    assert is_pipeline_commit(with_trailer("Update metadata"))
    assert is_pipeline_commit("Sync\n\nMetadata-Pipeline-Commit: TRUE\n")
    assert not is_pipeline_commit("Update metadata by hand")
    assert not is_pipeline_commit(None)
    assert not is_pipeline_commit("mentions Metadata-Pipeline-Commit: true inline")
    assert with_trailer(with_trailer("x")) == with_trailer("x")


def test_large_files_and_many_files_in_one_commit(provider_case: ProviderCase) -> None:
    p = provider_case.provider
    big = "x: " + "y" * (300 * 1024) + "\n"  # above GitHubProvider's inline limit: uploaded as a blob
    changes = [FileChange("datasets/big.yml", big)]
    changes += [FileChange(f"datasets/m{i:03d}.yml", f"{i}: " + "z" * 20_000 + "\n") for i in range(120)]
    info = p.commit_files("main", changes, "bulk")
    assert info is not None
    files = p.list_files(info.sha, "datasets")
    assert len(files) == 121 and files["datasets/big.yml"].sha == git_blob_sha(big)
    assert p.file_content(info.sha, "datasets/big.yml") == big
    if provider_case.server is not None:  # the 2.4 MB of small files needed more than one tree request
        trees = [
            r for r in provider_case.server.requests if r == ("POST", "/api/v3/repos/acme/metadata/git/trees")
        ]
        assert len(trees) >= 2


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("acme/metadata", ("https://api.github.com", "acme/metadata")),
        ("https://github.com/acme/metadata.git", ("https://api.github.com", "acme/metadata")),
        ("git@github.com:acme/metadata.git", ("https://api.github.com", "acme/metadata")),
        ("https://ghe.example.com/acme/metadata", ("https://ghe.example.com/api/v3", "acme/metadata")),
        (
            "http://127.0.0.1:8080/api/v3/repos/acme/metadata",
            ("http://127.0.0.1:8080/api/v3", "acme/metadata"),
        ),
    ],
)
def test_github_remote_forms(remote: str, expected: tuple[str, str]) -> None:
    assert parse_github_remote(remote) == expected


def test_unreadable_github_remote() -> None:
    with pytest.raises(SyncError, match="owner/repo"):
        parse_github_remote("not a repository")


def test_read_files_with_awkward_names(provider_case: ProviderCase) -> None:
    p, clone = provider_case.provider, provider_case.clone
    sha = clone.push({"datasets/with space.yml": "s\n", "datasets/dir/x.yml": "x\n"})
    got = p.read_files(
        sha, ["datasets/with space.yml", "datasets/no such.yml", "datasets/dir", "datasets/dir/x.yml"]
    )
    assert got == {
        "datasets/with space.yml": "s\n",
        "datasets/no such.yml": None,
        "datasets/dir": None,
        "datasets/dir/x.yml": "x\n",
    }
