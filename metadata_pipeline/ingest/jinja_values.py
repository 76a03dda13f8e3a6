"""The values dbt's Jinja context hands to templates, as plain Python objects.

Permissive undefined names, relations, the target, and the per-node proxies (`this`, `config`,
`var`) that read whichever node is being rendered, so macros compiled once see the right one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from jinja2.runtime import ChainableUndefined

# --- permissive values ------------------------------------------------------------------------


class PermissiveUndefined(ChainableUndefined):
    """An undefined name that never fails: attributes, items, calls, maths and loops all work."""

    __slots__ = ()
    unsafe_callable = False
    alters_data = False

    def __getattr__(self, name: str) -> PermissiveUndefined:
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        base = self._undefined_name or ""
        return PermissiveUndefined(name=f"{base}.{name}" if base else name)

    def __getitem__(self, key: Any) -> PermissiveUndefined:  # type: ignore[override]
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> MacroPlaceholder:  # type: ignore[override]
        return MacroPlaceholder(name=self._undefined_name)

    def _same(self, *args: Any, **kwargs: Any) -> PermissiveUndefined:
        return self

    def _false(self, *args: Any, **kwargs: Any) -> bool:
        return False

    # Jinja's Undefined raises on all of these; a permissive one answers (hence the overrides).
    __add__ = __radd__ = __sub__ = __rsub__ = _same  # type: ignore[assignment]
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _same  # type: ignore[assignment]
    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same  # type: ignore[assignment]
    __pos__ = __neg__ = __pow__ = __rpow__ = _same  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _false  # type: ignore[assignment]

    def __int__(self) -> int:  # type: ignore[override]
        return 0

    def __float__(self) -> float:  # type: ignore[override]
        return 0.0

    def __hash__(self) -> int:
        return id(type(self))


class MacroPlaceholder(PermissiveUndefined):
    """What an unknown macro returns: in SQL it reads as NULL, a value valid almost anywhere."""

    __slots__ = ()

    def __str__(self) -> str:
        return "NULL"


class MacroReturn(Exception):  # noqa: N818 - dbt's name for the `return()` control flow
    """`{{ return(x) }}` inside a macro: unwinds to the macro call, which then evaluates to x."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


def raise_return(value: Any = None) -> None:
    raise MacroReturn(value)


def wrap_macro(macro: Callable[..., Any]) -> Callable[..., Any]:
    """A Jinja macro made to honour dbt's `return()`."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return macro(*args, **kwargs)
        except MacroReturn as returned:
            return returned.value

    call.__name__ = getattr(macro, "name", "macro")
    return call


# --- relations --------------------------------------------------------------------------------


_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass(frozen=True)
class Relation:
    """A warehouse relation as dbt's Relation objects present it to Jinja."""

    database: str | None
    schema: str | None
    identifier: str | None
    type: str | None = None
    unique_id: str | None = None
    quote_char: str = '"'

    @property
    def name(self) -> str | None:
        return self.identifier

    @property
    def table(self) -> str | None:
        return self.identifier

    @property
    def is_table(self) -> bool:
        return self.type == "table"

    @property
    def is_view(self) -> bool:
        return self.type == "view"

    def render(self) -> str:
        """database.schema.identifier, quoting only the parts that are not plain identifiers."""
        parts = (p for p in (self.database, self.schema, self.identifier) if p)
        return ".".join(
            p if _PLAIN_IDENTIFIER.match(p) else f"{self.quote_char}{p}{self.quote_char}" for p in parts
        )

    def include(self, database: bool = True, schema: bool = True, identifier: bool = True) -> Relation:
        return Relation(
            self.database if database else None,
            self.schema if schema else None,
            self.identifier if identifier else None,
            self.type,
            self.unique_id,
            self.quote_char,
        )

    def incorporate(self, path: Mapping[str, Any] | None = None, **_: Any) -> Relation:
        path = path or {}
        return Relation(
            path.get("database", self.database),
            path.get("schema", self.schema),
            path.get("identifier", self.identifier),
            self.type,
            self.unique_id,
            self.quote_char,
        )

    def quote(self, *args: Any, **kwargs: Any) -> Relation:
        return self

    def __str__(self) -> str:
        return self.render()

    def __html__(self) -> str:
        return self.render()


def create_relation(
    database: str | None = None, schema: str | None = None, identifier: str | None = None, **kwargs: Any
) -> Relation:
    return Relation(database, schema, identifier, kwargs.get("type"))


# --- what a render records --------------------------------------------------------------------


