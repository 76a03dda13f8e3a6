"""`metadata-pipeline lineage`: column lineage of one SQL statement or of a whole dbt project."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from metadata_pipeline.lineage.errors import LineageError


@click.group()
def lineage() -> None:
    """Column-level lineage of SQL statements and dbt projects."""


@lineage.command("sql")
@click.option(
    "--dialect", required=True, help="SQL dialect: duckdb, postgres, snowflake, bigquery, databricks..."
)
@click.option(
    "--schema",
    "schema_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="JSON object: table name (1-3 dotted parts) -> {column: type}.",
)
@click.option("--default-db", default=None, help="Database (catalog) of tables the SQL leaves unqualified.")
@click.option("--default-schema", default=None, help="Schema of tables the SQL leaves unqualified.")
@click.option("--timeout", "timeout_s", type=float, default=10.0, show_default=True, help="Seconds allowed.")
def sql_command(
    dialect: str,
    schema_file: Path | None,
    default_db: str | None,
    default_schema: str | None,
    timeout_s: float,
) -> None:
    """Lineage of ONE SQL statement read from stdin, printed as JSON.

    Problems with the SQL itself are reported in "errors" (exit code 0); only bad options or an
    unreadable schema file stop the command.
    """
    from metadata_pipeline.lineage.column_lineage import StatementLineage, statement_lineage
    from metadata_pipeline.lineage.dialects import normalize_dialect
    from metadata_pipeline.lineage.lineage_schema import read_schema_file

    _quiet_sqlglot()
    schema = None
    if schema_file is not None:
        try:
            schema = read_schema_file(schema_file)
        except LineageError as exc:
            raise click.BadParameter(str(exc), param_hint="--schema") from exc
    sql = _read_stdin()
    notes: list[str] = []
    if dialect.strip() and not normalize_dialect(dialect):
        notes.append(f"dialect: unknown dialect {dialect!r}; read as generic SQL")
    if not sql.strip():
        result = StatementLineage(errors=["parse: no SQL on stdin"], statement_type="UNKNOWN", confidence=0.0)
    else:
        result = statement_lineage(
            sql,
            dialect,
            schema=schema,
            default_db=default_db or None,
            default_schema=default_schema or None,
            timeout_s=timeout_s if timeout_s > 0 else None,
            preserve_case=True,
        )
    payload = result.to_dict()
    payload["errors"] = notes + payload["errors"]
    click.echo(json.dumps(payload, indent=2))


@lineage.command("project")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--manifest", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None)
@click.option("--catalog", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None)
@click.option(
    "--no-manifest", is_flag=True, help="Ignore any manifest.json: render the dbt project from its files."
)
@click.option(
    "--no-catalog", is_flag=True, help="Infer model columns from SQL even where catalog.json has them."
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write JSON here.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Per-model result cache.",
)
@click.option("--workers", type=int, default=None, help="Processes (default: one per CPU).")
@click.option(
    "--timeout", "timeout_s", type=float, default=10.0, show_default=True, help="Seconds allowed per model."
)
def project_command(
    path: Path,
    manifest: Path | None,
    catalog: Path | None,
    no_manifest: bool,
    no_catalog: bool,
    out: Path | None,
    cache_dir: Path | None,
    workers: int | None,
    timeout_s: float,
) -> None:
    """Extract the dbt project at PATH and compute its column lineage, as JSON."""
    from metadata_pipeline.ingest import IngestError, extract_project
    from metadata_pipeline.lineage.document import lineage_document
    from metadata_pipeline.lineage.project_lineage import compute_project_lineage

    _quiet_sqlglot()
    started = time.perf_counter()
    try:
        extraction = extract_project(path, manifest=manifest, catalog=catalog, no_manifest=no_manifest)
    except IngestError as exc:
        raise click.ClickException(str(exc)) from exc
    result = compute_project_lineage(
        extraction, cache_dir=cache_dir, workers=workers, timeout_s=timeout_s, use_catalog=not no_catalog
    )
    text = json.dumps(lineage_document(extraction, result), indent=2, default=str)
    if out is not None:
        try:
            out.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc})") from exc
    else:
        click.echo(text)
    stats = result.stats
    click.echo(
        f"lineage: {stats['models']} models, {stats['columns_with_lineage']}/{stats['columns']} columns with "
        f"lineage, {stats['direct_edges']} direct + {stats['indirect_edges']} indirect edges, "
        f"{stats['errors']} SQL errors, {stats['cache_hits']} cached, {time.perf_counter() - started:.2f}s",
        err=True,
    )


def _read_stdin() -> str:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        return sys.stdin.read().lstrip("\ufeff")
    # Bytes, decoded leniently: a stray byte in a comment must not lose the whole statement.
    return stream.read().decode("utf-8", errors="replace").lstrip("\ufeff")


def _quiet_sqlglot() -> None:
    # sqlglot logs a warning for every construct it cannot scope; our output already says so.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(lineage())
