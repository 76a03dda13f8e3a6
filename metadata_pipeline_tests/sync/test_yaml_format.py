"""The YAML format: shape, determinism, strict parsing with file/line/field errors, and file layout."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_pipeline.sync.errors import SyncError, YamlFormatError
from metadata_pipeline.sync.layout import (
    PathItem,
    assign_paths,
    check_repo_path,
    safe_segment,
    validate_layout,
)
from metadata_pipeline.sync.yaml_format import (
    ColumnSpec,
    DatasetDocument,
    DatasetSpec,
    LineageSpec,
    ReferenceSpec,
    document_data,
    dump_document,
    parse_document,
    slow_dump,
)

DS = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")
COL = [uuid.UUID(f"660e8400-e29b-41d4-a716-44665544000{i}") for i in range(1, 4)]
UP_DS = uuid.UUID("aa0e8400-e29b-41d4-a716-446655440000")
UP_COL = uuid.UUID("bb0e8400-e29b-41d4-a716-446655440001")

SEED_EXAMPLE = """\
version: '1.0'
dataset:
  uuid: 550e8400-e29b-41d4-a716-446655440000
  fqn: gold.marts.dim_customer
  name: dim_customer
  medallion_layer: Gold
  entity_type: DataMart
  entity_subtype: Dimension
  materialization_type: Table
  description: Customer dimension with SCD Type 2
  metadata:
    business_owner: jane.doe@company.com
    scd_type: 2
  columns:
    - uuid: 660e8400-e29b-41d4-a716-446655440001
      name: customer_key
      data_type: BIGINT
      description: Surrogate key
      business_name: Customer Key
      is_primary_key: true
      is_foreign_key: false
      is_nullable: false
      position: 1
    - uuid: 660e8400-e29b-41d4-a716-446655440002
      name: customer_id
      data_type: STRING
      is_primary_key: false
      is_foreign_key: true
      is_nullable: false
      position: 2
    - uuid: 660e8400-e29b-41d4-a716-446655440003
      name: email
      data_type: STRING
      is_primary_key: false
      is_foreign_key: false
      is_nullable: true
      transformation_logic: |
        lower(
          email)
      position: 3
      pii_category: email
  references:
    - target_dataset_uuid: aa0e8400-e29b-41d4-a716-446655440000
      target_dataset_fqn: silver.staging.stg_customers
      reference_type: FK
      source_columns:
        - 660e8400-e29b-41d4-a716-446655440002
      target_columns:
        - bb0e8400-e29b-41d4-a716-446655440001
  lineage:
    - upstream_dataset_uuid: aa0e8400-e29b-41d4-a716-446655440000
      upstream_dataset_fqn: silver.staging.stg_customers
      upstream_column_uuid: bb0e8400-e29b-41d4-a716-446655440001
      upstream_column_name: id
      downstream_column_uuid: 660e8400-e29b-41d4-a716-446655440002
      downstream_column_name: customer_id
      mapping_type: Direct
    - upstream_dataset_uuid: aa0e8400-e29b-41d4-a716-446655440000
      upstream_dataset_fqn: silver.staging.stg_customers
      upstream_column_uuid: bb0e8400-e29b-41d4-a716-446655440001
      upstream_column_name: id
      downstream_column_uuid: 660e8400-e29b-41d4-a716-446655440003
      downstream_column_name: email
      mapping_type: Derived
      lineage_type: indirect
      role: join
