"""The offline provider: everything gets a description and a classification, honestly low-confidence."""

from __future__ import annotations

from metadata_pipeline.enrich import (
    EnrichmentCache,
    OfflineEnricher,
    OpenAIConfig,
    default_enricher,
    enrich_extraction,
)
from metadata_pipeline.enrich.context import is_enrichable

from .synthetic import (
    DIM_CUSTOMERS,
    FCT_ORDERS,
    SEED,
    SNAPSHOT,
    SRC_ORDERS,
    STG_CUSTOMERS,
    STG_ORDERS,
    small_project,
    synthetic_project,
)


def _run_offline():  # type: ignore[no-untyped-def]
    extraction, edges = small_project()
    return extraction, enrich_extraction(
        extraction, edges, enricher=OfflineEnricher(), cache=EnrichmentCache.in_memory()
    )


def test_every_dataset_and_column_gets_a_description_and_classification() -> None:
    extraction, result = _run_offline()
    assert result.skipped == {}
    for obj in extraction.objects:
        if not is_enrichable(obj):
            assert obj.unique_id not in result.datasets
            continue
        enriched = result.datasets[obj.unique_id]
        assert enriched.medallion_layer and enriched.entity_type
        # A description either comes from here or was already written by a person.
        assert enriched.description or obj.description
        for col in obj.columns:
            found = result.columns[(obj.unique_id, col.name)]
            assert found.description or col.description, (obj.unique_id, col.name)
            assert found.business_name
    assert result.stats.calls == 8  # every enrichable dataset still lacks some text


def test_classification_follows_conventions() -> None:
    _, result = _run_offline()
    layers = {uid: (d.medallion_layer, d.entity_type, d.entity_subtype) for uid, d in result.datasets.items()}
    assert layers[STG_CUSTOMERS] == ("Silver", "Staging", None)
    assert layers[FCT_ORDERS] == ("Gold", "DataMart", "Fact")
    assert layers[DIM_CUSTOMERS] == ("Gold", "DataMart", "Dimension")
    assert layers[SRC_ORDERS] == ("Raw", "Table", None)
    assert layers[SEED] == ("Bronze", "Table", None)
    assert layers[SNAPSHOT] == ("Bronze", "PersistentStaging", None)


def test_column_rules_names_types_and_sql() -> None:
    _, result = _run_offline()

    def desc(uid: str, col: str) -> str:
        return result.columns[(uid, col)].description or ""

    assert desc(DIM_CUSTOMERS, "lifetime_value") == "Total amount."  # sum(o.amount)
    assert desc(DIM_CUSTOMERS, "n_orders").startswith("Number of")  # count(o.order_id)
    assert desc(DIM_CUSTOMERS, "last_ordered_at") == "Latest ordered at."  # max() of a timestamp
    assert desc(DIM_CUSTOMERS, "is_active") == "Whether the customer is active."
    assert desc(STG_ORDERS, "order_id") == "Unique identifier of the order."
    assert desc(STG_ORDERS, "customer_id") == "Identifier of the related customer."
    assert desc(STG_CUSTOMERS, "created_at") == "Timestamp when the customer was created."
    assert desc(STG_ORDERS, "amount").startswith("Monetary amount")
    assert desc(SNAPSHOT, "dbt_valid_to").endswith("(dbt snapshot).")
    assert result.columns[(STG_CUSTOMERS, "email")].pii_category == "email"
    assert result.columns[(STG_CUSTOMERS, "first_name")].pii_category == "name"
    assert result.columns[(STG_ORDERS, "order_id")].business_name == "Order ID"


def test_confidence_is_low_and_marked_as_machine_written() -> None:
    _, result = _run_offline()
    for d in result.datasets.values():
        assert 20 <= d.confidence <= 50
        assert d.extracted_from == "ai:offline:heuristics-v1"
    for col in result.columns.values():
        if col.extracted_from.startswith("ai:"):
            assert 20 <= col.confidence <= 55


def test_offline_is_deterministic() -> None:
    extraction, edges = synthetic_project(40)
    first = enrich_extraction(extraction, edges, enricher=OfflineEnricher(), cache=EnrichmentCache.in_memory())
    second = enrich_extraction(extraction, edges, enricher=OfflineEnricher(), cache=EnrichmentCache.in_memory())
    assert first.datasets == second.datasets
    assert first.columns == second.columns


def test_default_enricher_is_offline_without_a_key() -> None:
    config = OpenAIConfig(api_key_env="METADATA_PIPELINE_TEST_NO_SUCH_KEY")
    assert isinstance(default_enricher(config, env={}), OfflineEnricher)
