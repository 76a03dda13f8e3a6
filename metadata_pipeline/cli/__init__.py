"""The `metadata-pipeline` command: a thin front over the core packages.

Each domain keeps its commands in its own module here (`db_commands.py`, `lineage_commands.py`...);
this module only assembles them, so no two features ever edit the same file.
"""

from __future__ import annotations

import importlib
import sys

import click

# (module, attribute) of each top-level command or group, in the order --help lists them.
_COMMANDS: list[tuple[str, str]] = [
    ("metadata_pipeline.cli.db_commands", "db"),
    ("metadata_pipeline.cli.repo_commands", "repo"),
    ("metadata_pipeline.cli.extract_commands", "extract"),
    ("metadata_pipeline.cli.lineage_commands", "lineage"),
    ("metadata_pipeline.cli.sync_commands", "workspace"),
    ("metadata_pipeline.cli.sync_commands", "commit"),
    ("metadata_pipeline.cli.sync_commands", "pull"),
    ("metadata_pipeline.cli.sync_commands", "conflicts"),
    ("metadata_pipeline.cli.impact_commands", "impact"),
    ("metadata_pipeline.cli.webhooks_commands", "webhooks"),
    ("metadata_pipeline.cli.demo_commands", "demo"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--catalog-url",
    envvar="METADATA_PIPELINE_CATALOG_URL",
    default=None,
    help="SQLAlchemy URL of the catalog database (env METADATA_PIPELINE_CATALOG_URL). "
    "Default: a SQLite file under METADATA_PIPELINE_HOME.",
)
@click.pass_context
def main(ctx: click.Context, catalog_url: str | None) -> None:
    """Metadata pipeline for dbt projects: lineage, enrichment, catalog and metadata as code."""
    from metadata_pipeline.settings import Settings

    ctx.obj = Settings.from_env(catalog_url=catalog_url)


def _register() -> None:
    for module_name, attr in _COMMANDS:
        main.add_command(getattr(importlib.import_module(module_name), attr))


_register()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
