"""The embedded demo: the bundled example published to a local git remote and registered.

`make run` uses it so that a fresh machine exercises the real path (git clone and fetch, manifest
reading, lineage, enrichment, reconcile, commit) without any service outside this machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from metadata_pipeline.errors import PipelineError
from metadata_pipeline.settings import Settings

EXAMPLE_NAME = "shop"
# What a published example carries: sources and the two committed artifacts, never build outputs.
_IGNORED = shutil.ignore_patterns(
    "*.duckdb", "*.duckdb.wal", "logs", "dbt_packages", ".user.yml", "__pycache__"
)
_KEPT_TARGET_FILES = ("manifest.json", "catalog.json")


def bundled_example() -> Path:
    """examples/shop of this checkout (the demo runs from a clone of the repository)."""
    path = Path(__file__).resolve().parent.parent / "examples" / EXAMPLE_NAME
    if not (path / "dbt_project.yml").is_file():
        raise PipelineError(
            f"bundled example not found at {path}: run the demo from a clone of the repository"
        )
    return path


def _git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "metadata-pipeline demo",
        "GIT_AUTHOR_EMAIL": "demo@metadata-pipeline.invalid",
        "GIT_COMMITTER_NAME": "metadata-pipeline demo",
        "GIT_COMMITTER_EMAIL": "demo@metadata-pipeline.invalid",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise PipelineError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


def copy_example(source: Path, dest: Path) -> None:
    """Replace dest's files (all but .git) with the example's sources and its two committed artifacts."""
    for child in dest.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(source, dest, dirs_exist_ok=True, ignore=_IGNORED)
    target = dest / "target"
    if target.is_dir():
        for child in target.iterdir():
            if child.name not in _KEPT_TARGET_FILES:
                shutil.rmtree(child) if child.is_dir() else child.unlink()


def publish_example(settings: Settings, source: Path | None = None) -> Path:
    """Copy the example into a working clone of a local bare repository and push it if it changed.

    Returns the bare repository's path, which is what gets registered as the dbt repository.
    """
    source = source or bundled_example()
    base = settings.home / "example-remote"
    bare, work = base / f"{EXAMPLE_NAME}.git", base / f"{EXAMPLE_NAME}-work"
    if not bare.exists():
        base.mkdir(parents=True, exist_ok=True)
        _git("init", "--bare", "-q", "-b", "main", str(bare), cwd=base)
    if not work.exists():
        _git("clone", "-q", str(bare), str(work), cwd=base)
        _git("checkout", "-q", "-B", "main", cwd=work)
    copy_example(source, work)
    _git("add", "-A", cwd=work)
    if _git("status", "--porcelain", cwd=work):
        _git("commit", "-q", "-m", "Publish the bundled shop example", cwd=work)
        _git("push", "-q", "origin", "main", cwd=work)
    return bare
