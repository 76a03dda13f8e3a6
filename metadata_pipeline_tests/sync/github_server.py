"""A local stand-in for the GitHub REST API over a REAL bare git repository, for PyGithub to talk to.

It implements the endpoints GitHubProvider calls (repository, refs, commits, trees, blobs, compare,
contents, pulls) with git plumbing (hash-object, update-index on a scratch index, write-tree,
commit-tree, update-ref, cat-file), and GitHub's rules where they matter: a non-forced ref update
must be a fast-forward (422 otherwise), deleting a missing tree path is an error, compare lists at
most 300 files, a symlink to a file in the repository is served as that file's contents.
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ZERO = "0" * 40
COMPARE_LIMIT = 300


class GitError(Exception):
    pass


class FakeGitHub:
    def __init__(self, bare: Path, token: str, owner: str = "acme", name: str = "metadata") -> None:
        self.bare = bare
        self.token = token
        self.full_name = f"{owner}/{name}"
        self.requests: list[tuple[str, str]] = []
        self.authorizations: set[str] = set()
        self.pulls: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = Starlette(routes=self._routes())

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3"

    def start(self) -> FakeGitHub:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("fake GitHub server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # -- git ------------------------------------------------------------------------------------

    def git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        result = subprocess.run(
            ["git", "--literal-pathspecs", "-C", str(self.bare), *args],
            input=stdin,
            capture_output=True,
            env={**os.environ, **(env or {})},
        )
        if result.returncode != 0:
            raise GitError(result.stderr.decode(errors="replace"))
        return result.stdout

    def resolve(self, rev: str, kind: str = "commit") -> str | None:
        try:
            return self.git("rev-parse", "--verify", "-q", f"{rev}^{{{kind}}}").decode().strip()
        except GitError:
            return None

    # -- JSON shapes ----------------------------------------------------------------------------

    def repo_url(self, request: Request) -> str:
        return f"{str(request.base_url).rstrip('/')}/api/v3/repos/{self.full_name}"

    def ref_json(self, request: Request, ref: str, sha: str) -> dict[str, Any]:
        url = self.repo_url(request)
        return {
            "ref": f"refs/{ref}",
            "node_id": "ref",
            "url": f"{url}/git/refs/{ref}",
            "object": {"sha": sha, "type": "commit", "url": f"{url}/git/commits/{sha}"},
        }

    def commit_json(self, request: Request, sha: str) -> dict[str, Any]:
        raw = self.git("cat-file", "commit", sha).decode("utf-8", "replace")
        header, _, message = raw.partition("\n\n")
        url = self.repo_url(request)
        data: dict[str, Any] = {"sha": sha, "node_id": "c", "url": f"{url}/git/commits/{sha}", "parents": []}
        data["html_url"] = f"http://github.local/{self.full_name}/commit/{sha}"
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                data["tree"] = {"sha": value, "url": f"{url}/git/trees/{value}"}
            elif key == "parent":
                data["parents"].append({"sha": value, "url": f"{url}/git/commits/{value}"})
            elif key in ("author", "committer"):
                name, _, rest = value.partition(" <")
                email, _, when = rest.partition("> ")
                stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(when.split()[0])))
                data[key] = {"name": name, "email": email, "date": stamp}
        data["message"] = message
        return data

    def tree_json(self, request: Request, tree: str, recursive: bool) -> dict[str, Any]:
        url = self.repo_url(request)
        args = ["ls-tree", "-z", "-l", *(["-r", "-t"] if recursive else []), tree]
        entries = []
        for record in self.git(*args).decode("utf-8").split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entry = {"path": path, "mode": mode, "type": kind, "sha": sha, "url": f"{url}/git/{kind}s/{sha}"}
            if kind == "blob":
                entry["size"] = int(size)
            entries.append(entry)
        return {"sha": tree, "url": f"{url}/git/trees/{tree}", "tree": entries, "truncated": False}

    # -- handlers -------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        repo = "/api/v3/repos/{owner}/{name}"
        return [
            Route(repo, self.get_repo, methods=["GET"]),
            Route(repo + "/git/ref/{ref:path}", self.get_ref, methods=["GET"]),
            Route(repo + "/git/refs/{ref:path}", self.get_ref, methods=["GET"]),
            Route(repo + "/git/refs/{ref:path}", self.patch_ref, methods=["PATCH"]),
            Route(repo + "/git/refs", self.create_ref, methods=["POST"]),
            Route(repo + "/git/commits/{sha}", self.get_commit, methods=["GET"]),
            Route(repo + "/git/commits", self.create_commit, methods=["POST"]),
            Route(repo + "/git/trees/{sha}", self.get_tree, methods=["GET"]),
            Route(repo + "/git/trees", self.create_tree, methods=["POST"]),
            Route(repo + "/git/blobs/{sha}", self.get_blob, methods=["GET"]),
            Route(repo + "/git/blobs", self.create_blob, methods=["POST"]),
            Route(repo + "/compare/{basehead:path}", self.compare, methods=["GET"]),
            Route(repo + "/contents/{path:path}", self.contents, methods=["GET"]),
            Route(repo + "/pulls", self.create_pull, methods=["POST"]),
        ]

    def _check(self, request: Request) -> JSONResponse | None:
        self.requests.append((request.method, request.url.path))
        header = request.headers.get("authorization", "")
        self.authorizations.add(header)
        if header not in (f"token {self.token}", f"Bearer {self.token}"):
            return JSONResponse({"message": "Bad credentials"}, 401)
        if f"{request.path_params['owner']}/{request.path_params['name']}" != self.full_name:
            return JSONResponse({"message": "Not Found"}, 404)
        return None

    async def get_repo(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        owner, name = self.full_name.split("/")
        return JSONResponse(
            {
                "id": 1,
                "name": name,
                "full_name": self.full_name,
                "owner": {"login": owner, "id": 1},
                "url": self.repo_url(request),
                "html_url": f"http://github.local/{self.full_name}",
                "default_branch": "main",
                "private": True,
            }
        )

    async def get_ref(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        ref = request.path_params["ref"]
        sha = self.resolve(f"refs/{ref}")
        if sha is None:
            return JSONResponse({"message": "Not Found"}, 404)
        return JSONResponse(self.ref_json(request, ref, sha))

    async def create_ref(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        body = await request.json()
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/") or self.resolve(sha) is None:
            return JSONResponse({"message": "Reference update failed"}, 422)
        with self._lock:
            try:  # the zero old value makes this create-only
                self.git("update-ref", ref, sha, ZERO)
            except GitError:
                return JSONResponse({"message": "Reference already exists"}, 422)
        return JSONResponse(self.ref_json(request, ref.removeprefix("refs/"), sha), 201)

    async def patch_ref(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        ref = request.path_params["ref"]
        body = await request.json()
        new, force = body["sha"], bool(body.get("force", False))
        with self._lock:
            current = self.resolve(f"refs/{ref}")
            if current is None:
                return JSONResponse({"message": "Reference does not exist"}, 422)
            if self.resolve(new) is None:
                return JSONResponse({"message": "Object does not exist"}, 422)
            try:
                self.git("merge-base", "--is-ancestor", current, new)
                fast_forward = True
            except GitError:
                fast_forward = False
            if not force and not fast_forward:
                return JSONResponse({"message": "Update is not a fast forward"}, 422)
            self.git("update-ref", f"refs/{ref}", new, current)
        return JSONResponse(self.ref_json(request, ref, new))

    async def get_commit(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        sha = self.resolve(request.path_params["sha"])
        if sha is None:
            return JSONResponse({"message": "Not Found"}, 404)
        return JSONResponse(self.commit_json(request, sha))

    async def create_commit(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        body = await request.json()
        author = body.get("author") or {"name": "GitHub", "email": "noreply@github.com"}
        committer = body.get("committer") or author
        env = {
            "GIT_AUTHOR_NAME": author["name"],
            "GIT_AUTHOR_EMAIL": author["email"],
            "GIT_COMMITTER_NAME": committer["name"],
            "GIT_COMMITTER_EMAIL": committer["email"],
        }
        args = ["commit-tree", body["tree"]]
        for parent in body.get("parents", []):
            args += ["-p", parent]
        try:
            sha = self.git(*args, "-F", "-", stdin=body["message"].encode(), env=env).decode().strip()
        except GitError as exc:
            return JSONResponse({"message": str(exc)}, 422)
        return JSONResponse(self.commit_json(request, sha), 201)

    async def get_tree(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        tree = self.resolve(request.path_params["sha"], "tree")
        if tree is None:
            return JSONResponse({"message": "Not Found"}, 404)
        recursive = request.query_params.get("recursive") not in (None, "", "0", "false")
        return JSONResponse(self.tree_json(request, tree, recursive))

    def _index_line(self, entry: dict[str, Any], env: dict[str, str]) -> str:
        path = entry["path"]
        if "content" in entry:
            sha = self.git("hash-object", "-w", "--stdin", stdin=entry["content"].encode()).decode().strip()
        elif entry.get("sha") is None:
            if not self.git("ls-files", "-s", "--", path, env=env).strip():
                raise GitError(f"path {path} does not exist")
            return f"0 {ZERO}\t{path}"
        else:
            sha = entry["sha"]
            self.git("cat-file", "-e", sha)
        if entry.get("type", "blob") != "blob":
            raise GitError("only blob entries are supported")
        return f"{entry['mode']} {sha}\t{path}"

    async def create_tree(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        body = await request.json()
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            try:
                base = body.get("base_tree")
                self.git("read-tree", *([base] if base else ["--empty"]), env=env)
                lines = [self._index_line(e, env) for e in body["tree"]]
                self.git(
                    "update-index", "-z", "--index-info", stdin="\0".join(lines).encode() + b"\0", env=env
                )
                tree = self.git("write-tree", env=env).decode().strip()
            except GitError as exc:
                return JSONResponse({"message": f"GitRPC::BadObjectState: {exc}"}, 422)
        return JSONResponse(self.tree_json(request, tree, False), 201)

    async def get_blob(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        sha = request.path_params["sha"]
        try:
            data = self.git("cat-file", "blob", sha)
        except GitError:
            return JSONResponse({"message": "Not Found"}, 404)
        return JSONResponse(
            {
                "sha": sha,
                "size": len(data),
                "url": f"{self.repo_url(request)}/git/blobs/{sha}",
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
        )

    async def create_blob(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        body = await request.json()
        raw = (
            base64.b64decode(body["content"])
            if body.get("encoding") == "base64"
            else body["content"].encode()
        )
        sha = self.git("hash-object", "-w", "--stdin", stdin=raw).decode().strip()
        return JSONResponse({"sha": sha, "url": f"{self.repo_url(request)}/git/blobs/{sha}"}, 201)

    def _diff_files(self, request: Request, base: str, head: str) -> list[dict[str, Any]]:
        out = self.git("diff", "--name-status", "-z", "-M", base, head).decode("utf-8").split("\0")
        files, i = [], 0
        status_names = {
            "A": "added",
            "D": "removed",
            "M": "modified",
            "T": "changed",
            "R": "renamed",
            "C": "copied",
        }
        while i < len(out) - 1:
            code = out[i]
            if code[:1] in "RC":
                previous, path, i = out[i + 1], out[i + 2], i + 3
            else:
                previous, path, i = None, out[i + 1], i + 2
            entry = {
                "sha": self.resolve(f"{head}:{path}", "blob") or ZERO,
                "filename": path,
                "status": status_names.get(code[:1], "modified"),
                "additions": 0,
                "deletions": 0,
                "changes": 0,
                "contents_url": f"{self.repo_url(request)}/contents/{path}?ref={head}",
            }
            if previous:
                entry["previous_filename"] = previous
            files.append(entry)
        return files

    async def compare(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        base_ref, _, head_ref = request.path_params["basehead"].partition("...")
        base, head = self.resolve(base_ref), self.resolve(head_ref)
        if base is None or head is None:
            return JSONResponse({"message": "Not Found"}, 404)
        merge_base = self.git("merge-base", base, head).decode().strip()
        ahead = self.git("rev-list", "--reverse", f"{merge_base}..{head}").decode().split()
        behind = self.git("rev-list", f"{head}..{base}").decode().split()
        status = (
            "identical" if base == head else "ahead" if not behind else "behind" if not ahead else "diverged"
        )
        commits = [
            {"sha": c, "url": f"{self.repo_url(request)}/commits/{c}", "commit": self.commit_json(request, c)}
            for c in ahead
        ]
        return JSONResponse(
            {
                "url": f"{self.repo_url(request)}/compare/{base}...{head}",
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "commits": commits,
                "files": self._diff_files(request, merge_base, head)[:COMPARE_LIMIT],
            }
        )

    def _content_json(self, request: Request, path: str, ref: str, sha: str) -> dict[str, Any]:
        data = self.git("cat-file", "blob", sha)
        large = len(data) > 1024 * 1024
        return {
            "type": "file",
            "encoding": "none" if large else "base64",
            "content": "" if large else base64.encodebytes(data).decode(),
            "sha": sha,
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "url": f"{self.repo_url(request)}/contents/{path}?ref={ref}",
        }

    async def contents(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        path = request.path_params["path"]
        ref = request.query_params.get("ref", "main")
        commit = self.resolve(ref) or self.resolve(f"refs/heads/{ref}")
        listing = self.git("ls-tree", "-z", commit, "--", path).decode() if commit else ""
        if not listing:
            return JSONResponse({"message": "Not Found"}, 404)
        meta, found = listing.rstrip("\0").split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "tree":
            return JSONResponse(
                [{"type": "dir", "path": found, "name": found.rsplit("/", 1)[-1], "sha": sha}]
            )
        if mode == "120000":  # GitHub serves a symlink to a repository file as that file
            target = os.path.normpath(
                os.path.join(os.path.dirname(path), self.git("cat-file", "blob", sha).decode())
            )
            target_sha = self.resolve(f"{commit}:{target}", "blob") if not target.startswith("..") else None
            if target_sha is None:
                return JSONResponse({"type": "symlink", "target": target, "path": path, "sha": sha})
            return JSONResponse(self._content_json(request, path, ref, target_sha))
        return JSONResponse(self._content_json(request, path, ref, sha))

    async def create_pull(self, request: Request) -> JSONResponse:
        if denied := self._check(request):
            return denied
        body = await request.json()
        head, base = self.resolve(f"refs/heads/{body['head']}"), self.resolve(f"refs/heads/{body['base']}")
        if head is None or base is None:
            return JSONResponse({"message": "Validation Failed"}, 422)
        number = len(self.pulls) + 1
        pull = {
            "number": number,
            "id": number,
            "state": "open",
            "title": body.get("title"),
            "body": body.get("body"),
            "url": f"{self.repo_url(request)}/pulls/{number}",
            "html_url": f"http://github.local/{self.full_name}/pull/{number}",
            "head": {"ref": body["head"], "sha": head},
            "base": {"ref": body["base"], "sha": base},
        }
        self.pulls.append(pull)
        return JSONResponse(pull, 201)
