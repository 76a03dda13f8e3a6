"""`metadata-pipeline workspace|commit|pull|conflicts`: metadata as code, a thin front over `sync`."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import click
from sqlalchemy import Engine

from metadata_pipeline.catalog.database import Tenant, ensure_default_tenant, session_scope
from metadata_pipeline.cli.common import catalog_engine, friendly_errors, settings_of
from metadata_pipeline.settings import Settings


def _open(ctx: click.Context) -> tuple[Settings, Engine, Tenant]:
    settings = settings_of(ctx)
    engine = catalog_engine(ctx)
    with session_scope(engine) as session:
        tenant = ensure_default_tenant(session)
    return settings, engine, tenant


def _json_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _emit_json(value: Any) -> None:
    data = [asdict(v) for v in value] if isinstance(value, list) else asdict(value)
    click.echo(json.dumps(data, indent=2, default=_json_default))


workspace_option = click.option(
    "-w", "--workspace", "workspace_name", default="main", show_default=True, help="Workspace to sync."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


# -- workspace --------------------------------------------------------------------------------


@click.group()
def workspace() -> None:
    """Configure which Git remote, branch and folder a workspace syncs with."""


@workspace.command("add")
@click.argument("name")
@click.option("--remote", required=True, help="Git URL or path; for GitHub: owner/repo or its URL.")
@click.option("--branch", default="main", show_default=True)
@click.option(
    "--path", "path_prefix", default="datasets", show_default=True, help="Folder of the YAML files."
)
@click.option("--provider", type=click.Choice(["git", "github"]), default="git", show_default=True)
@click.option("--credential-env", default=None, help="NAME of the environment variable holding the token.")
@click.pass_context
@friendly_errors
def workspace_add(
    ctx: click.Context,
    name: str,
    remote: str,
    branch: str,
    path_prefix: str,
    provider: str,
    credential_env: str | None,
) -> None:
    """Add (or configure the still unconfigured) workspace NAME."""
    from metadata_pipeline.sync.workspaces import add_workspace

    _, engine, tenant = _open(ctx)
    view = add_workspace(engine, tenant, name, remote, branch, path_prefix, provider, credential_env)
    click.echo(
        f"workspace {view.name}: {view.provider} {view.remote} branch {view.branch}, folder {view.path_prefix or '/'}"
    )


@workspace.command("list")
@json_option
@click.pass_context
@friendly_errors
def workspace_list(ctx: click.Context, as_json: bool) -> None:
    """List workspaces and where they sync."""
    from metadata_pipeline.sync.workspaces import list_workspaces

    settings, engine, tenant = _open(ctx)
    views = list_workspaces(engine, tenant, settings)
    if as_json:
        _emit_json(views)
        return
    for v in views:
        managed = " (pipeline-managed)" if v.default_remote else ""
        synced = (v.source_commit_sha or "never synced")[:12]
        credential = f", token from ${v.credential_env}" if v.credential_env else ""
        click.echo(
            f"{v.name}: {v.provider} {v.remote}{managed} branch {v.branch} folder {v.path_prefix or '/'}"
            f"{credential}; at {synced}"
        )


# -- commit / pull ----------------------------------------------------------------------------


@click.command()
@workspace_option
@click.option("-m", "--message", default=None, help="Commit message (the pipeline's trailer is appended).")
@click.option("--dataset", "datasets", multiple=True, help="Commit only this dataset fqn (repeatable).")
@click.option(
    "--all",
    "all_datasets",
    is_flag=True,
    help="Every dataset: rewrite each file that no longer matches the catalog.",
)
@click.option(
    "--layout",
    default=None,
    help="File layout under the folder (default '{layer}/{name}.yml', env METADATA_PIPELINE_SYNC_LAYOUT).",
)
@json_option
@click.pass_context
@friendly_errors
def commit(
    ctx: click.Context,
    workspace_name: str,
    message: str | None,
    datasets: tuple[str, ...],
    all_datasets: bool,
    layout: str | None,
    as_json: bool,
) -> None:
    """Commit the catalog's uncommitted changes to Git as YAML, in one commit."""
    from metadata_pipeline.sync.commit import commit_workspace

    settings, engine, tenant = _open(ctx)
    names = list(datasets) or None
    result = commit_workspace(
        engine, settings, tenant, workspace_name, message, names, layout, all_datasets=all_datasets
    )
    if as_json:
        _emit_json(result)
        return
    click.echo(result.summary())
    for f in result.files:
        previous = f" (from {f['previous_path']})" if f.get("previous_path") else ""
        click.echo(f"  {f['action']:<9} {f['path']}{previous}")


