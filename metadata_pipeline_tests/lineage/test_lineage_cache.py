"""The lineage cache: a warm run gives exactly what a cold run gives, whatever changed in between."""

from __future__ import annotations

import marshal
import pickle
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from metadata_pipeline.ingest.extraction import ColumnInfo, DbtObject, Dependency, Extraction
from metadata_pipeline.lineage import ColumnEdge, ProjectLineage, compute_project_lineage, project_lineage
from metadata_pipeline.lineage import cache as cache_module
from metadata_pipeline.lineage.edges import EdgeList
from metadata_pipeline_tests.lineage.shop_project import (
    DB,
    FCT_ORDERS,
    INT_ORDERS,
    MART,
    SRC_CUSTOMERS,
    SRC_ORDERS,
    STG_CUSTOMERS,
    STG_ORDERS,
    shop_extraction,
)

Change = Callable[[Extraction], Extraction]


def _objects(change: Callable[[Any], Any], *uids: str) -> Change:
    def apply(extraction: Extraction) -> Extraction:
        objects = [change(o) if o.unique_id in uids else o for o in extraction.objects]
        return replace(extraction, objects=objects)

    return apply


def _sql(uid: str, edit: Callable[[str], str]) -> Change:
    return _objects(lambda o: replace(o, compiled_sql=edit(o.compiled_sql)), uid)


def _declared(uid: str, *names: str) -> Change:
    columns = [ColumnInfo(name=n, data_type=None, position=i) for i, n in enumerate(names)]
    return _objects(lambda o: replace(o, declared_columns=columns), uid)


def _catalog(uid: str, columns: list[tuple[str, str]] | None) -> Change:
    infos = (
        None
        if columns is None
        else [ColumnInfo(n, t, position=i, source="catalog") for i, (n, t) in enumerate(columns)]
    )
    return _objects(lambda o: replace(o, catalog_columns=infos), uid)


# Each changes something a cached result depends on, in a different way: a model's SQL with or
# without a change to its columns, the display names (schema.yml) of a model others read (the
# statement keys of its readers stay the same, the edges they resolve do not), a catalog's types
# and columns, a source leaving the catalog, and a model leaving the project.
CHANGES: dict[str, Change] = {
    "comment": _sql(FCT_ORDERS, lambda sql: sql + "\n-- touched"),
    "filter": _sql(FCT_ORDERS, lambda sql: sql + "\nwhere o.amount_cents > 0"),
    "renamed_output": _sql(FCT_ORDERS, lambda sql: sql.replace("as customer_name", "as buyer")),
    "upstream_display_names": _declared(STG_ORDERS, "Order_ID", "Customer_ID", "Amount", "Status"),
    "catalog_types": _catalog(
        SRC_ORDERS, [("id", "bigint"), ("customer_id", "bigint"), ("amount", "double"), ("status", "text")]
    ),
    "catalog_column_added": _catalog(
        SRC_CUSTOMERS, [("customer_id", "integer"), ("full_name", "text"), ("email", "text")]
    ),
    "source_leaves_catalog": _catalog(SRC_CUSTOMERS, None),
    "model_removed": lambda e: replace(
        e,
        objects=[o for o in e.objects if o.unique_id != MART],
        dependencies=[d for d in e.dependencies if MART not in (d.source, d.target)],
    ),
}


def _outcome(lineage: ProjectLineage) -> dict[str, Any]:
    """Everything a run produces except its timings and cache counters."""
    stats = {
        k: v
        for k, v in lineage.stats.items()
        if k not in ("seconds", "analysis_seconds", "analyzed", "cache_hits", "replayed")
    }
    return {
        "edges": [repr(e) for e in lineage.edges],
        "statements": {uid: s.to_dict() for uid, s in lineage.statements.items()},
        "schemas": {uid: (s.source, list(s.columns.items())) for uid, s in lineage.schemas.items()},
        "errors": list(lineage.errors),
        "stats": stats,
    }


