"""SILVER: a dbt project read from its files, Jinja rendered by us, dependencies as dbt names them."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata_pipeline.ingest import TIER_CONFIDENCE, Extraction, read_dbt_project
from metadata_pipeline_tests.ingest.builders import write_files

BASE_PROJECT = {
    "dbt_project.yml": """
        name: shop
        profile: shop
        vars:
          start_date: '2020-01-01'
          shop:
            region: eu
        models:
          shop:
            staging:
              +schema: stg
            marts:
              +materialized: table
            legacy:
              +enabled: false
    """,
    "models/staging/sources.yml": """
        version: 2
        sources:
          - name: raw
            schema: landing
            tables:
              - name: orders
              - name: customers
                identifier: customer_table
                description: "{{ doc('customers') }}"
        models:
          - name: stg_orders
            description: Orders, cleaned.
            columns:
              - name: order_id
                description: The key.
                data_type: int
          - name: dim
            latest_version: 2
            versions:
              - v: 1
              - v: 2
        exposures:
          - name: board
            depends_on: ["ref('stg_orders')", "source('raw', 'customers')"]
    """,
    "models/staging/docs.md": """
        {% docs customers %}People who buy things.{% enddocs %}
    """,
    "models/staging/stg_orders.sql": "select * from {{ source('raw', 'orders') }}",
    "models/staging/stg_customers.sql": "select * from {{ source('raw', 'customers') }}",
    "models/staging/dim_v1.sql": "select 1 as id",
    "models/staging/dim_v2.sql": "select 2 as id",
    "models/legacy/old.sql": "select * from {{ ref('stg_orders') }}",
    "seeds/countries.csv": "code,name\nfr,France\n",
    "snapshots/orders_snapshot.sql": """
        {% snapshot orders_snapshot %}
        {{ config(target_schema='snapshots', unique_key='order_id', strategy='check', check_cols='all') }}
        select * from {{ ref('stg_orders') }}
        {% endsnapshot %}
    """,
    "macros/helpers.sql": """
        {% macro orders_relation() %}
          {{ return(ref('stg_orders')) }}
        {% endmacro %}

        {% macro cents(column) %}
          {{ return(adapter.dispatch('cents')(column)) }}
        {% endmacro %}

        {% macro default__cents(column) %}({{ column }} * 100){% endmacro %}

        {% test positive(model, column_name) %}select 1{% endtest %}
    """,
    "dbt_packages/utils/dbt_project.yml": "name: utils\n",
    "dbt_packages/utils/models/calendar.sql": "select current_date as day",
    "dbt_packages/utils/macros/calendar_ref.sql": """
        {% macro calendar_relation() %}{{ return(ref('calendar')) }}{% endmacro %}
    """,
}


def extract(tmp_path: Path, extra: dict[str, str] | None = None) -> Extraction:
    return read_dbt_project(write_files(tmp_path / "project", {**BASE_PROJECT, **(extra or {})}))


def targets(extraction: Extraction, source: str) -> set[str]:
    return {d.target for d in extraction.dependencies if d.source == source}


# Every way a model can name its upstreams, and the unique_ids dbt gives them.
REFERENCE_CASES = [
    ("plain ref", "select * from {{ ref('stg_orders') }}", {"model.shop.stg_orders"}),
    ("double-quoted ref", 'select * from {{ ref("stg_orders") }}', {"model.shop.stg_orders"}),
    ("ref with package", "select * from {{ ref('shop', 'stg_orders') }}", {"model.shop.stg_orders"}),
    ("ref into an installed package", "select * from {{ ref('calendar') }}", {"model.utils.calendar"}),
    ("ref naming an absent package", "select * from {{ ref('elsewhere', 'thing') }}", {"model.elsewhere.thing"}),
    ("ref to a seed", "select * from {{ ref('countries') }}", {"seed.shop.countries"}),
    ("ref to a snapshot", "select * from {{ ref('orders_snapshot') }}", {"snapshot.shop.orders_snapshot"}),
    ("ref to latest version", "select * from {{ ref('dim') }}", {"model.shop.dim.v2"}),
    ("ref with version=", "select * from {{ ref('dim', version=1) }}", {"model.shop.dim.v1"}),
    ("ref with v=", "select * from {{ ref('dim', v='1') }}", {"model.shop.dim.v1"}),
    ("source", "select * from {{ source('raw', 'orders') }}", {"source.shop.raw.orders"}),
    ("ref in a SQL comment", "-- depends_on: {{ ref('stg_orders') }}\nselect 1", {"model.shop.stg_orders"}),
    ("ref made by a project macro", "select * from {{ orders_relation() }}", {"model.shop.stg_orders"}),
    ("ref made by a package macro", "select * from {{ utils.calendar_relation() }}", {"model.utils.calendar"}),
    ("ref passed to an unknown macro", "select {{ dbt_utils.star(from=ref('stg_orders')) }} from x", {"model.shop.stg_orders"}),
    ("ref in a loop", "{% for m in ['stg_orders', 'stg_customers'] %}select * from {{ ref(m) }}{% if not loop.last %} union all {% endif %}{% endfor %}",
     {"model.shop.stg_orders", "model.shop.stg_customers"}),
    ("ref behind a var", "select * from {{ ref(var('upstream', 'stg_customers')) }}", {"model.shop.stg_customers"}),
    ("both branches of is_incremental",
     "select * from {{ ref('stg_orders') }}\n{% if is_incremental() %}where id > (select max(id) from {{ ref('stg_customers') }}){% endif %}",
     {"model.shop.stg_orders", "model.shop.stg_customers"}),
    ("refs inside `if execute` are not dependencies (as in dbt parse)",
     "{% if execute %}{{ ref('stg_customers') }}{% endif %}select * from {{ ref('stg_orders') }}", {"model.shop.stg_orders"}),
    ("unknown macros and namespaces do not fail",
     "select {{ fivetran_utils.fill_staging_columns(source_columns=[]) }}, {{ my_missing_macro(1) }} from {{ ref('stg_orders') }}",
     {"model.shop.stg_orders"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "sql", "expected"), REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES])
def test_reference_forms(tmp_path: Path, case: str, sql: str, expected: set[str]) -> None:
    extraction = extract(tmp_path, {"models/marts/subject.sql": sql})

    assert targets(extraction, "model.shop.subject") == expected
    assert not [e for e in extraction.errors if e.unique_id == "model.shop.subject" and e.kind == "jinja"]


def test_the_base_project_objects_and_edges(tmp_path: Path) -> None:
    extraction = extract(tmp_path)

    assert extraction.tier == "SILVER" and extraction.project_name == "shop"
    assert {(d.source, d.target) for d in extraction.dependencies} == {
        ("model.shop.stg_orders", "source.shop.raw.orders"),
        ("model.shop.stg_customers", "source.shop.raw.customers"),
        ("snapshot.shop.orders_snapshot", "model.shop.stg_orders"),
        ("exposure.shop.board", "model.shop.stg_orders"),
        ("exposure.shop.board", "source.shop.raw.customers"),
    }
    kinds = {o.unique_id: o.resource_type for o in extraction.objects}
    assert kinds["seed.shop.countries"] == "seed"
    assert kinds["model.utils.calendar"] == "model"
    assert kinds["source.shop.raw.customers"] == "source"
    assert all(
        d.tier == "SILVER" and d.confidence == TIER_CONFIDENCE["SILVER"] for d in extraction.dependencies
    )
    assert all(o.tier == "SILVER" for o in extraction.objects)


def test_folder_config_disables_models_and_their_edges(tmp_path: Path) -> None:
    extraction = extract(tmp_path)

    assert extraction.by_id()["model.shop.old"].enabled is False
    assert targets(extraction, "model.shop.old") == set()


def test_config_calls_and_project_config_are_captured(tmp_path: Path) -> None:
    sql = """
        {{ config(materialized='incremental', alias='fct_orders', schema='finance', tags=['daily']) }}
        select * from {{ ref('stg_orders') }}
    """
    obj = extract(tmp_path, {"models/marts/orders.sql": sql}).by_id()["model.shop.orders"]

    assert (obj.materialization, obj.alias, obj.schema) == ("incremental", "fct_orders", "analytics_finance")
    assert obj.tags == ["daily"]


def test_config_enabled_false_in_the_file_disables(tmp_path: Path) -> None:
    sql = "{{ config(enabled=var('feature_on', false)) }} select * from {{ ref('stg_orders') }}"
    extraction = extract(tmp_path, {"models/marts/feature.sql": sql})

    assert extraction.by_id()["model.shop.feature"].enabled is False
    assert targets(extraction, "model.shop.feature") == set()


def test_compiled_sql_renders_relations_vars_and_placeholders(tmp_path: Path) -> None:
    sql = """
        select {{ dbt_utils.generate_surrogate_key(['a', 'b']) }} as k, {{ cents('amount') }} as c,
               {{ unknown_macro() }} as u, '{{ var("start_date") }}' as d, '{{ var("region") }}' as r
        from {{ ref('stg_customers') }} join {{ source('raw', 'customers') }} using (id)
        where {{ this }} is not null
    """
    extraction = extract(tmp_path, {"models/marts/report.sql": sql})
    report = extraction.by_id()["model.shop.report"]
    compiled = report.compiled_sql or ""

    assert "from analytics_stg.stg_customers join landing.customer_table" in compiled
    assert "md5(coalesce(cast(a as varchar), '') || '-' || coalesce(cast(b as varchar), ''))" in compiled
    assert "(amount * 100) as c" in compiled and "NULL as u" in compiled
    assert "'2020-01-01' as d" in compiled and "'eu' as r" in compiled
    assert f"where {report.relation_name} is not null" in compiled


def test_relation_names_agree_with_the_sql_that_references_them(tmp_path: Path) -> None:
    extraction = extract(tmp_path, {"models/marts/a.sql": "select * from {{ ref('stg_orders') }}"})
    objects = extraction.by_id()

    assert objects["model.shop.stg_orders"].relation_name == "analytics_stg.stg_orders"
    assert objects["model.shop.a"].compiled_sql == "select * from analytics_stg.stg_orders"
    assert objects["snapshot.shop.orders_snapshot"].relation_name == "snapshots.orders_snapshot"
    assert objects["model.shop.dim.v2"].alias == "dim_v2"


def test_a_project_generate_schema_name_is_honoured(tmp_path: Path) -> None:
    macro = """
        {% macro generate_schema_name(custom_schema_name, node) %}
          {{ custom_schema_name or target.schema }}
        {% endmacro %}
    """
    extraction = extract(tmp_path, {"macros/schema.sql": macro})

    assert extraction.by_id()["model.shop.stg_orders"].schema == "stg"


@pytest.mark.parametrize(
    ("sql", "line"),
    [
        ("select 1\nfrom {{ ref('stg_orders' }}\n", 2),
        ("select 1,\n  2,\n  {{ (1 / 0) }}\n", 3),
        ("select 1\n{% endif %}\n", 2),
    ],
)
def test_unrenderable_jinja_is_an_error_with_file_and_line(tmp_path: Path, sql: str, line: int) -> None:
    extraction = extract(tmp_path, {"models/marts/broken.sql": sql})

    [error] = [e for e in extraction.errors if e.unique_id == "model.shop.broken"]
    assert (error.kind, error.file, error.line) == ("jinja", "models/marts/broken.sql", line)
    assert "model.shop.stg_orders" in extraction.by_id()  # the rest of the project is extracted
    assert extraction.by_id()["model.shop.broken"].compiled_sql is None


def test_literal_refs_of_an_unrenderable_model_are_kept_at_lower_confidence(tmp_path: Path) -> None:
    sql = "select * from {{ ref('stg_orders') }}\n{% if %}"
    extraction = extract(tmp_path, {"models/marts/broken.sql": sql})

    [edge] = [d for d in extraction.dependencies if d.source == "model.shop.broken"]
    assert edge.target == "model.shop.stg_orders" and edge.confidence == TIER_CONFIDENCE["BRONZE"]


def test_unresolvable_refs_are_reported_and_undeclared_sources_kept(tmp_path: Path) -> None:
    sql = "select * from {{ ref('not_there') }} join {{ source('crm', 'accounts') }} using (id)"
    extraction = extract(tmp_path, {"models/marts/m.sql": sql})

    assert targets(extraction, "model.shop.m") == {"source.shop.crm.accounts"}
    messages = [e.message for e in extraction.errors if e.unique_id == "model.shop.m"]
    assert any("ref('not_there')" in m for m in messages)
    assert any("source('crm', 'accounts')" in m for m in messages)


def test_env_var_never_reads_the_real_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SECRET", "hunter2")
    sql = "select '{{ env_var('SHOP_SECRET') }}' as a, '{{ env_var('SHOP_SCHEMA', 'dflt') }}' as b"
    compiled = extract(tmp_path, {"models/marts/env.sql": sql}).by_id()["model.shop.env"].compiled_sql or ""

    assert "hunter2" not in compiled and "'dflt' as b" in compiled


def test_yaml_docs_columns_and_doc_blocks(tmp_path: Path) -> None:
    objects = extract(tmp_path).by_id()

    stg = objects["model.shop.stg_orders"]
    assert stg.description == "Orders, cleaned."
    assert [(c.name, c.data_type, c.source) for c in stg.declared_columns] == [("order_id", "int", "yaml")]
    customers = objects["source.shop.raw.customers"]
    assert (customers.description, customers.alias, customers.schema) == (
        "People who buy things.",
        "customer_table",
        "landing",
    )


def test_python_models_take_literal_dbt_ref_and_source(tmp_path: Path) -> None:
    code = """
        def model(dbt, session):
            dbt.config(materialized="table")
            orders = dbt.ref("stg_orders")
            raw = dbt.source("raw", "customers")
            return orders
    """
    extraction = extract(tmp_path, {"models/marts/py_orders.py": code})

    assert targets(extraction, "model.shop.py_orders") == {
        "model.shop.stg_orders",
        "source.shop.raw.customers",
    }
    assert extraction.by_id()["model.shop.py_orders"].materialization == "table"


def test_yaml_snapshots_depend_on_their_relation(tmp_path: Path) -> None:
    yaml_snapshot = """
        snapshots:
          - name: customers_snapshot
            relation: source('raw', 'customers')
            config: {unique_key: id, strategy: timestamp, updated_at: updated_at}
    """
    extraction = extract(tmp_path, {"snapshots/snapshots.yml": yaml_snapshot})

    assert targets(extraction, "snapshot.shop.customers_snapshot") == {"source.shop.raw.customers"}


def test_broken_yaml_is_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    extraction = extract(tmp_path, {"models/marts/bad.yml": "models:\n  - name: [unclosed\n"})

    [error] = [e for e in extraction.errors if e.file == "models/marts/bad.yml"]
    assert error.kind == "project" and error.line is not None
    assert "model.shop.stg_orders" in extraction.by_id()


def test_a_broken_macro_is_reported_and_only_its_callers_suffer(tmp_path: Path) -> None:
    extraction = extract(tmp_path, {"macros/broken.sql": "{% macro bad() %}{{ oops( }}{% endmacro %}"})

    assert [e.file for e in extraction.errors if e.kind == "jinja"] == ["macros/broken.sql"]
    assert targets(extraction, "model.shop.stg_orders") == {"source.shop.raw.orders"}


def test_a_var_holding_jinja_is_rendered_for_the_calling_model(tmp_path: Path) -> None:
    project = BASE_PROJECT["dbt_project.yml"].replace(
        "start_date: '2020-01-01'",
        "start_date: '2020-01-01'\n          orders_input: \"{{ ref('stg_orders') }}\"",
    )
    sql = "select * from {{ var('orders_input') }}"
    extraction = extract(tmp_path, {"dbt_project.yml": project, "models/marts/uses_var.sql": sql})

    assert targets(extraction, "model.shop.uses_var") == {"model.shop.stg_orders"}
    assert extraction.by_id()["model.shop.uses_var"].compiled_sql == "select * from analytics_stg.stg_orders"


@pytest.mark.parametrize(
    ("adapter", "expected"),
    [("postgres", 'from "raw-db".landing.orders'), ("bigquery", "from `raw-db`.landing.orders")],
)
def test_names_that_need_quoting_are_quoted_the_warehouse_way(
    tmp_path: Path, adapter: str, expected: str
) -> None:
    sources = (
        "sources:\n  - name: raw\n    database: raw-db\n    schema: landing\n    tables: [{name: orders}]\n"
    )
    files = {
        **BASE_PROJECT,
        "models/staging/sources.yml": sources,
        "models/a.sql": "select * from {{ source('raw', 'orders') }}",
    }
    extraction = read_dbt_project(write_files(tmp_path / "p", files), adapter_type=adapter)

    assert extraction.adapter_type == adapter
    assert expected in (extraction.by_id()["model.shop.a"].compiled_sql or "")


def test_a_local_package_from_packages_yml_is_read(tmp_path: Path) -> None:
    write_files(tmp_path, {"core/dbt_project.yml": "name: core\n", "core/models/base.sql": "select 1 as id"})
    files = {
        "dbt_project.yml": "name: harness\n",
        "packages.yml": "packages:\n  - local: ../core\n",
        "models/top.sql": "select * from {{ ref('base') }}",
    }
    extraction = read_dbt_project(write_files(tmp_path / "harness", files))

    assert targets(extraction, "model.harness.top") == {"model.core.base"}


def test_macro_like_text_in_comments_is_not_a_macro(tmp_path: Path) -> None:
    macros = "{# {% macro orders_relation() %}{{ return(ref('stg_customers')) }}{% endmacro %} #}\n"
    extraction = extract(
        tmp_path, {"macros/commented.sql": macros, "models/m.sql": "select * from {{ orders_relation() }}"}
    )

    assert targets(extraction, "model.shop.m") == {"model.shop.stg_orders"}
