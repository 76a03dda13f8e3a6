"""The CLI commands (registered by the lead in `metadata_pipeline.cli`): clear output, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result
from sqlalchemy import Engine

from metadata_pipeline.catalog.database import Tenant
from metadata_pipeline.cli.sync_commands import commit, conflicts, pull, workspace
from metadata_pipeline.settings import Settings
from metadata_pipeline_tests.sync.conftest import TOKEN
from metadata_pipeline_tests.sync.github_server import FakeGitHub
from metadata_pipeline_tests.sync.helpers import (
    Clone,
    build_catalog,
    catalog_state,
    edit_dataset,
    git_state,
    init_bare,
)


@click.group()
def cli() -> None:
    """Stands in for the `metadata-pipeline` group, which passes Settings as ctx.obj."""


for command in (workspace, commit, pull, conflicts):
    cli.add_command(command)


def run(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=settings, catch_exceptions=False)


def test_workspaces(catalog_engine: Engine, tenant: Tenant, settings: Settings, tmp_path: Path) -> None:
    out = run(settings, "workspace", "list")
    assert out.exit_code == 0 and "main: git" in out.output and "(pipeline-managed)" in out.output
    bare = init_bare(tmp_path / "team.git")
    out = run(
        settings, "workspace", "add", "team", "--remote", str(bare), "--branch", "meta", "--path", "catalog/"
    )
    assert out.exit_code == 0, out.output
    assert "workspace team: git" in out.output and "folder catalog" in out.output
    again = run(settings, "workspace", "add", "team", "--remote", str(bare))
    assert again.exit_code == 1 and "already exists" in again.output and "Traceback" not in again.output
    bad = run(
        settings,
        "workspace",
        "add",
        "gh",
        "--remote",
        "acme/meta",
        "--provider",
        "github",
        "--credential-env",
        "$TOKEN",
    )
    assert bad.exit_code == 1 and "NAME of an environment variable" in bad.output
    listed = json.loads(run(settings, "workspace", "list", "--json").output)
    assert [w["name"] for w in listed] == ["main", "team"]
    assert listed[1]["branch"] == "meta" and listed[1]["path_prefix"] == "catalog"


def test_commit_pull_and_resolve_from_the_command_line(
    catalog_engine: Engine, tenant: Tenant, settings: Settings
) -> None:
    fqns = build_catalog(catalog_engine, tenant, datasets=3)
    out = run(settings, "commit", "-m", "First metadata")
    assert out.exit_code == 0, out.output
    assert out.output.startswith("committed ") and "added     datasets/raw/model_0000.yml" in out.output
    assert run(settings, "commit").output.startswith("nothing to commit")
    assert run(settings, "commit", "--all").output.startswith("3 dataset(s) already match Git")

    # A person edits the pipeline-managed repository; the catalog edits the same field.
    clone = Clone(settings.metadata_remote_dir, settings.home / "jane")
    path = "datasets/silver/model_0002.yml"
    clone.push({path: clone.read(path).replace("description: Dataset 2", "description: From Git")})
    edit_dataset(catalog_engine, tenant, fqns[2], description="From the catalog")
    out = run(settings, "pull")
    assert out.exit_code == 1 and f"conflict  {fqns[2]} ({path}): description" in out.output

    listed = run(settings, "conflicts", "list")
    assert "description [changed in both]" in listed.output
    assert "catalog: From the catalog" in listed.output and "git:     From Git" in listed.output
    as_json = json.loads(run(settings, "conflicts", "list", "--json").output)
    assert as_json[0]["diff"][0]["git"] == "From Git"

    bad = run(settings, "conflicts", "resolve", fqns[2], "--strategy", "manual", "--take", "description")
    assert bad.exit_code == 2 and "FIELD=catalog or FIELD=git" in bad.output
    unknown = run(settings, "conflicts", "resolve", fqns[2], "--strategy", "manual", "--take", "nope=git")
    assert unknown.exit_code == 1 and "no such difference" in unknown.output

    out = run(settings, "conflicts", "resolve", fqns[2], "--strategy", "manual", "--take", "description=git")
    assert out.exit_code == 0, out.output
    assert f"resolved {fqns[2]} with manual" in out.output and "description: git" in out.output
    assert "no open conflicts" in run(settings, "conflicts", "list").output
    assert "resolved with manual" in run(settings, "conflicts", "list", "--all").output
    assert git_state(clone) == catalog_state(catalog_engine, tenant)
    pulled = json.loads(run(settings, "pull", "--json").output)
    assert pulled["status"] == "up_to_date"


def test_errors_are_one_clear_line(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, tmp_path: Path
) -> None:
    out = run(settings, "commit", "-w", "nope")
    assert out.exit_code == 1 and "no workspace named 'nope'" in out.output
    run(
        settings,
        "workspace",
        "add",
        "gh",
        "--remote",
        "acme/metadata",
        "--provider",
        "github",
        "--credential-env",
        "MP_TEST_UNSET_TOKEN",
    )
    out = run(settings, "pull", "-w", "gh")
    assert out.exit_code == 1 and "MP_TEST_UNSET_TOKEN" in out.output and "Traceback" not in out.output
    assert run(settings, "conflicts", "resolve", "x.y", "--strategy", "ours").output.startswith(
        "Error: no open conflict"
    )
    fresh = Settings(home=tmp_path / "fresh", catalog_url=f"sqlite:///{tmp_path / 'empty.db'}")
    out = run(fresh, "pull")
    assert out.exit_code == 1 and "db upgrade" in out.output


def test_github_workspace_end_to_end(
    catalog_engine: Engine,
    tenant: Tenant,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = init_bare(tmp_path / "gh.git")
    Clone(bare, tmp_path / "seed").push({"README.md": "hello\n"})  # GitHub repositories start non-empty
    server = FakeGitHub(bare, TOKEN).start()
    try:
        monkeypatch.setenv("MP_TEST_GH_TOKEN", TOKEN)
        out = run(
            settings,
            "workspace",
            "add",
            "gh",
            "--provider",
            "github",
            "--credential-env",
            "MP_TEST_GH_TOKEN",
            "--remote",
            f"{server.base_url}/repos/{server.full_name}",
        )
        assert out.exit_code == 0, out.output
        fqns = build_catalog(catalog_engine, tenant, datasets=2)
        out = run(settings, "commit", "-w", "gh", "-m", "via GitHub")
        assert out.exit_code == 0 and out.output.startswith("committed"), out.output
        clone = Clone(bare, tmp_path / "jane")
        assert git_state(clone) == catalog_state(catalog_engine, tenant)
        path = "datasets/raw/model_0000.yml"
        data = yaml.safe_load(clone.read(path))
        data["dataset"]["description"] = "Edited on GitHub"
        clone.push({path: yaml.safe_dump(data, sort_keys=False)})
        out = run(settings, "pull", "-w", "gh")
        assert out.exit_code == 0 and "1 updated" in out.output, out.output
        assert catalog_state(catalog_engine, tenant)[fqns[0]]["dataset"]["description"] == "Edited on GitHub"
        assert TOKEN not in out.output
    finally:
        server.stop()