@click.command()
@workspace_option
@json_option
@click.pass_context
@friendly_errors
def pull(ctx: click.Context, workspace_name: str, as_json: bool) -> None:
    """Apply the YAML changes made in Git since the last sync; exit 1 if conflicts or rejected files."""
    from metadata_pipeline.sync.pull import pull_workspace

    settings, engine, tenant = _open(ctx)
    result = pull_workspace(engine, settings, tenant, workspace_name)
    if as_json:
        _emit_json(result)
    else:
        click.echo(result.summary())
        for c in result.conflicts:
            click.echo(f"  conflict  {c['fqn']} ({c['path']}): {', '.join(c['fields'])}")
        for e in result.errors:
            where = e["path"] + (f":{e['line']}" if e["line"] else "")
            click.echo(f"  rejected  {where}: {e['field'] + ': ' if e['field'] else ''}{e['message']}")
    if result.conflicts or result.errors:
        ctx.exit(1)


# -- conflicts ---------------------------------------------------------------------------------


@click.group()
def conflicts() -> None:
    """Datasets changed both in the catalog and in Git."""


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


@conflicts.command("list")
@workspace_option
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved conflicts.")
@json_option
@click.pass_context
@friendly_errors
def conflicts_list(ctx: click.Context, workspace_name: str, include_resolved: bool, as_json: bool) -> None:
    """List conflicts with the catalog's and Git's value of every differing field."""
    from metadata_pipeline.sync.conflicts import list_conflicts

    _, engine, tenant = _open(ctx)
    views = list_conflicts(engine, tenant, workspace_name, include_resolved)
    if as_json:
        _emit_json(views)
        return
    if not views:
        click.echo(f"no {'' if include_resolved else 'open '}conflicts in workspace {workspace_name}")
    for v in views:
        state = v.status if v.status == "open" else f"resolved with {v.resolution}"
        click.echo(f"{v.fqn} ({v.path}, Git {v.git_sha[:12]}): {state}")
        for entry in v.diff:
            changed = (
                f" [changed in {entry['changed_in']}]"
                if entry.get("changed_in") not in (None, "unknown")
                else ""
            )
            click.echo(f"  {entry['path']}{changed}")
            click.echo(f"    catalog: {_show(entry['catalog'])}")
            click.echo(f"    git:     {_show(entry['git'])}")


def _parse_take(values: tuple[str, ...]) -> dict[str, str]:
    take = {}
    for item in values:
        field, sep, side = item.partition("=")
        if not sep or not field or not side:
            raise click.BadParameter(f"{item!r}: use FIELD=catalog or FIELD=git", param_hint="--take")
        take[field.strip()] = side.strip()
    return take


@conflicts.command("resolve")
@click.argument("fqn")
@click.option("--strategy", type=click.Choice(["ours", "theirs", "manual"]), required=True)
@click.option("--take", multiple=True, help="manual: FIELD=catalog|git, FIELD as `conflicts list` shows it.")
@click.option(
    "--default",
    "default",
    type=click.Choice(["auto", "catalog", "git"]),
    default="auto",
    show_default=True,
    help="manual: fields not named take the side that changed them (auto), or always one side.",
)
@click.option("--layout", default=None, help="File layout, as for commit.")
@workspace_option
@json_option
@click.pass_context
@friendly_errors
def conflicts_resolve(
    ctx: click.Context,
    fqn: str,
    strategy: str,
    take: tuple[str, ...],
    default: str,
    layout: str | None,
    workspace_name: str,
    as_json: bool,
) -> None:
    """Resolve FQN's conflict: ours (keep catalog), theirs (take Git) or manual (field by field)."""
    from metadata_pipeline.sync.conflicts import resolve_conflict

    settings, engine, tenant = _open(ctx)
    result = resolve_conflict(
        engine, settings, tenant, fqn, strategy, _parse_take(take), default, workspace_name, layout
    )
    if as_json:
        _emit_json(result)
        return
    click.echo(result.summary())
    for path, side in sorted(result.sides.items()):
        click.echo(f"  {path}: {side}")
