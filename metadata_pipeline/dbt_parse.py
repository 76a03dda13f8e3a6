"""A manifest from `dbt parse` (through dagster-dbt) for a dbt project that commits none.

Opt-in per connection (`metadata-pipeline repo add --dbt-parse`): it needs dbt and the project's
adapter installed where the pipeline runs, and a profile naming that adapter. The module lives
outside the core packages (ingest, lineage, enrich, reconcile never import dagster) and
`pipeline.py` imports it only for a connection that opted in.

Why `dbt parse` and not `dbt compile`: parse needs no warehouse connection, so it works for every
adapter with nothing but the plugin installed. Compile opens a connection and runs introspective
queries (`run_query`, `is_incremental()` lookups) against the warehouse, and even dbt-duckdb, which
can compile offline, opens (so creates) the database file its profile names, relative to the project:
a write into the user's checkout. The price is that a parsed manifest has no compiled SQL, which
column lineage needs; so each model's SQL is rendered the way the SILVER reader renders it, with the
table names rewritten to the relations dbt resolved, so lineage resolves them against the GOLD
objects. Objects, dependencies, configs and relation names all come from dbt itself.

Where dbt cannot parse the project (adapter not installed, bad profile, packages not installed,
since `dbt deps` would need the network and write into the checkout), the project is read from its
dbt SQL (SILVER) as without the option, with an ExtractionError saying why. One project's failure
never fails the repository.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from metadata_pipeline.errors import PipelineError
from metadata_pipeline.ingest import (
    DbtObject,
    DbtProjectLocation,
    Extraction,
    ExtractionError,
    extract_location,
    read_dbt_project,
)
from metadata_pipeline.lineage import dialect_for_adapter

if TYPE_CHECKING:  # only for annotations: importing dagster-dbt is for opted-in runs only
    from dagster_dbt import DbtCliInvocation

log = logging.getLogger(__name__)

DBT_EXECUTABLE_ENV = "METADATA_PIPELINE_DBT_EXECUTABLE"
DBT_PROFILES_DIR_ENV = "METADATA_PIPELINE_DBT_PROFILES_DIR"
PROFILES_FILE = "profiles.yml"
ERROR_KIND = "dbt_parse"
# How dbt's compiled SQL names an inlined ephemeral model, and so what column lineage looks for.
EPHEMERAL_PREFIX = "__dbt__cte__"
# Objects that are relations in the warehouse, so other models' SQL may name them.
_RELATION_TYPES = frozenset({"model", "seed", "snapshot", "source"})
# dagster-dbt opens an in-process adapter handle before each command, for metadata of run/build only;
# `dbt parse` never uses it, and when the adapter is missing dbt's own error says so (we report it).
_ADAPTER_HANDLE_WARNING = "An error was encountered when creating a handle to the dbt adapter"


class DbtParseError(PipelineError):
    """`dbt parse` produced no manifest for a project; the message names the project and dbt's error."""

    def __init__(self, project_root: Path | str, reason: str) -> None:
        super().__init__(f"dbt parse of {project_root}: {reason}")
        self.project_root = str(project_root)
        self.reason = reason


# --- running dbt --------------------------------------------------------------------------------


def dbt_executable() -> str | None:
    """The dbt to run: METADATA_PIPELINE_DBT_EXECUTABLE, else the one installed beside this Python,
    else `dbt` on PATH; None when there is none.

    Always passed to DbtCliResource explicitly: its default looks `dbt` up on PATH, which a service
    started outside the virtualenv (Dagster daemon, cron) does not have, and fails at construction.
    """
    configured = os.environ.get(DBT_EXECUTABLE_ENV)
    if configured:
        return configured
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    return shutil.which("dbt")


def profiles_dir_for(project_root: Path) -> Path | None:
    """The project's own profiles.yml if it commits one, else METADATA_PIPELINE_DBT_PROFILES_DIR.

    None leaves the choice to dbt (DBT_PROFILES_DIR, then ~/.dbt).
    """
    if (project_root / PROFILES_FILE).is_file():
        return project_root
    configured = os.environ.get(DBT_PROFILES_DIR_ENV)
    return Path(configured) if configured else None


