"""sync_repository / ls_remote_head against real git: a local bare remote and a tiny HTTP server."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from metadata_pipeline.ingest import RepositoryError, ls_remote_head, redact_url, sync_repository
from metadata_pipeline.ingest.git_repo import repo_slug
from metadata_pipeline_tests.conftest import GitRemote, git


def test_first_sync_clones_then_fetches_incrementally(git_remote: GitRemote, tmp_path: Path) -> None:
    first_sha = git_remote.commit_files({"dbt_project.yml": "name: shop\n", "models/a.sql": "select 1"})
    cache = tmp_path / "cache"

    first = sync_repository(git_remote.url, "main", cache)
    assert (first.head_sha, first.previous_sha, first.changed, first.branch) == (
        first_sha,
        None,
        True,
        "main",
    )
    assert (first.path / "models/a.sql").read_text() == "select 1"

    again = sync_repository(git_remote.url, "main", cache)
    assert (again.path, again.head_sha, again.previous_sha, again.changed) == (
        first.path,
        first_sha,
        first_sha,
        False,
    )

    (git_remote.work / "models/a.sql").unlink()
    second_sha = git_remote.commit_files({"models/b.sql": "select 2"})
    later = sync_repository(git_remote.url, "main", cache)
    assert (later.head_sha, later.previous_sha, later.changed) == (second_sha, first_sha, True)
    assert (later.path / "models/b.sql").exists() and not (later.path / "models/a.sql").exists()


def test_local_edits_and_leftovers_in_the_cache_are_discarded(git_remote: GitRemote, tmp_path: Path) -> None:
    git_remote.commit_files({"models/a.sql": "select 1"})
    snapshot = sync_repository(git_remote.url, "main", tmp_path)
    (snapshot.path / "models/a.sql").write_text("tampered")
    (snapshot.path / "target").mkdir()
    (snapshot.path / "target/manifest.json").write_text("{}")

    again = sync_repository(git_remote.url, "main", tmp_path)

    assert (again.path / "models/a.sql").read_text() == "select 1"
    assert not (again.path / "target").exists()


def test_default_branch_and_other_branches(git_remote: GitRemote, tmp_path: Path) -> None:
    main_sha = git_remote.commit_files({"a.sql": "select 1"})
    git("checkout", "-q", "-b", "dev", cwd=git_remote.work)
    (git_remote.work / "b.sql").write_text("select 2")
    git("add", "-A", cwd=git_remote.work)
    git("commit", "-q", "-m", "dev", cwd=git_remote.work)
    git("push", "-q", "origin", "dev", cwd=git_remote.work)
    dev_sha = git("rev-parse", "HEAD", cwd=git_remote.work)

    assert sync_repository(git_remote.url, None, tmp_path / "a").head_sha == main_sha
    dev = sync_repository(git_remote.url, "dev", tmp_path / "b")
    assert (dev.head_sha, dev.branch) == (dev_sha, "dev") and (dev.path / "b.sql").exists()
    assert ls_remote_head(git_remote.url, "dev") == dev_sha
    assert ls_remote_head(git_remote.url, None) == main_sha


def test_file_urls_work_and_share_nothing_with_other_urls(git_remote: GitRemote, tmp_path: Path) -> None:
    sha = git_remote.commit_files({"a.sql": "select 1"})

    snapshot = sync_repository(f"file://{git_remote.bare}", "main", tmp_path)

    assert snapshot.head_sha == sha
    assert repo_slug(f"file://{git_remote.bare}") != repo_slug(str(git_remote.bare))


def test_relative_and_absolute_local_paths_share_one_cache(
    git_remote: GitRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(git_remote.bare.parent)
    assert repo_slug(git_remote.bare.name) == repo_slug(str(git_remote.bare))


@pytest.mark.parametrize(
    ("url", "branch", "reason"),
    [
        ("{missing}", "main", "unreachable"),
        ("{bare}", "no-such-branch", "branch 'no-such-branch' does not exist"),
        ("https://user:s3cret@127.0.0.1:9/repo.git", "main", "unreachable"),
    ],
)
def test_failures_are_repository_errors_naming_the_url(
    git_remote: GitRemote, tmp_path: Path, url: str, branch: str, reason: str
) -> None:
    git_remote.commit_files({"a.sql": "select 1"})
    url = url.format(missing=tmp_path / "nowhere.git", bare=git_remote.bare)

    with pytest.raises(RepositoryError) as caught:
        sync_repository(url, branch, tmp_path / "cache")

    message = str(caught.value)
    assert reason in message and redact_url(url) in message and "s3cret" not in message


def test_an_empty_remote_has_no_default_branch(tmp_path: Path) -> None:
    git("init", "--bare", "-q", str(tmp_path / "empty.git"))

    with pytest.raises(RepositoryError, match="no default branch"):
        sync_repository(str(tmp_path / "empty.git"), None, tmp_path / "cache")


def test_a_token_variable_that_is_not_set_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_GIT_TOKEN", raising=False)

    with pytest.raises(RepositoryError, match="SHOP_GIT_TOKEN is not set"):
        sync_repository("https://example.com/shop.git", "main", tmp_path, token_env="SHOP_GIT_TOKEN")


def test_the_token_travels_to_git_only(
    git_remote: GitRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_remote.commit_files({"a.sql": "select 1"})
    monkeypatch.setenv("SHOP_GIT_TOKEN", "tok-123")

    snapshot = sync_repository(git_remote.url, "main", tmp_path, token_env="SHOP_GIT_TOKEN")

    assert "tok-123" not in (snapshot.path / ".git" / "config").read_text()


class _AuthRequired(BaseHTTPRequestHandler):
    """A git-over-HTTP server that refuses everyone and remembers the Authorization headers."""

    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.seen.append(self.headers.get("Authorization"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def auth_server() -> Iterator[str]:
    _AuthRequired.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthRequired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/shop.git"
    server.shutdown()
    server.server_close()


def test_authentication_failures_are_explained(auth_server: str, tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="authentication failed"):
        ls_remote_head(auth_server, "main", timeout=30)


def test_the_token_is_sent_as_a_header_and_never_shown(
    auth_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_GIT_TOKEN", "tok-456")

    with pytest.raises(RepositoryError) as caught:
        sync_repository(auth_server, "main", tmp_path, token_env="SHOP_GIT_TOKEN", timeout=30)

    expected = "Basic " + base64.b64encode(b"x-access-token:tok-456").decode()
    assert expected in _AuthRequired.seen
    assert "tok-456" not in str(caught.value) and expected not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://user:pw@github.com/o/r.git", "https://***@github.com/o/r.git"),
        ("https://github.com/o/r.git", "https://github.com/o/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
    ],
)
def test_redact_url(url: str, safe: str) -> None:
    assert redact_url(url) == safe


@pytest.mark.parametrize("branch", ["-x", "--upload-pack=touch pwned", "a..b", "has space", "x.lock", ""])
def test_invalid_branch_names_never_reach_git(git_remote: GitRemote, tmp_path: Path, branch: str) -> None:
    git_remote.commit_files({"a.sql": "select 1"})

    with pytest.raises(RepositoryError, match="not a valid branch name"):
        sync_repository(git_remote.url, branch, tmp_path)


@pytest.mark.parametrize("url", ["--upload-pack=touch pwned", "", "ext::sh -c touch% pwned"])
def test_urls_that_git_would_run_are_refused(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(RepositoryError):
        ls_remote_head(url, "main", timeout=30)
    assert not (tmp_path / "pwned").exists()
