"""Lineage first: descriptions travel down Direct edges, transitively, without any provider call."""

from __future__ import annotations

from metadata_pipeline.enrich import propagate_descriptions
from metadata_pipeline.ingest.extraction import ColumnInfo

from .synthetic import (
    DIM_CUSTOMERS,
    FCT_ORDERS,
    SNAPSHOT,
    SRC_CUSTOMERS,
    STG_CUSTOMERS,
    edge,
    small_project,
)


def test_direct_edges_carry_descriptions_transitively() -> None:
    extraction, edges = small_project()
    found = propagate_descriptions(extraction, edges)

    first_hop = found[(STG_CUSTOMERS, "customer_id")]
    assert first_hop.description == "Unique customer id from the shop."
    assert first_hop.extracted_from == f"lineage:{SRC_CUSTOMERS}.id"
    assert first_hop.confidence == 90

    # Two hops (source -> staging -> mart, and -> snapshot): same text, origin kept, a little less sure.
    for target in (DIM_CUSTOMERS, SNAPSHOT):
        second_hop = found[(target, "email")]
        assert second_hop.description == "Customer email address."
        assert second_hop.extracted_from == f"lineage:{SRC_CUSTOMERS}.email"
        assert second_hop.confidence == 85


def test_only_direct_edges_from_documented_columns_propagate() -> None:
    extraction, edges = small_project()
    found = propagate_descriptions(extraction, edges)
    # Transform edges (aggregates) change meaning: left to a provider.
    assert (DIM_CUSTOMERS, "lifetime_value") not in found
    # Undocumented upstreams have nothing to give.
    assert (FCT_ORDERS, "amount") not in found
    assert (STG_CUSTOMERS, "first_name") not in found


def test_documented_targets_are_never_overwritten() -> None:
    extraction, edges = small_project()
    stg = extraction.by_id()[STG_CUSTOMERS]
    stg.declared_columns = [ColumnInfo(name="email", description="Written by a person downstream.")]
    found = propagate_descriptions(extraction, edges)
    assert (STG_CUSTOMERS, "email") not in found
    # ...and what the person wrote is what travels further down.
    assert found[(DIM_CUSTOMERS, "email")].description == "Written by a person downstream."
    assert found[(DIM_CUSTOMERS, "email")].extracted_from == f"lineage:{STG_CUSTOMERS}.email"


def test_human_descriptions_argument_protects_and_feeds_propagation() -> None:
    extraction, edges = small_project()
    human = {(STG_CUSTOMERS, "first_name"): "Given name, edited in the catalog."}
    found = propagate_descriptions(extraction, edges, human_descriptions=human)
    assert (STG_CUSTOMERS, "first_name") not in found

    protected = propagate_descriptions(extraction, edges, human_descriptions={(STG_CUSTOMERS, "email")})
    assert (STG_CUSTOMERS, "email") not in protected


def test_conflicting_upstreams_are_ambiguous() -> None:
    extraction, edges = small_project()
    by_id = extraction.by_id()
    by_id["source.shop.raw.orders"].declared_columns[1].description = "Buyer of the order."
    # A union-like model whose customer_id comes straight from two differently documented columns.
    edges = [*edges, edge(f"{FCT_ORDERS}.customer_id", f"{SRC_CUSTOMERS}.id")]
    found = propagate_descriptions(extraction, edges)
    assert (FCT_ORDERS, "customer_id") not in found


def test_column_names_match_case_insensitively() -> None:
    extraction, edges = small_project()
    stg = extraction.by_id()[STG_CUSTOMERS]
    stg.catalog_columns = [ColumnInfo(name="CUSTOMER_ID"), ColumnInfo(name="EMAIL")]
    found = propagate_descriptions(extraction, edges)
    assert found[(STG_CUSTOMERS, "CUSTOMER_ID")].description == "Unique customer id from the shop."
    assert found[(DIM_CUSTOMERS, "customer_id")].confidence == 85


def test_a_cast_keeps_the_meaning_another_transform_does_not() -> None:
    from metadata_pipeline.enrich.propagation import keeps_meaning
    from metadata_pipeline.lineage.edges import ColumnEdge

    def transform(text: str) -> ColumnEdge:
        return ColumnEdge("model.p.b.x", "model.p.a.x", "Transform", "direct", text)

    assert keeps_meaning(ColumnEdge("model.p.b.x", "model.p.a.x", "Direct"))
    assert keeps_meaning(transform("CAST(amount AS DECIMAL(10, 2))"))
    assert keeps_meaning(transform("TRY_CAST(o.ordered_at AS DATE)"))
    assert not keeps_meaning(transform("CAST(amount * 100 AS INT)"))
    assert not keeps_meaning(transform("UPPER(CAST(name AS TEXT))"))
    assert not keeps_meaning(transform("SUM(amount)"))