def target_dir_for(location: DbtProjectLocation, cache_dir: Path) -> Path:
    """Where `dbt parse` writes for this project: a stable folder per checkout path, so dbt's partial
    parsing (partial_parse.msgpack, which dbt validates itself) speeds up the next run."""
    digest = hashlib.sha256(str(location.root.resolve()).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", location.name)[:64]
    return cache_dir / f"{name}-{digest}"


def parse_manifest(project_root: Path, target_dir: Path) -> Path:
    """Run `dbt parse` for the project at `project_root` into `target_dir`; the manifest.json path.

    dbt writes its artifacts and logs into `target_dir` (dagster-dbt points DBT_TARGET_PATH and
    DBT_LOG_PATH there), never into the checkout. Raises DbtParseError naming the project and dbt's
    error when dbt is missing or cannot parse the project.
    """
    manifest = target_dir / "manifest.json"
    try:
        from dagster_dbt import DbtCliResource  # here: only opted-in connections need dagster-dbt
    except ImportError as exc:
        raise DbtParseError(project_root, f"dagster-dbt is not installed ({exc})") from exc
    executable = dbt_executable()
    if executable is None:
        raise DbtParseError(
            project_root,
            f"dbt is not installed beside {sys.executable} nor on PATH: install dbt-core and the "
            f"project's adapter, or set {DBT_EXECUTABLE_ENV} to the dbt executable",
        )
    # A previous run's manifest must never be read as this run's when this one fails.
    manifest.unlink(missing_ok=True)
    target_dir.mkdir(parents=True, exist_ok=True)
    try:
        dbt = DbtCliResource(
            project_dir=project_root, profiles_dir=profiles_dir_for(project_root), dbt_executable=executable
        )
    except ValueError as exc:  # pydantic's ValidationError: no profiles.yml there, dbt not found...
        raise DbtParseError(project_root, f"cannot run dbt: {_one_line(str(exc))}") from exc
    try:
        with _without_adapter_handle_warning():
            invocation = dbt.cli(["parse"], raise_on_error=False, target_path=target_dir)
            # Not .wait(): it echoes every dbt event to stdout. is_successful() drains dbt's output
            # quietly (keeping its error lines for get_error) and waits for it to exit.
            succeeded = invocation.is_successful()
    except Exception as exc:  # noqa: BLE001 - dbt missing or crashing must not fail the repository
        raise DbtParseError(project_root, f"dbt could not run: {type(exc).__name__}: {exc}") from exc
    if not succeeded:
        raise DbtParseError(project_root, _dbt_error(invocation))
    if not manifest.is_file():
        raise DbtParseError(project_root, f"dbt reported success but wrote no {manifest}")
    return manifest


def _dbt_error(invocation: DbtCliInvocation) -> str:
    """The error lines dbt logged (adapter not found, bad profile...), without dagster's advice
    to look at compute logs, which a CLI user does not have."""
    error = invocation.get_error()
    text = str(getattr(error, "description", None) or error or "no error reported")
    _, marker, parsed = text.partition("Errors parsed from dbt logs:")
    log_file = invocation.target_path / "dbt.log"
    details = f" (dbt log: {log_file})" if log_file.is_file() else ""
    return _one_line(parsed if marker else text) + details


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _DropAdapterHandleWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_ADAPTER_HANDLE_WARNING)


@contextmanager
def _without_adapter_handle_warning() -> Iterator[None]:
    """Drop dagster-dbt's traceback about its adapter handle (unused by parse) for one invocation."""
    logger = logging.getLogger("dagster.builtin")
    quiet = _DropAdapterHandleWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


# --- extraction ---------------------------------------------------------------------------------


def extract_with_dbt_parse(location: DbtProjectLocation, cache_dir: Path) -> Extraction:
    """GOLD from the manifest `dbt parse` writes for a project that commits none.

    When dbt cannot parse it, SILVER from its dbt SQL (what the project gives without the option),
    with an ExtractionError naming the project and dbt's error first.
    """
    try:
        manifest = parse_manifest(location.root, target_dir_for(location, cache_dir))
    except DbtParseError as exc:
        log.warning("%s", exc)
        extraction = extract_location(location)
        extraction.errors.insert(
            0,
            ExtractionError(
                message=f"dbt parse of project {location.name!r} failed: {exc.reason}; "
                f"read its dbt SQL instead ({extraction.tier})",
                kind=ERROR_KIND,
                file=str(location.project_file),
            ),
        )
        return extraction
    # extract_location falls back to SILVER itself (naming the file) if the manifest is unreadable.
    extraction = extract_location(replace(location, manifest_path=manifest))
    if extraction.tier == "GOLD":
        add_rendered_sql(extraction, location.root)
    return extraction


