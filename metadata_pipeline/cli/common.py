"""Helpers every command module shares: the engine for the configured catalog, friendly errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from metadata_pipeline.errors import PipelineError
from metadata_pipeline.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_of(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):  # invoked as a sub-command without the root group
        obj = Settings.from_env()
        ctx.find_root().obj = obj
    return obj


def catalog_engine(ctx: click.Context, *, require_schema: bool = True) -> Engine:
    """The catalog engine; refuses to run on a database that `db upgrade` has not prepared."""
    from metadata_pipeline.catalog import cached_engine, require_current_schema

    settings = settings_of(ctx)
    settings.ensure_dirs()
    engine = cached_engine(settings.catalog_url)
    if require_schema:
        require_current_schema(engine)
    return engine


def friendly_errors(func: F) -> F:
    """Turn the errors users can act on into one clear line and exit code 1, not a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PipelineError as exc:
            raise click.ClickException(str(exc)) from exc
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(f"catalog database error: {reason}") from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def progress(label: str) -> Iterator[None]:
    click.echo(f"{label}...", err=True)
    yield