@dataclass
class CallRecord:
    """The dbt calls one render made: dependencies and inline configuration."""

    refs: list[tuple[str | None, str, str | None]] = field(default_factory=list)  # (package, name, version)
    sources: list[tuple[str, str]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


class RelationResolver(Protocol):
    """Turns a ref/source call into the relation it names (the SILVER reader knows the nodes)."""

    def ref_relation(self, package: str | None, name: str, version: str | None) -> Relation: ...

    def source_relation(self, source_name: str, table_name: str) -> Relation: ...


@dataclass
class RenderState:
    """The node being rendered: the context's per-node values read it through proxies."""

    record: CallRecord = field(default_factory=CallRecord)
    this: Relation | None = None
    node: dict[str, Any] = field(default_factory=dict)
    base_config: dict[str, Any] = field(default_factory=dict)
    incremental: bool = False


@dataclass
class SharedState:
    """The one RenderState all renderers of a project read (see DbtJinja)."""

    state: RenderState = field(default_factory=RenderState)


class ConfigProxy:
    """`config(...)`, `config.get(...)`, `config.require(...)` for the node being rendered."""

    def __init__(self, state: Callable[[], RenderState]) -> None:
        self._state = state

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        options: dict[str, Any] = {}
        for arg in args:
            if isinstance(arg, Mapping):
                options.update(arg)
        options.update(kwargs)
        self._state().record.config.update(options)
        return ""

    def _lookup(self, name: str, default: Any = None) -> Any:
        state = self._state()
        if name in state.record.config:
            return state.record.config[name]
        return state.base_config.get(name, default)

    def get(self, name: str, default: Any = None, validator: Any = None) -> Any:
        return self._lookup(name, default)

    def require(self, name: str, validator: Any = None) -> Any:
        return self._lookup(name, MacroPlaceholder(name=f"config.{name}"))

    def set(self, name: str, value: Any) -> str:
        return self({name: value})

    def meta_get(self, name: str, default: Any = None, validator: Any = None) -> Any:
        meta = self._lookup("meta", {}) or {}
        return meta.get(name, default) if isinstance(meta, Mapping) else default

    def meta_require(self, name: str, validator: Any = None) -> Any:
        return self.meta_get(name, MacroPlaceholder(name=f"config.meta.{name}"))

    def persist_relation_docs(self) -> bool:
        return False

    def persist_column_docs(self) -> bool:
        return False


class VarLookup:
    """`var(name, default)`: project vars, else the default, else None (dbt's parse-time answer).

    A var whose value is itself Jinja ("{{ ref('x') }}") is rendered in the calling node's context,
    as dbt does, so the refs it makes are that node's dependencies.
    """

    _MAX_DEPTH = 10

    def __init__(self, values: Mapping[str, Any], render: Callable[[str], Any] | None = None) -> None:
        self._values = values
        self._render = render
        self._depth = 0

    def __call__(self, name: str, default: Any = None) -> Any:
        value = self._values.get(name, default)
        if not (self._render and isinstance(value, str) and ("{{" in value or "{%" in value)):
            return value
        if self._depth >= self._MAX_DEPTH:  # a var defined through itself
            return value
        self._depth += 1
        try:
            return self._render(value)
        finally:
            self._depth -= 1

    def has_var(self, name: str) -> bool:
        return name in self._values


class ThisProxy:
    """`this`: the relation of the node being rendered, read when used (macros see it too)."""

    def __init__(self, state: Callable[[], RenderState]) -> None:
        self._state = state

    def _relation(self) -> Relation:
        return self._state().this or Relation(None, None, None)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._relation(), name)

    def __str__(self) -> str:
        return str(self._relation())

    def __html__(self) -> str:
        return str(self._relation())


_BACKTICK_ADAPTERS = frozenset({"bigquery", "databricks", "spark", "mysql", "clickhouse", "hive", "athena"})


@dataclass(frozen=True)
class TargetInfo:
    """The dbt `target` we pretend to run against (never a real connection)."""

    adapter_type: str = "default"
    name: str = "dev"
    schema: str = "analytics"
    database: str | None = None

    @property
    def quote_char(self) -> str:
        """How this warehouse quotes identifiers such as `my-project` or "integrity-db"."""
        return "`" if self.adapter_type in _BACKTICK_ADAPTERS else '"'

    def relation(
        self, database: str | None, schema: str | None, identifier: str | None, kind: str | None = None,
        unique_id: str | None = None,
    ) -> Relation:  # fmt: skip
        return Relation(database, schema, identifier, kind, unique_id, self.quote_char)

    def as_context(self) -> dict[str, Any]:
        target: dict[str, Any] = {
            "name": self.name,
            "target_name": self.name,
            "type": self.adapter_type,
            "schema": self.schema,
            "dataset": self.schema,
            "threads": 1,
            "profile_name": "default",
        }
        if self.database:
            target.update(database=self.database, dbname=self.database, project=self.database)
        return target