@pytest.mark.parametrize("with_catalog", [True, False], ids=["catalog", "no_catalog"])
@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_warm_run_after_a_change_equals_a_cold_run(tmp_path: Path, with_catalog: bool, change: str) -> None:
    before = shop_extraction(with_catalog=with_catalog)
    after = CHANGES[change](before)
    compute_project_lineage(before, cache_dir=tmp_path / "cache", workers=1)
    warm = compute_project_lineage(after, cache_dir=tmp_path / "cache", workers=1)
    cold = compute_project_lineage(after, cache_dir=tmp_path / "fresh", workers=1)
    assert _outcome(warm) == _outcome(cold)
    assert warm.stats["analyzed"] < cold.stats["analyzed"] or change == "model_removed"
    # And the run after that replays everything, still with the same outcome.
    again = compute_project_lineage(after, cache_dir=tmp_path / "cache", workers=1)
    assert (again.stats["analyzed"], again.stats["replayed"]) == (0, again.stats["models"])
    assert _outcome(again) == _outcome(cold)


def test_display_names_from_schema_yml_reach_readers_of_a_cached_model(tmp_path: Path) -> None:
    extraction = shop_extraction(with_catalog=False)
    compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    renamed = CHANGES["upstream_display_names"](extraction)
    warm = compute_project_lineage(renamed, cache_dir=tmp_path, workers=1)
    sources = {e.source for e in warm.edges if e.target == f"{INT_ORDERS}.amount_cents"}
    assert f"{STG_ORDERS}.Amount" in sources
    # No statement changed, so none is analysed again; but stg_orders (its own schema.yml) and
    # int_orders (the names it reads) are absorbed afresh instead of replayed.
    assert (warm.stats["analyzed"], warm.stats["replayed"]) == (0, 3)


def test_log_appends_then_folds_into_the_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "_COMPACT_MIN_BYTES", 0)
    extraction = shop_extraction()
    compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    projects = tmp_path / "projects"
    (base,) = projects.glob("*.m")
    assert base.with_suffix(".log").stat().st_size == 0  # created empty with the base
    # Small changes append to the log; once the log outgrows a quarter of the base it is folded in.
    sizes = []
    for n in range(1, 12):
        changed = _sql(MART, lambda sql, n=n: sql + f"\n-- change {n}")(extraction)
        lineage = compute_project_lineage(changed, cache_dir=tmp_path, workers=1)
        assert lineage.stats["analyzed"] == 1
        log = base.with_suffix(".log")
        sizes.append(log.stat().st_size if log.exists() else 0)
    assert any(sizes) and 0 in sizes[sizes.index(next(s for s in sizes if s)) :]
    replayed = compute_project_lineage(changed, cache_dir=tmp_path, workers=1)
    assert replayed.stats["analyzed"] == 0
    assert _outcome(replayed) == _outcome(compute_project_lineage(changed, workers=1))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "torn_log"])
