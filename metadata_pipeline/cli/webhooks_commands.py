"""`metadata-pipeline webhooks`: run the Git webhook receiver."""

from __future__ import annotations

import os

import click

from metadata_pipeline.cli.common import catalog_engine, friendly_errors
from metadata_pipeline.webhooks.app import DEFAULT_MAX_BODY_BYTES, GLOBAL_SECRET_ENV


@click.group()
def webhooks() -> None:
    """Receive GitHub and GitLab push webhooks; Dagster sensors act on what is stored."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--max-body-bytes",
    default=DEFAULT_MAX_BODY_BYTES,
    show_default=True,
    type=click.IntRange(1),
    help="Larger request bodies are refused with 413.",
)
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, host: str, port: int, max_body_bytes: int, log_level: str) -> None:
    """Serve POST /webhooks/github, POST /webhooks/gitlab and GET /healthz.

    Secrets come from the environment only: each repository's `--webhook-secret-env`, else
    METADATA_PIPELINE_WEBHOOK_SECRET.
    """
    import logging

    import uvicorn

    from metadata_pipeline.webhooks import create_app

    # uvicorn configures only its own loggers; this makes the receiver's accept/reject lines visible.
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not os.environ.get(GLOBAL_SECRET_ENV):
        click.echo(
            f"note: {GLOBAL_SECRET_ENV} is unset; only repositories with their own secret are accepted",
            err=True,
        )
    app = create_app(catalog_engine(ctx), max_body_bytes=max_body_bytes)
    click.echo(
        f"webhook receiver on http://{host}:{port} (POST /webhooks/github, /webhooks/gitlab)", err=True
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)
