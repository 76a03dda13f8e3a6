"""`metadata-pipeline impact`: what a dataset or column depends on, and what depends on it."""

from __future__ import annotations

import json

import click

from metadata_pipeline.cli.common import catalog_engine, friendly_errors


@click.command()
@click.argument("fqn")
@click.option("--upstream", "direction", flag_value="upstream", help="What FQN is computed from.")
@click.option(
    "--downstream", "direction", flag_value="downstream", default=True, help="What FQN feeds (default)."
)
@click.option(
    "--sources", is_flag=True, help="With a column: only the source columns at the end of each path."
)
@click.option("--indirect", is_flag=True, help="Also follow filter/join/group-by (indirect) column lineage.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly_errors
def impact(
    ctx: click.Context, fqn: str, direction: str, sources: bool, indirect: bool, as_json: bool
) -> None:
    """Trace FQN through the catalog: a dataset (model.shop.fct_orders) or a column (model.shop.fct_orders.amount).

    Columns follow column-level lineage across any number of models; datasets follow model lineage.
    """
    from metadata_pipeline.catalog import ensure_default_tenant, session_scope
    from metadata_pipeline.catalog.graph import (
        GraphError,
        find_dataset,
        source_columns,
        trace_columns,
        trace_datasets,
    )

    with session_scope(catalog_engine(ctx)) as session:
        company_id = ensure_default_tenant(session).company_id
        try:
            find_dataset(session, company_id, fqn)
            is_dataset = True
        except GraphError:
            is_dataset = False
        if is_dataset:
            nodes = trace_datasets(session, company_id, fqn, direction=direction)  # type: ignore[arg-type]
            rows = [{"fqn": n.fqn, "depth": n.depth} for n in nodes]
        else:
            if sources:
                found = source_columns(session, company_id, fqn)
            else:
                found = trace_columns(
                    session,
                    company_id,
                    fqn,
                    direction=direction,
                    include_indirect=indirect,  # type: ignore[arg-type]
                )
            rows = [
                {
                    "fqn": n.fqn,
                    "depth": n.depth,
                    "mapping_type": n.mapping_type,
                    "lineage_type": n.lineage_type,
                }
                for n in found
            ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"nothing {direction} of {fqn}")
        return
    for row in rows:
        extra = f"  [{row['mapping_type']}, {row['lineage_type']}]" if row.get("mapping_type") else ""
        click.echo(f"{'  ' * (int(row['depth']) - 1)}{row['fqn']}{extra}")
