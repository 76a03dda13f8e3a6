"""Broken or hostile YAML pushed to Git: each file is rejected with its file, line and field, changes
nothing, and every other file of the same pull still applies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from metadata_pipeline.catalog.database import Tenant
from metadata_pipeline.settings import Settings
from metadata_pipeline.sync.commit import commit_workspace
from metadata_pipeline.sync.pull import pull_workspace
from metadata_pipeline_tests.sync.conftest import Remote
from metadata_pipeline_tests.sync.helpers import Clone, build_catalog, catalog_state, get_dataset

RAW = "datasets/raw/model_0000.yml"
BRONZE = "datasets/bronze/model_0001.yml"
SILVER = "datasets/silver/model_0002.yml"
NEW = "datasets/gold/intruder.yml"


def _new_file(uuid: str, fqn: str, extra: str = "") -> str:
    return (
        f"version: '1.0'\ndataset:\n  uuid: {uuid}\n  fqn: {fqn}\n  name: intruder\n"
        f"  columns:\n    - name: id\n      data_type: INT\n{extra}"
    )


def _uuid_of(clone: Clone, path: str) -> str:
    return clone.read(path).split("uuid: ", 1)[1].split("\n", 1)[0]


def _column_uuid_of(clone: Clone, path: str) -> str:
    return clone.read(path).split("columns:\n    - uuid: ", 1)[1].split("\n", 1)[0]


@dataclass
class Case:
    """What to push, and the one error expected: path, line, field, part of the message.

    `line` is a number, or a text whose first line in the pushed file is the expected one.
    """

    change: Callable[[Clone, Path], None]
    path: str
    line: int | str | None
    field: str | None
    message: str
    existing: bool = True  # the file belonged to a dataset that must stay as it was


def _replace(path: str, old: str, new: str) -> Callable[[Clone, Path], None]:
    return lambda clone, _: clone.write({path: clone.read(path).replace(old, new, 1)})


def _write(path: str, content: Callable[[Clone], str] | str) -> Callable[[Clone, Path], None]:
    return lambda clone, _: clone.write({path: content(clone) if callable(content) else content})


def _object_tag(clone: Clone, tmp: Path) -> None:
    marker = tmp / "pwned"
    payload = f'!!python/object/apply:os.system ["touch {marker}"]'
    clone.write({BRONZE: clone.read(BRONZE).replace("description: Dataset 1", f"description: {payload}")})


def _unknown_upstream(clone: Clone, _: Path) -> None:
    text = clone.read(BRONZE)
    known = text.split("upstream_column_uuid: ", 1)[1].split("\n", 1)[0]
    bad = "upstream_column_uuid: 00000000-0000-4000-8000-000000000000"
    clone.write({BRONZE: text.replace(f"upstream_column_uuid: {known}", bad, 1)})


def _symlink(target: str) -> Callable[[Clone, Path], None]:
    return lambda clone, _: clone.symlink(NEW, target)


BOMB = (
    "version: '1.0'\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\ndataset: *b\n"
)

CASES: dict[str, Case] = {
    "object-constructing tag": Case(
        _object_tag,
        BRONZE,
        "description:",
        "dataset.description",
        "tag !!python/object/apply:os.system is not allowed",
    ),
    "not YAML at all": Case(_write(BRONZE, "dataset: {uuid: [unclosed\n"), BRONZE, 2, None, "not valid YAML"),
    "binary content": Case(_write(BRONZE, "\x00\x01\x02 binary"), BRONZE, None, None, "binary content"),
    "empty file": Case(_write(BRONZE, ""), BRONZE, None, None, "the file is empty"),
    "a list, not a mapping": Case(_write(BRONZE, "- a\n- b\n"), BRONZE, 1, None, "expected a mapping"),
    "wrong type": Case(
        _replace(BRONZE, "is_nullable: false", "is_nullable: maybe"),
        BRONZE,
        "is_nullable: maybe",
        "dataset.columns[0].is_nullable",
        "valid boolean",
    ),
    "wrong version": Case(
        _replace(BRONZE, "version: '1.0'", "version: '2.0'"), BRONZE, 1, "version", "'1.0'"
    ),
    "unknown field": Case(
        _replace(BRONZE, "  name: model_0001\n", "  name: model_0001\n  nmae: x\n"),
        BRONZE,
        "nmae",
        "dataset.nmae",
        "unknown field",
    ),
    "duplicate key": Case(
        _replace(BRONZE, "  name: model_0001\n", "  name: model_0001\n  name: other\n"),
        BRONZE,
        "name: other",
        "dataset.name",
        "duplicate key",
    ),
    "alias bomb": Case(_write(BRONZE, BOMB), BRONZE, 3, "b[0]", "aliases"),
    "invalid layer": Case(
        _replace(BRONZE, "medallion_layer: Bronze", "medallion_layer: Platinum"),
        BRONZE,
        "Platinum",
        "dataset.medallion_layer",
        "'Gold'",
    ),
    "lineage to an unknown column": Case(
        _unknown_upstream,
        BRONZE,
        "00000000-0000-4000",
        "dataset.lineage[0].upstream_column_uuid",
        "unknown column",
    ),
    "uuid of another dataset": Case(
        _write(NEW, lambda clone: _new_file(_uuid_of(clone, RAW), "gold.x.intruder")),
        NEW,
        3,
        "dataset.uuid",
        "belongs to raw.analytics.model_0000",
        existing=False,
    ),
    "fqn of another dataset": Case(
        _write(NEW, _new_file("99999999-9999-9999-9999-999999999999", "bronze.analytics.model_0001")),
        NEW,
        4,
        "dataset.fqn",
        "belongs to dataset",
        existing=False,
    ),
    "column uuid of another dataset": Case(
        _write(
            NEW,
            lambda clone: _new_file("99999999-9999-9999-9999-999999999999", "gold.x.intruder").replace(
                "    - name: id", f"    - uuid: {_column_uuid_of(clone, RAW)}\n      name: id"
            ),
        ),
        NEW,
        7,
        "dataset.columns[0].uuid",
        "is column col_0 of raw.analytics.model_0000",
        existing=False,
    ),
    "symlink out of the repository": Case(
        _symlink("../../../../../etc/passwd"), NEW, None, None, "symbolic link", existing=False
    ),
    "symlink to another dataset file": Case(
        _symlink("../raw/model_0000.yml"), NEW, None, None, "symbolic link", existing=False
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_rejected_and_changes_nothing(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote, tmp_path: Path, name: str
) -> None:
    case = CASES[name]
    build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    before = catalog_state(catalog_engine, tenant)
    clone = remote.clone
    clone.sync()
    case.change(clone, tmp_path)
    good = clone.read(SILVER).replace("description: Dataset 2", "description: A good edit")
    head = clone.push({SILVER: good}, f"hostile: {name}", sync=False)

    result = pull_workspace(catalog_engine, settings, tenant)

    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    assert error["path"] == case.path and case.message in error["message"], error
    line = case.line
    if isinstance(line, str):
        line = next(i for i, text in enumerate(clone.read(case.path).splitlines(), 1) if line in text)
    assert error["line"] == line and error["field"] == case.field, error
    assert result.updated == ["silver.analytics.model_0002"]  # the good file still applied
    assert result.workspace_sha == head and result.created == [] and result.deleted == []
    after = catalog_state(catalog_engine, tenant)
    assert after["silver.analytics.model_0002"]["dataset"]["description"] == "A good edit"
    assert {k: v for k, v in after.items() if k != "silver.analytics.model_0002"} == {
        k: v for k, v in before.items() if k != "silver.analytics.model_0002"
    }
    assert not (tmp_path / "pwned").exists()
    if case.existing:
        flagged = get_dataset(catalog_engine, tenant, "bronze.analytics.model_0001")
        assert flagged.sync_status == "error" and case.path in (flagged.sync_error_message or "")


def test_files_outside_the_prefix_are_ignored(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    build_catalog(catalog_engine, tenant, datasets=2)
    commit_workspace(catalog_engine, settings, tenant)
    before = catalog_state(catalog_engine, tenant)
    remote.clone.push(
        {
            "elsewhere/model.yml": _new_file("99999999-9999-9999-9999-999999999999", "gold.x.outside"),
            "datasets/notes.md": "not metadata",
        }
    )
    result = pull_workspace(catalog_engine, settings, tenant)
    assert result.errors == [] and result.created == [] and result.ignored == ["datasets/notes.md"]
    assert catalog_state(catalog_engine, tenant) == before


def test_fixing_a_rejected_file_clears_the_error(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote, tmp_path: Path
) -> None:
    build_catalog(catalog_engine, tenant, datasets=2)
    commit_workspace(catalog_engine, settings, tenant)
    clone = remote.clone
    clone.sync()
    original = clone.read(BRONZE)
    clone.push({BRONZE: original.replace("is_nullable: false", "is_nullable: maybe")})
    assert pull_workspace(catalog_engine, settings, tenant).errors
    assert get_dataset(catalog_engine, tenant, "bronze.analytics.model_0001").sync_status == "error"
    clone.push({BRONZE: original.replace("description: Dataset 1", "description: Fixed")})
    result = pull_workspace(catalog_engine, settings, tenant)
    assert result.errors == [] and result.updated == ["bronze.analytics.model_0001"]
    ds = get_dataset(catalog_engine, tenant, "bronze.analytics.model_0001")
    assert ds.sync_status == "synced" and ds.sync_error_message is None and ds.description == "Fixed"


def test_two_files_declaring_one_uuid_are_both_rejected(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    build_catalog(catalog_engine, tenant, datasets=1)
    commit_workspace(catalog_engine, settings, tenant)
    same = "99999999-9999-9999-9999-999999999999"
    remote.clone.push(
        {
            "datasets/gold/a.yml": _new_file(same, "gold.x.a"),
            "datasets/gold/b.yml": _new_file(same, "gold.x.b"),
        }
    )
    result = pull_workspace(catalog_engine, settings, tenant)
    assert [e["path"] for e in result.errors] == ["datasets/gold/a.yml", "datasets/gold/b.yml"]
    assert all("also declared by" in e["message"] for e in result.errors)
    assert result.created == []


def test_what_the_catalog_refuses_is_isolated_to_its_file(
    catalog_engine: Engine, tenant: Tenant, settings: Settings, remote: Remote
) -> None:
    """Two files swapping fqns pass validation but hit the catalog's unique key: the pull retries
    file by file, rejects those two, and still applies the rest."""
    build_catalog(catalog_engine, tenant, datasets=3)
    commit_workspace(catalog_engine, settings, tenant)
    clone = remote.clone
    clone.sync()
    raw, bronze = clone.read(RAW), clone.read(BRONZE)
    swapped_raw = raw.replace("fqn: raw.analytics.model_0000", "fqn: bronze.analytics.model_0001")
    swapped_bronze = bronze.replace("fqn: bronze.analytics.model_0001", "fqn: raw.analytics.model_0000")
    good = clone.read(SILVER).replace("description: Dataset 2", "description: A good edit")
    clone.push({RAW: swapped_raw, BRONZE: swapped_bronze, SILVER: good})
    result = pull_workspace(catalog_engine, settings, tenant)
    assert sorted(e["path"] for e in result.errors) == sorted([RAW, BRONZE])
    assert all("the catalog refused it" in e["message"] for e in result.errors)
    assert result.updated == ["silver.analytics.model_0002"]
    state = catalog_state(catalog_engine, tenant)
    assert state["silver.analytics.model_0002"]["dataset"]["description"] == "A good edit"
    assert state["raw.analytics.model_0000"]["dataset"]["name"] == "model_0000"