def add_rendered_sql(extraction: Extraction, project_root: Path) -> None:
    """Give the parsed manifest's models the SQL column lineage needs, which `dbt parse` does not compile.

    The SQL is what the SILVER reader renders, with its table names rewritten to the relations dbt
    resolved (the SILVER reader cannot always know the database or schema dbt will use), so lineage
    finds the GOLD objects behind them. Rendering problems of models left without SQL are reported.
    """
    try:
        rendered = read_dbt_project(project_root, adapter_type=extraction.adapter_type)
    except Exception as exc:  # noqa: BLE001 - objects and dependencies still stand without SQL
        extraction.errors.append(
            ExtractionError(
                message=f"could not render the project's SQL for column lineage: {exc}",
                kind="jinja",
                file=str(project_root),
            )
        )
        return
    dialect = dialect_for_adapter(extraction.adapter_type)
    exact = extraction.by_id()
    renames = relation_renames(rendered.objects, exact, dialect)
    for obj in rendered.objects:
        target = exact.get(obj.unique_id)
        if target is not None and obj.compiled_sql and not target.compiled_sql:
            target.compiled_sql = rename_tables(obj.compiled_sql, renames, dialect)
    missing = {uid for uid, obj in exact.items() if not obj.compiled_sql}
    extraction.errors.extend(e for e in rendered.errors if e.unique_id in missing)


def relation_renames(
    rendered: list[DbtObject], exact: dict[str, DbtObject], dialect: str
) -> dict[str, exp.Table]:
    """{normalized name the SILVER render used: the relation dbt resolved} where the two differ.

    A name that would map to two different relations is left alone, and so are one-part names, which
    a CTE of the same name could shadow. An ephemeral model, which the SILVER render names like a
    relation, becomes `__dbt__cte__<name>` as dbt compiles it, which lineage inlines.
    """
    targets: dict[str, dict[str, exp.Table]] = defaultdict(dict)
    for obj in rendered:
        resolved = exact.get(obj.unique_id)
        if resolved is None or obj.resource_type not in _RELATION_TYPES:
            continue
        ours = _table(obj)
        theirs = (
            exp.table_(f"{EPHEMERAL_PREFIX}{resolved.name}")
            if resolved.materialization == "ephemeral"
            else _table(resolved)
        )
        if not ours.args.get("db"):
            continue
        key = exp.normalize_table_name(ours, dialect=dialect)
        targets[key][exp.normalize_table_name(theirs, dialect=dialect)] = theirs
    return {
        key: next(iter(found.values()))
        for key, found in targets.items()
        if len(found) == 1 and key not in found
    }


def rename_tables(sql: str, renames: dict[str, exp.Table], dialect: str) -> str:
    """`sql` with the tables named in `renames` replaced (aliases kept); unchanged if none is named
    or the SQL does not parse (lineage then reports it as it would for SILVER)."""
    if not renames:
        return sql
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect or None) if s is not None]
    except SqlglotError:
        return sql
    renamed = False
    for statement in statements:
        for table in statement.find_all(exp.Table):
            if isinstance(table.this, exp.Func):  # a table function, not a relation
                continue
            new = renames.get(exp.normalize_table_name(table, dialect=dialect))
            if new is None:
                continue
            if not table.alias and new.name != table.name:
                # Columns may be qualified with the old name (`from s.orders` ... `orders.id`).
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            for part in ("this", "db", "catalog"):
                value = new.args.get(part)
                table.set(part, value.copy() if value is not None else None)
            renamed = True
    if not renamed:
        return sql
    try:
        return ";\n".join(s.sql(dialect=dialect or None, pretty=True) for s in statements)
    except SqlglotError:
        return sql


def _table(obj: DbtObject) -> exp.Table:
    return exp.table_(obj.alias or obj.name, db=obj.schema, catalog=obj.database)
