"""dbt's built-in macros and namespaces, answered without a warehouse.

Cross-database macros (dbt.*, dbt_utils.*) render as plain SQL that keeps column references visible
to lineage; generate_*_name follow dbt's defaults; the adapter dispatches to the project's own
macros and answers every warehouse question with "nothing there".
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
import yaml

from metadata_pipeline.ingest.jinja_values import PermissiveUndefined, Relation, TargetInfo
from metadata_pipeline.ingest.yaml_files import load_yaml_text

# --- the adapter and the dbt / dbt_utils namespaces -------------------------------------------

# Macros dbt or dbt_utils ship that shape SQL around column references; rendering them as plain SQL
# keeps those references visible to column lineage. Everything else renders as a placeholder.


def _fields_sql(fields: Any) -> list[str]:
    if isinstance(fields, str | Relation):
        return [str(fields)]
    try:
        return [str(f) for f in fields]
    except TypeError:
        return [str(fields)]


def _surrogate_key(field_list: Any = None, *more: Any) -> str:
    fields = _fields_sql(field_list) + [str(m) for m in more] if field_list is not None else []
    parts = " || '-' || ".join(f"coalesce(cast({f} as varchar), '')" for f in fields) or "''"
    return f"md5({parts})"


def _union_relations(relations: Any = None, *args: Any, **kwargs: Any) -> str:
    selects = [f"select * from {r}" for r in _fields_sql(relations or [])]
    return "\n union all \n".join(selects) or "select NULL"


def _star(*args: Any, **kwargs: Any) -> str:
    alias = kwargs.get("relation_alias")
    return f"{alias}.*" if alias else "*"


def _date_trunc(datepart: Any, date: Any) -> str:
    return f"date_trunc('{datepart}', {date})"


def _dateadd(datepart: Any, interval: Any, from_date_or_timestamp: Any) -> str:
    return f"dateadd({datepart}, {interval}, {from_date_or_timestamp})"


def _datediff(first_date: Any, second_date: Any, datepart: Any) -> str:
    return f"datediff({datepart}, {first_date}, {second_date})"


def _safe_cast(field_: Any, type_: Any) -> str:
    return f"cast({field_} as {type_})"


def _concat(fields: Any) -> str:
    return f"concat({', '.join(_fields_sql(fields))})"


def _split_part(string_text: Any, delimiter_text: Any, part_number: Any) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def _listagg(measure: Any, delimiter_text: Any = "','", *args: Any, **kwargs: Any) -> str:
    return f"listagg({measure}, {delimiter_text})"


def _function(name: str) -> Callable[..., str]:
    def render(*args: Any, **kwargs: Any) -> str:
        return f"{name}({', '.join(str(a) for a in args)})"

    return render


def _constant(sql: str) -> Callable[..., str]:
    def render(*args: Any, **kwargs: Any) -> str:
        return sql

    return render


CROSS_DB_MACROS: dict[str, Callable[..., Any]] = {
    "current_timestamp": _constant("current_timestamp"),
    "current_timestamp_backcompat": _constant("current_timestamp"),
    "current_timestamp_in_utc_backcompat": _constant("current_timestamp"),
    "type_string": _constant("varchar"),
    "type_timestamp": _constant("timestamp"),
    "type_int": _constant("integer"),
    "type_bigint": _constant("bigint"),
    "type_float": _constant("float"),
    "type_numeric": _constant("numeric"),
    "type_boolean": _constant("boolean"),
    "date_trunc": _date_trunc,
    "dateadd": _dateadd,
    "datediff": _datediff,
    "safe_cast": _safe_cast,
    "concat": _concat,
    "hash": lambda field_: f"md5(cast({field_} as varchar))",
    "generate_surrogate_key": _surrogate_key,
    "surrogate_key": _surrogate_key,
    "star": _star,
    "union_relations": _union_relations,
    "split_part": _split_part,
    "listagg": _listagg,
    "any_value": _function("any_value"),
    "bool_or": _function("bool_or"),
    "last_day": lambda date, datepart="month": f"last_day({date})",
    "length": _function("length"),
    "position": lambda substring_text, string_text: f"position({substring_text} in {string_text})",
    "replace": _function("replace"),
    "right": _function("right"),
    "cast_bool_to_text": lambda field_: f"cast({field_} as varchar)",
    "escape_single_quotes": lambda expression: str(expression).replace("'", "''"),
    "string_literal": lambda value: f"'{value}'",
    "except": _constant("except"),
    "intersect": _constant("intersect"),
}


class Namespace:
    """A package namespace (`dbt.`, `dbt_utils.`, the project's own name): known macros, else a placeholder."""

    def __init__(self, name: str, members: Callable[[], Mapping[str, Any]]) -> None:
        self._name = name
        self._members = members

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        members = self._members()
        if attr in members:
            return members[attr]
        if attr in CROSS_DB_MACROS:
            return CROSS_DB_MACROS[attr]
        return PermissiveUndefined(name=f"{self._name}.{attr}")

    def __getitem__(self, attr: str) -> Any:
        return self.__getattr__(attr)


# Adapters whose macros fall back to another adapter's implementation before `default__`.
_ADAPTER_PARENTS: dict[str, tuple[str, ...]] = {
    "redshift": ("postgres",),
    "databricks": ("spark",),
    "materialize": ("postgres",),
    "fabric": ("sqlserver",),
    "synapse": ("sqlserver",),
}


class AdapterProxy:
    """`adapter`: dispatch to the project's macros, warehouse questions answered as 'nothing there'."""

    def __init__(
        self,
        adapter_type: str,
        macros: Callable[[], Mapping[str, Any]],
        namespaces: Callable[[], Mapping[str, Callable[[], Mapping[str, Any]]]],
    ) -> None:
        self._type = adapter_type
        self._macros = macros
        self._namespaces = namespaces

    def dispatch(self, macro_name: str, macro_namespace: str | None = None, packages: Any = None) -> Any:
        """The project's own implementation first (dbt's override rule), then the package's."""
        searched = [self._macros()]
        package = self._namespaces().get(macro_namespace or "")
        if package is not None:
            searched.append(package())
        prefixes = (self._type, *_ADAPTER_PARENTS.get(self._type, ()), "default")
        for macros in searched:
            for prefix in prefixes:
                candidate = macros.get(f"{prefix}__{macro_name}")
                if candidate is not None:
                    return candidate
        if macro_name in CROSS_DB_MACROS:
            return CROSS_DB_MACROS[macro_name]
        return PermissiveUndefined(name=f"{macro_namespace or 'adapter'}.{macro_name}")

    def type(self) -> str:
        return self._type

    def quote(self, identifier: Any) -> str:
        return str(identifier)

    def get_relation(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_columns_in_relation(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def list_relations_without_caching(self, *args: Any, **kwargs: Any) -> list[Any]:
        return []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return PermissiveUndefined(name=f"adapter.{name}")


class Exceptions:
    """`exceptions.*`: compiler errors are not raised, so one guard cannot hide a model's SQL."""

    def raise_compiler_error(self, *args: Any, **kwargs: Any) -> str:
        return ""

    def warn(self, *args: Any, **kwargs: Any) -> str:
        return ""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.warn


# --- context helpers ---------------------------------------------------------------------------

# Fixed rather than now(): the same commit must compile to the same SQL, or every sync would look
# like a change downstream.
FIXED_RUN_STARTED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def modules_namespace() -> dict[str, Any]:
    """`modules.*`: the harmless standard modules dbt exposes (pytz only if installed)."""
    modules: dict[str, Any] = {"datetime": dt, "re": re, "itertools": itertools}
    try:
        modules["pytz"] = importlib.import_module("pytz")
    except ImportError:
        modules["pytz"] = PermissiveUndefined(name="modules.pytz")
    return modules


def tojson(value: Any, *args: Any, **kwargs: Any) -> str:
    return json.dumps(value, default=str)


def fromjson(value: Any, default: Any = None) -> Any:
    try:
        return json.loads(str(value))
    except ValueError:
        return default


def toyaml(value: Any, *args: Any, **kwargs: Any) -> str:
    return yaml.safe_dump(value)


def fromyaml(value: Any, default: Any = None) -> Any:
    try:
        return load_yaml_text(str(value))
    except yaml.YAMLError:
        return default


def safe_zip(*args: Any, default: Any = None) -> Any:
    try:
        return zip(*args, strict=False)
    except TypeError:
        return default


# --- naming ----------------------------------------------------------------------------------


def _is_none(value: Any) -> bool:
    return value is None or isinstance(value, jinja2.Undefined)


def _node_get(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, Mapping) else getattr(node, key, None)


def naming_macros(target: TargetInfo) -> dict[str, Callable[..., Any]]:
    """dbt's built-in generate_*_name macros; a project's own definitions replace them."""

    def schema_name(custom_schema_name: Any = None, node: Any = None, *args: Any) -> str:
        if _is_none(custom_schema_name):
            return target.schema
        return f"{target.schema}_{str(custom_schema_name).strip()}"

    def schema_name_for_env(custom_schema_name: Any = None, node: Any = None, *args: Any) -> str:
        if target.name == "prod" and not _is_none(custom_schema_name):
            return str(custom_schema_name).strip()
        return target.schema

    def alias_name(custom_alias_name: Any = None, node: Any = None, *args: Any) -> str:
        if not _is_none(custom_alias_name):
            return str(custom_alias_name).strip()
        version = _node_get(node, "version")
        name = str(_node_get(node, "name") or "")
        return f"{name}_v{version}" if version not in (None, "") else name

    def database_name(custom_database_name: Any = None, node: Any = None, *args: Any) -> str | None:
        return target.database if _is_none(custom_database_name) else str(custom_database_name).strip()

    return {
        "generate_schema_name": schema_name,
        "default__generate_schema_name": schema_name,
        "generate_schema_name_for_env": schema_name_for_env,
        "generate_alias_name": alias_name,
        "default__generate_alias_name": alias_name,
        "generate_database_name": database_name,
        "default__generate_database_name": database_name,
    }


def env_var(name: str, default: Any = None) -> Any:
    """The default, never the real variable: a repository must not read our environment."""
    return default if default is not None else PermissiveUndefined(name=f"env_var('{name}')")