def test_damaged_cache_files_only_cost_time(tmp_path: Path, damage: str) -> None:
    extraction = shop_extraction()
    reference = _outcome(compute_project_lineage(extraction, workers=1))
    compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    (base,) = (tmp_path / "projects").glob("*.m")
    expect_analyzed = 5
    if damage == "garbage":
        base.write_bytes(b"\x00not marshal at all")
    elif damage == "truncated":
        base.write_bytes(base.read_bytes()[: base.stat().st_size // 2])
    else:
        # A run killed mid-append leaves part of an entry after whole ones: those still count.
        changed = _sql(FCT_ORDERS, lambda sql: sql + "\n-- once")(extraction)
        compute_project_lineage(changed, cache_dir=tmp_path, workers=1)
        log = base.with_suffix(".log")
        with log.open("ab") as handle:
            handle.write(b"\xdb\x02partial")
        extraction, expect_analyzed = changed, 0
    lineage = compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    assert lineage.stats["analyzed"] == expect_analyzed
    assert _outcome(lineage)["edges"] == reference["edges"] or damage == "torn_log"


def test_timeouts_are_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = project_lineage.statement_lineage

    def slow_mart(sql: str, *args: Any, **kwargs: Any) -> Any:
        result = real(sql, *args, **kwargs)
        if "fct_orders" in sql and sql.startswith("select *"):
            result.errors.append("timeout: lineage took longer than 10s")
        return result

    monkeypatch.setattr(project_lineage, "statement_lineage", slow_mart)
    compute_project_lineage(shop_extraction(), cache_dir=tmp_path, workers=1)
    monkeypatch.setattr(project_lineage, "statement_lineage", real)
    again = compute_project_lineage(shop_extraction(), cache_dir=tmp_path, workers=1)
    assert again.stats["analyzed"] == 1
    assert again.errors == []


def test_edge_list_is_a_sequence_of_column_edges() -> None:
    edges = EdgeList()
    first = ColumnEdge("model.p.a.x", "source.p.s.t.x", "Direct")
    edges.append(first)
    edges.add_rows([("model.p.a.y", None, "Calculated", "direct", "1", 1.0, None)], direct=1)
    rows = [("model.p.a.x", "source.p.s.t.f", "Direct", "indirect", None, 0.9, "filter")]
    edges.add_encoded(cache_module.dumps(rows) or b"", count=1, direct=0)
    assert (len(edges), edges.direct_count, edges.indirect_count) == (3, 2, 1)
    assert edges[0] == first and edges[-1].role == "filter"
    assert [e.target for e in edges[1:]] == ["model.p.a.y", "model.p.a.x"]
    assert edges == list(edges)
    assert pickle.loads(pickle.dumps(edges)) == edges
    edges.append(ColumnEdge("model.p.b.z", None, "Calculated"))  # after reading: still in order
    assert [e.target for e in edges][-1] == "model.p.b.z" and len(edges) == 4


def test_a_replayed_result_pickles_like_a_computed_one(tmp_path: Path) -> None:
    # Dagster's IO manager pickles run outputs; cached edges and statements are marshal bytes inside.
    extraction = shop_extraction()
    compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    warm = compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    assert warm.stats["replayed"] == 5
    restored = pickle.loads(pickle.dumps(warm))
    assert _outcome(restored) == _outcome(warm)
    assert restored.statements[STG_CUSTOMERS].columns


# ------------------------------------------------------------------- incremental runs
# A warm run restores every model whose inputs are unchanged and takes only the others down the
# per-model path; these pin down which models that is, and that the result is a cold run's.


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement analysed from here on (workers=1: all in this process)."""
    seen: list[str] = []
    real = project_lineage.analyze_task

    def spy(task: Any) -> Any:
        seen.append(task.sql)
        return real(task)

    monkeypatch.setattr(project_lineage, "analyze_task", spy)
    return seen


def _uids(extraction: Extraction, sqls: list[str]) -> set[str]:
    by_sql = {o.compiled_sql: o.unique_id for o in extraction.objects if o.compiled_sql}
    return {by_sql[sql] for sql in sqls}


def _warm_and_cold(tmp_path: Path, before: Extraction, after: Extraction, analysed: list[str]) -> set[str]:
    """Runs `before` into a cache, then `after` warm and cold: asserts they agree and returns the
    models the warm run analysed."""
    compute_project_lineage(before, cache_dir=tmp_path / "cache", workers=1)
    analysed.clear()
    warm = compute_project_lineage(after, cache_dir=tmp_path / "cache", workers=1)
    redone = _uids(after, analysed)
    cold = compute_project_lineage(after, workers=1)
    assert _outcome(warm) == _outcome(cold)
    assert warm.stats["analyzed"] == len(redone)
    assert warm.stats["cache_hits"] + warm.stats["analyzed"] == warm.stats["models"]
    return redone


@pytest.mark.parametrize("with_catalog", [True, False], ids=["catalog", "no_catalog"])
def test_a_leaf_given_a_column_is_the_only_model_analysed_again(
    tmp_path: Path, with_catalog: bool, analysed: list[str]
) -> None:
    before = shop_extraction(with_catalog=with_catalog)
    after = _sql(MART, lambda sql: sql.replace("select *", "select *, 1 as touched"))(before)
    assert _warm_and_cold(tmp_path, before, after, analysed) == {MART}


def test_an_upstream_model_whose_columns_change_is_analysed_again_with_its_readers(
    tmp_path: Path, analysed: list[str]
) -> None:
    before = shop_extraction(with_catalog=False)
    after = _sql(FCT_ORDERS, lambda sql: sql.replace("o.amount_cents\n", "o.amount_cents, 1 as extra\n"))(
        before
    )
    assert "extra" in after.by_id()[FCT_ORDERS].compiled_sql
    # The mart is `select * from fct_orders`: it now has the new column too.
    assert _warm_and_cold(tmp_path, before, after, analysed) == {FCT_ORDERS, MART}
    assert "extra" in compute_project_lineage(after, cache_dir=tmp_path / "cache").schemas[MART].columns


def test_a_model_whose_sql_changes_but_not_what_readers_see_of_it_is_analysed_alone(
    tmp_path: Path, analysed: list[str]
) -> None:
    # Under a catalog, readers see fct_orders' catalog columns, whatever its SQL says.
    before = shop_extraction(with_catalog=True)
    after = _sql(FCT_ORDERS, lambda sql: sql.replace("o.amount_cents\n", "o.amount_cents, 1 as extra\n"))(
        before
    )
    assert _warm_and_cold(tmp_path, before, after, analysed) == {FCT_ORDERS}


def test_declared_columns_of_a_source_redo_its_readers(tmp_path: Path, analysed: list[str]) -> None:
    before = shop_extraction(with_catalog=False)
    after = _declared(SRC_ORDERS, "id", "customer_id", "amount", "status", "placed_at")(before)
    assert STG_ORDERS in _warm_and_cold(tmp_path, before, after, analysed)


@pytest.mark.parametrize("change", ["catalog_types", "catalog_column_added", "source_leaves_catalog"])
def test_catalog_columns_of_a_source_redo_its_readers(
    tmp_path: Path, change: str, analysed: list[str]
) -> None:
    before = shop_extraction(with_catalog=True)
    reader = STG_ORDERS if change == "catalog_types" else STG_CUSTOMERS
    assert reader in _warm_and_cold(tmp_path, before, CHANGES[change](before), analysed)


def _seed_project(root: Path, header: str) -> Extraction:
    """A seed with no declared columns (its schema is its CSV file's header) and two readers."""
    (root / "seeds").mkdir(parents=True, exist_ok=True)
    (root / "seeds" / "countries.csv").write_text(f"{header}\nNL,Netherlands,EU\n")
    seed = DbtObject(
        "seed.shop.countries",
        "countries",
        "seed",
        database=DB,
        schema="main",
        alias="countries",
        original_file_path="seeds/countries.csv",
    )
    star = DbtObject(
        "model.shop.all_countries",
        "all_countries",
        "model",
        database=DB,
        schema="main",
        alias="all_countries",
        compiled_sql=f'select * from "{DB}"."main"."countries"',
    )
    named = DbtObject(
        "model.shop.country_names",
        "country_names",
        "model",
        database=DB,
        schema="main",
        alias="country_names",
        compiled_sql=f'select code, upper(name) as name from "{DB}"."main"."countries"',
    )
    return Extraction(
        project_name="seeds",
        project_root=str(root),
        tier="GOLD",
        objects=[seed, star, named],
        dependencies=[
            Dependency(source=star.unique_id, target=seed.unique_id, extracted_from="manifest"),
            Dependency(source=named.unique_id, target=seed.unique_id, extracted_from="manifest"),
        ],
        adapter_type="duckdb",
    )


def test_a_seed_file_whose_header_changes_redoes_its_readers(tmp_path: Path, analysed: list[str]) -> None:
    root = tmp_path / "project"
    before = _seed_project(root, "code,name,region")
    compute_project_lineage(before, cache_dir=tmp_path / "cache", workers=1)
    after = _seed_project(root, "code,name,region,currency")  # (the same objects: only the file changed)
    analysed.clear()
    warm = compute_project_lineage(after, cache_dir=tmp_path / "cache", workers=1)
    assert _uids(after, analysed) == {"model.shop.all_countries", "model.shop.country_names"}
    assert "currency" in warm.schemas["model.shop.all_countries"].columns
    assert _outcome(warm) == _outcome(compute_project_lineage(after, workers=1))


def test_an_old_format_snapshot_means_a_cold_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extraction = shop_extraction()
    with monkeypatch.context() as m:
        m.setattr(cache_module, "BUILD", cache_module.BUILD.replace(f"{cache_module.LAYOUT}\x1f", "6\x1f", 1))
        compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    lineage = compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    assert (lineage.stats["analyzed"], lineage.stats["replayed"]) == (5, 0)
    assert _outcome(lineage) == _outcome(compute_project_lineage(extraction, workers=1))


def test_entries_of_another_shape_mean_a_cold_run(tmp_path: Path) -> None:
    extraction = shop_extraction()
    compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    (base,) = (tmp_path / "projects").glob("*.m")
    build, records = marshal.loads(base.read_bytes())
    # What layout 6 stored: (statement key, ...) per analysed model only.
    base.write_bytes(marshal.dumps((build, {uid: ("key", "context") for uid in records})))
    lineage = compute_project_lineage(extraction, cache_dir=tmp_path, workers=1)
    assert (lineage.stats["analyzed"], lineage.stats["replayed"]) == (5, 0)
    assert _outcome(lineage) == _outcome(compute_project_lineage(extraction, workers=1))


def test_a_stale_entry_is_only_a_miss(tmp_path: Path, analysed: list[str]) -> None:
    # Entries validate themselves: a model is restored only if the nodes it read still look as they
    # did when its record was made, whichever run wrote which entry (concurrent runs, a log
    # repeating an older entry over a newer base...).
    v1 = shop_extraction(with_catalog=False)
    v2 = CHANGES["renamed_output"](v1)
    compute_project_lineage(v1, cache_dir=tmp_path, workers=1)
    snapshot = cache_module.LineageCache(tmp_path).snapshot(project_lineage._ProjectRun.identity_of(v1, True))
    fct_v1 = snapshot.get(FCT_ORDERS)
    compute_project_lineage(v2, cache_dir=tmp_path, workers=1)  # fct_orders and the mart, as of v2
    snapshot = cache_module.LineageCache(tmp_path).snapshot(project_lineage._ProjectRun.identity_of(v1, True))
    snapshot.put(FCT_ORDERS, fct_v1)  # fct_orders as of v1 again; the mart's entry is still v2's
    snapshot.save()
    analysed.clear()
    lineage = compute_project_lineage(v1, cache_dir=tmp_path, workers=1)
    # fct_orders' entry matches v1 and is restored; the mart's was made reading fct_orders as of v2.
    assert _uids(v1, analysed) == {MART}
    assert _outcome(lineage) == _outcome(compute_project_lineage(v1, workers=1))


def test_a_model_reading_a_table_it_does_not_depend_on_follows_that_tables_names(
    tmp_path: Path, analysed: list[str]
) -> None:
    # fct_orders names stg_customers in its SQL without a recorded dependency: its statement is
    # analysed without that table's columns, but its edges resolve to it and use its display names.
    def without_dependency(extraction: Extraction) -> Extraction:
        dependencies = [
            d for d in extraction.dependencies if (d.source, d.target) != (FCT_ORDERS, STG_CUSTOMERS)
        ]
        return replace(extraction, dependencies=dependencies)

    before = without_dependency(_declared(STG_CUSTOMERS, "customer_id", "full_name")(shop_extraction(False)))
    after = _declared(STG_CUSTOMERS, "Customer_ID", "Full_Name")(before)
    # Nothing is analysed again: stg_customers and fct_orders are absorbed again from their records.
    assert _warm_and_cold(tmp_path, before, after, analysed) == set()
    edges = compute_project_lineage(after, cache_dir=tmp_path / "cache", workers=1).edges
    assert f"{STG_CUSTOMERS}.Full_Name" in {e.source for e in edges if e.target_model == FCT_ORDERS}
