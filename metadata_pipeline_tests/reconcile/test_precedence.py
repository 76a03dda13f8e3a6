"""Who wins a field: people over extraction over AI; machines fill gaps and replace each other."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine, select, update

from metadata_pipeline.catalog.database import Tenant, session_scope
from metadata_pipeline.catalog.models import Column, Dataset
from metadata_pipeline.reconcile import FieldValue, Suggestions, mark_human_edit
from metadata_pipeline_tests.reconcile.builders import shop
from metadata_pipeline_tests.reconcile.helpers import audit_rows, columns, datasets, recorded_writes, run

STG = "model.shop.stg_customers"
MART = "model.shop.customer_orders"


def _edit_dataset(engine: Engine, fqn: str, field: str, value: object, actor: str = "cli:alice") -> None:
    with session_scope(engine) as session:
        dataset = session.scalars(select(Dataset).where(Dataset.fqn == fqn)).one()
        mark_human_edit(session, dataset, field, value, actor)


def _edit_column(engine: Engine, fqn: str, name: str, field: str, value: object) -> None:
    with session_scope(engine) as session:
        stmt = select(Column).join(Dataset, Dataset.dataset_id == Column.dataset_id)
        column = session.scalars(stmt.where(Dataset.fqn == fqn, Column.name == name)).one()
        mark_human_edit(
            session, column, field, value, "git:abc123", mark_uncommitted=False, committed_in_sha="abc123"
        )


def _with_description(description: str):  # type: ignore[no-untyped-def]
    project = shop()
    next(o for o in project[0].objects if o.unique_id == STG).description = description
    return project


def test_a_human_description_survives_extraction_which_only_suggests(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    _edit_dataset(catalog_engine, STG, "description", "Every customer we ever had.")
    edited = datasets(catalog_engine)[STG]
    assert (
        edited.human_edited_fields == ["description"] and edited.field_sources["description"] == "cli:alice"
    )
    assert edited.has_uncommitted_changes and edited.reconcile_hash is None

    result = run(catalog_engine, tenant, connection_id, shop())  # dbt still says "Customers, cleaned."

    after = datasets(catalog_engine)[STG]
    assert after.description == "Every customer we ever had."
    assert after.suggested_values == {"description": {"value": "Customers, cleaned.", "source": "manifest"}}
    assert not result.changed and result.suggestions_recorded == 1
    run(catalog_engine, tenant, connection_id, _with_description("Customers, deduplicated."))
    after = datasets(catalog_engine)[STG]
    assert after.description == "Every customer we ever had."
    assert after.suggested_values["description"]["value"] == "Customers, deduplicated."
    with recorded_writes(catalog_engine) as writes:
        assert not run(
            catalog_engine, tenant, connection_id, _with_description("Customers, deduplicated.")
        ).changed
    assert writes == []


def test_extraction_fills_a_human_field_only_while_it_is_empty(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    _edit_dataset(catalog_engine, STG, "description", None)
    assert datasets(catalog_engine)[STG].description is None

    run(catalog_engine, tenant, connection_id, shop())

    assert datasets(catalog_engine)[STG].description == "Customers, cleaned."
    assert datasets(catalog_engine)[STG].human_edited_fields == ["description"]


def test_human_column_edits_from_git_win_and_are_not_flagged_for_commit(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    with session_scope(catalog_engine) as session:
        session.execute(update(Dataset).values(has_uncommitted_changes=False, sync_status="synced"))
    _edit_column(catalog_engine, STG, "email", "description", "Contact address (lower-cased).")
    edit = audit_rows(catalog_engine, change_type="updated", entity_type="column")
    assert [(r.actor, r.committed_in_sha) for r in edit] == [("git:abc123", "abc123")]
    assert not datasets(catalog_engine)[STG].has_uncommitted_changes

    run(catalog_engine, tenant, connection_id, shop())

    email = columns(catalog_engine, STG)["email"]
    assert email.description == "Contact address (lower-cased)."
    assert email.suggested_values == {"description": {"value": "The email.", "source": "manifest"}}


def test_ai_fills_gaps_but_never_overrides_dbt_or_people(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    ai = Suggestions(
        datasets={
            MART: {
                "description": FieldValue("Orders per customer.", "ai:offline", 80),
                "medallion_layer": FieldValue("Gold", "ai:offline", 90),
                "entity_type": FieldValue("Cube", "ai:offline"),
            },  # not a valid entity type
            STG: {"description": FieldValue("AI: customers.", "ai:offline", 70)},
        },
        columns={
            (MART, "order_count"): {
                "description": FieldValue("Number of orders.", "ai:offline"),
                "pii_category": FieldValue("none", "ai:offline"),
            },
            (STG, "email"): {
                "description": FieldValue("AI: email.", "ai:offline"),
                "pii_category": FieldValue("email", "ai:offline"),
            },
        },
    )

    result = run(catalog_engine, tenant, connection_id, shop(), suggestions=ai)

    mart, stg = datasets(catalog_engine)[MART], datasets(catalog_engine)[STG]
    assert (mart.description, mart.medallion_layer, mart.entity_type) == (
        "Orders per customer.",
        "Gold",
        None,
    )
    assert mart.field_sources == {"description": "ai:offline", "medallion_layer": "ai:offline"}
    assert stg.description == "Customers, cleaned."  # declared in schema.yml: counts as human vs AI
    assert stg.suggested_values["description"]["value"] == "AI: customers."
    cols = columns(catalog_engine, STG)
    assert (cols["email"].description, cols["email"].pii_category) == ("The email.", "email")
    assert result.suggestions_rejected == 1
    assert {r.actor for r in audit_rows(catalog_engine, change_type="updated")} == {"ai:offline"}

    # A newer AI answer replaces the older machine value; a person's edit then freezes it.
    newer = Suggestions(datasets={MART: {"description": FieldValue("Orders and revenue.", "ai:gpt", 85)}})
    run(catalog_engine, tenant, connection_id, shop(), suggestions=newer)
    assert datasets(catalog_engine)[MART].description == "Orders and revenue."
    _edit_dataset(catalog_engine, MART, "description", "Customer order summary.")
    last = Suggestions(datasets={MART: {"description": FieldValue("AI again.", "ai:gpt", 99)}})
    run(catalog_engine, tenant, connection_id, shop(), suggestions=last)
    mart = datasets(catalog_engine)[MART]
    assert mart.description == "Customer order summary."
    assert mart.suggested_values["description"] == {
        "value": "AI again.",
        "source": "ai:gpt",
        "confidence": 99,
    }


def test_dbt_description_replaces_an_ai_one_and_removal_clears_only_its_own(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    ai = Suggestions(datasets={MART: {"description": FieldValue("AI summary.", "ai:offline")}})
    run(catalog_engine, tenant, connection_id, shop(), suggestions=ai)
    declared = shop()
    next(o for o in declared[0].objects if o.unique_id == MART).description = "Written in schema.yml."
    run(catalog_engine, tenant, connection_id, declared)
    assert datasets(catalog_engine)[MART].field_sources == {"description": "manifest"}

    run(catalog_engine, tenant, connection_id, shop())  # removed from schema.yml again

    assert datasets(catalog_engine)[MART].description is None
    run(catalog_engine, tenant, connection_id, shop(), suggestions=ai)
    assert datasets(catalog_engine)[MART].description == "AI summary."
    run(catalog_engine, tenant, connection_id, shop())  # extraction has nothing: the AI text stays
    assert datasets(catalog_engine)[MART].description == "AI summary."


def test_mark_human_edit_is_idempotent_and_refuses_identity_fields(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    run(catalog_engine, tenant, connection_id, shop())
    with session_scope(catalog_engine) as session:
        dataset = session.scalars(select(Dataset).where(Dataset.fqn == MART)).one()
        assert mark_human_edit(session, dataset, "medallion_layer", "Gold", "cli:alice")
    with recorded_writes(catalog_engine) as writes, session_scope(catalog_engine) as session:
        dataset = session.scalars(select(Dataset).where(Dataset.fqn == MART)).one()
        assert not mark_human_edit(session, dataset, "medallion_layer", "Gold", "cli:alice")
        with pytest.raises(ValueError, match="not a field"):
            mark_human_edit(session, dataset, "fqn", "model.shop.other", "cli:alice")
    assert writes == []
    assert len(audit_rows(catalog_engine, change_type="updated", field_name="medallion_layer")) == 1


def test_the_same_suggestions_again_write_nothing(
    catalog_engine: Engine, tenant: Tenant, connection_id: uuid.UUID
) -> None:
    ai = Suggestions(
        datasets={MART: {"description": FieldValue("Orders per customer.", "ai:offline", 80)}},
        columns={(STG, "email"): {"pii_category": FieldValue("email", "ai:offline", 90)}},
    )
    run(catalog_engine, tenant, connection_id, shop(), suggestions=ai)

    with recorded_writes(catalog_engine) as writes:
        again = run(catalog_engine, tenant, connection_id, shop(), suggestions=ai)

    assert writes == [] and not again.changed and again.datasets_skipped_by_hash == 6
    without_ai = run(catalog_engine, tenant, connection_id, shop())  # an extraction-only run keeps AI values
    assert not without_ai.changed and datasets(catalog_engine)[MART].description == "Orders per customer."
    assert columns(catalog_engine, STG)["email"].pii_category == "email"