created_at: '2025-01-15T10:30:00Z'
"""


def test_the_seed_example_round_trips_byte_for_byte() -> None:
    doc = parse_document(SEED_EXAMPLE, "datasets/gold/dim_customer.yml")
    assert doc.dataset.uuid == DS and doc.dataset.columns[2].pii_category == "email"
    assert dump_document(doc) == SEED_EXAMPLE


def test_order_of_input_does_not_change_the_file() -> None:
    doc = parse_document(SEED_EXAMPLE, "x.yml")
    shuffled = doc.model_copy(
        update={
            "dataset": doc.dataset.model_copy(
                update={
                    "columns": list(reversed(doc.dataset.columns)),
                    "lineage": list(reversed(doc.dataset.lineage)),
                    "metadata": {"scd_type": 2, "business_owner": "jane.doe@company.com"},
                }
            )
        }
    )
    assert dump_document(shuffled) == SEED_EXAMPLE


def test_audit_fields_other_than_created_at_are_accepted_and_not_written() -> None:
    text = SEED_EXAMPLE + "updated_at: 2025-01-20T14:45:00Z\nlast_synced_at: 2025-01-20T14:45:00Z\n"
    text += "source_control_commit_sha: abc123def456\n"
    assert dump_document(parse_document(text, "x.yml")) == SEED_EXAMPLE


def test_hand_written_conveniences() -> None:
    text = (
        "version: 1.0\ndataset:\n  uuid: 550e8400-e29b-41d4-a716-446655440000\n  fqn: a.b\n  name: b\n"
        "  medallion_layer: gold\n  entity_type: datamart\n  columns:\n    - name: id\n"
        "  lineage:\n    - downstream_column_name: id\n      mapping_type: calculated\n"
    )
    doc = parse_document(text, "x.yml")
    assert doc.dataset.medallion_layer == "Gold" and doc.dataset.entity_type == "DataMart"
    assert doc.dataset.columns[0].data_type == "unknown" and doc.dataset.columns[0].uuid is None
    assert doc.dataset.lineage[0].mapping_type == "Calculated"


def _at(marker: str) -> int:
    return next(i for i, line in enumerate(SEED_EXAMPLE.splitlines(), 1) if marker in line)


PARSE_ERRORS: list[tuple[str, str, int | None, str | None, str]] = [
    # (name, text, line, field, message part)
    (
        "python tag",
        SEED_EXAMPLE.replace("scd_type: 2", "scd_type: !!python/object/apply:os.system [id]"),
        _at("scd_type"),
        "dataset.metadata.scd_type",
        "tag !!python/object/apply:os.system is not allowed",
    ),
    ("python name tag", "version: '1.0'\ndataset: !!python/name:os.system\n", 2, "dataset", "is not allowed"),
    (
        "custom tag",
        SEED_EXAMPLE.replace("name: email", "name: !secret email"),
        _at("name: email"),
        "dataset.columns[2].name",
        "tag !secret is not allowed",
    ),
    (
        "binary tag",
        SEED_EXAMPLE.replace("description: Surrogate key", "description: !!binary aGk="),
        _at("Surrogate key"),
        "dataset.columns[0].description",
        "tag !!binary",
    ),
    (
        "alias",
        SEED_EXAMPLE.replace("scd_type: 2", "scd_type: &x 2\n    again: *x"),
        _at("scd_type") + 1,
        "dataset.metadata.again",
        "aliases",
    ),
    (
        "duplicate column key",
        SEED_EXAMPLE.replace("      name: customer_id\n", "      name: customer_id\n      name: dup\n"),
        _at("name: customer_id") + 1,
        "dataset.columns[1].name",
        "duplicate key",
    ),
    (
        "wrong type",
        SEED_EXAMPLE.replace("position: 2", "position: second"),
        _at("position: 2"),
        "dataset.columns[1].position",
        "valid integer",
    ),
    (
        "string for bool",
        SEED_EXAMPLE.replace("is_nullable: true", "is_nullable: 'true'"),
        _at("is_nullable: true"),
        "dataset.columns[2].is_nullable",
        "valid boolean",
    ),
    (
        "bad uuid",
        SEED_EXAMPLE.replace("uuid: 550e8400-e29b-41d4-a716-446655440000", "uuid: not-a-uuid"),
        3,
        "dataset.uuid",
        "valid UUID",
    ),
    (
        "missing required",
        SEED_EXAMPLE.replace("  fqn: gold.marts.dim_customer\n", ""),
        2,
        "dataset.fqn",
        "required",
    ),
    (
        "unknown field",
        SEED_EXAMPLE.replace("  name: dim_customer\n", "  name: dim_customer\n  owner: me\n"),
        _at("name: dim_customer") + 1,
        "dataset.owner",
        "unknown field",
    ),
    (
        "duplicate column names",
        SEED_EXAMPLE.replace("name: email", "name: customer_id"),
        _at("  columns:"),
        "dataset.columns",
        "duplicate column name",
    ),
    (
        "indirect without role",
        SEED_EXAMPLE.replace("      role: join\n", ""),
        _at("mapping_type: Derived") - 6,
        "dataset.lineage[1]",
        "needs a role",
    ),
    (
        "infinite metadata",
        SEED_EXAMPLE.replace("scd_type: 2", "scd_type: .inf"),
        _at("  metadata:"),
        "dataset.metadata",
        "finite",
    ),
    (
        "date in metadata",
        SEED_EXAMPLE.replace("scd_type: 2", "scd_type: 2024-01-01"),
        _at("scd_type"),
        "dataset.metadata.scd_type",
        "JSON",
    ),
    (
        "two references from one column",
        SEED_EXAMPLE.replace(
            "        - 660e8400-e29b-41d4-a716-446655440002\n", "        - a\n        - b\n"
        ),
        _at("source_columns:"),
        "dataset.references[0].source_columns",
        "at most 1",
    ),
    ("syntax", "version: '1.0'\ndataset:\n  uuid: [\n", 4, None, "not valid YAML"),
    ("tabs", "version: '1.0'\n\tdataset: {}\n", 2, None, "not valid YAML"),
    ("not a mapping", "just a string\n", 1, None, "expected a mapping"),
    ("empty", "   \n# only a comment\n", None, None, "empty"),
    (
        "impossible date",
        SEED_EXAMPLE.replace("created_at: '2025-01-15T10:30:00Z'", "created_at: 2025-13-45"),
        _at("created_at"),
        "created_at",
        "invalid timestamp",
    ),
]


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "message"), PARSE_ERRORS, ids=[c[0] for c in PARSE_ERRORS]
)
def test_parse_errors_name_file_line_and_field(
    name: str, text: str, line: int | None, field: str | None, message: str
) -> None:
    with pytest.raises(YamlFormatError) as info:
        parse_document(text, "datasets/gold/dim_customer.yml")
    error = info.value
    assert error.path == "datasets/gold/dim_customer.yml"
    assert message in error.reason, error
    assert (error.line, error.field) == (line, field), error
    assert str(error).startswith("datasets/gold/dim_customer.yml")


def test_bytes_and_size_limits() -> None:
    with pytest.raises(YamlFormatError, match="not UTF-8"):
        parse_document(b"version: '1.0'\n\xff\xfe", "x.yml")
    with pytest.raises(YamlFormatError, match="larger than"):
        parse_document("a: " + "x" * (3 * 1024 * 1024), "x.yml")
    assert parse_document(SEED_EXAMPLE.encode(), "x.yml").dataset.name == "dim_customer"


# -- property: whatever the catalog holds, the file reads back as the same document --------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(str.strip)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def documents(draw: Any) -> DatasetDocument:
    names = draw(st.lists(NAME, min_size=0, max_size=5, unique=True))
    columns = [
        ColumnSpec(
            uuid=uuid.UUID(int=draw(st.integers(1, 2**64)) + i * 2**70),
            name=name,
            data_type=draw(NAME),
            description=draw(st.none() | TEXT),
            business_name=draw(st.none() | TEXT),
            is_primary_key=draw(st.booleans()),
            is_foreign_key=draw(st.booleans()),
            is_nullable=draw(st.booleans()),
            transformation_logic=draw(st.none() | TEXT),
            position=draw(st.none() | st.integers(-5, 5)),
            pii_category=draw(st.none() | st.sampled_from(["email", "phone"])),
        )
        for i, name in enumerate(names)
    ]
    lineage = [
        LineageSpec(
            upstream_dataset_uuid=UP_DS,
            upstream_dataset_fqn="up.fqn",
            upstream_column_uuid=UP_COL,
            upstream_column_name="id",
            downstream_column_uuid=c.uuid,
            downstream_column_name=c.name,
            mapping_type=draw(st.sampled_from(["Direct", "Transform", "Derived", "Calculated"])),
            transformation_expression=draw(st.none() | TEXT),
        )
        for c in columns[: draw(st.integers(0, len(columns)))]
    ]
    references = [
        ReferenceSpec(
            target_dataset_uuid=UP_DS,
            target_dataset_fqn="up.fqn",
            reference_type="FK",
            source_columns=[str(c.uuid)],
            target_columns=[str(UP_COL)],
            description=draw(st.none() | TEXT),
        )
        for c in columns[:1]
    ]
    spec = DatasetSpec(
        uuid=DS,
        fqn=draw(NAME),
        name=draw(NAME),
        medallion_layer=draw(st.sampled_from([None, "Raw", "Bronze", "Silver", "Gold"])),
        description=draw(st.none() | TEXT),
        metadata=draw(st.none() | st.dictionaries(TEXT, JSON, max_size=4)),
        materialization_type=draw(st.none() | st.sampled_from(["table", "view"])),
        columns=columns,
        references=references,
        lineage=lineage,
    )
    return DatasetDocument(version="1.0", dataset=spec)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_document_round_trips(doc: DatasetDocument) -> None:
    text = dump_document(doc)
    assert text == slow_dump(document_data(doc))  # the fast writer is PyYAML's output, byte for byte
    again = parse_document(text, "prop.yml")
    assert document_data(again) == document_data(doc)
    assert dump_document(again) == text


# -- layout ---------------------------------------------------------------------------------------


def _item(
    name: str, layer: str | None = "Gold", resource: str | None = "model", fqn: str | None = None
) -> PathItem:
    return PathItem(uuid.uuid4(), name, fqn or f"db.{name}.{uuid.uuid4().hex[:4]}", layer, resource, None)


def test_default_layout_and_unclassified() -> None:
    a, b = _item("dim_customer", "Gold"), _item("orders", None)
    paths = assign_paths([a, b], "datasets")
    assert paths == {
        a.dataset_id: "datasets/gold/dim_customer.yml",
        b.dataset_id: "datasets/unclassified/orders.yml",
    }
    assert assign_paths([a], "")[a.dataset_id] == "gold/dim_customer.yml"


def test_collisions_are_resolved_deterministically() -> None:
    model, source = _item("customers", resource="model"), _item("Customers", resource="source")
    seed1, seed2 = _item("x", resource="seed", fqn="a.x"), _item("x", resource="seed", fqn="b.x")
    paths = assign_paths([model, source, seed1, seed2], "datasets")
    assert paths[model.dataset_id] == "datasets/gold/customers.model.yml"
    assert paths[source.dataset_id] == "datasets/gold/Customers.source.yml"  # case-insensitive clash
    assert (
        paths[seed1.dataset_id].startswith("datasets/gold/x.seed.")
        and paths[seed1.dataset_id] != paths[seed2.dataset_id]
    )
    again = assign_paths([seed2, seed1, source, model], "datasets")
    assert again == paths


def test_names_never_escape_the_prefix() -> None:
    evil = _item("../../etc/passwd", layer="Gold")
    hidden = _item(".git", layer=None)
    paths = assign_paths([evil, hidden], "datasets")
    assert paths[evil.dataset_id] == "datasets/gold/.._.._etc_passwd.yml".replace("/.._", "/_.._")
    assert paths[hidden.dataset_id] == "datasets/unclassified/_.git.yml"
    for path in paths.values():
        check_repo_path(path)
    assert safe_segment("", "dataset") == "dataset"


def test_custom_layouts() -> None:
    item = _item("orders", "Silver", "snapshot")
    assert assign_paths([item], "meta", "{resource_type}/{layer}/{name}.yaml")[item.dataset_id] == (
        "meta/snapshot/silver/orders.yaml"
    )
    for bad, message in [
        ("{layer}/x.yml", "must contain"),
        ("{name}.json", "must end with"),
        ("../{name}.yml", "relative path"),
        ("{owner}/{name}.yml", "unknown placeholder"),
    ]:
        with pytest.raises(SyncError, match=message):
            validate_layout(bad)


@pytest.mark.parametrize(
    "path",
    [
        "../x.yml",
        "datasets/../../x.yml",
        "/etc/passwd",
        "datasets//x.yml",
        "C:/x.yml",
        ".git/config",
        "datasets/./x.yml",
        "a\\b.yml",
        "x\x00.yml",
        "",
    ],
)
def test_unsafe_repository_paths(path: str) -> None:
    with pytest.raises(SyncError):
        check_repo_path(path)
