"""A sandboxed Jinja environment that renders dbt SQL the way `dbt parse` does, with no warehouse.

It records every `ref()`, `source()` and `config()` call a render makes (those calls are dbt's
dependencies), renders relations as `database.schema.identifier` so the output is SQL that column
lineage can parse, and answers everything else without failing: adapter methods, unknown macros and
packages that are not installed become permissive placeholders that render to a harmless `NULL`.

Like dbt at parse time, `execute` is False and a missing `var()` is None. Unlike dbt, `env_var()`
never reads the real environment (a repository must not be able to copy our secrets into SQL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.sandbox
from jinja2.parser import Parser

from metadata_pipeline.ingest.dbt_blocks import macro_blocks
from metadata_pipeline.ingest.dbt_builtins import (
    CROSS_DB_MACROS,
    FIXED_RUN_STARTED_AT,
    AdapterProxy,
    Exceptions,
    Namespace,
    env_var,
    fromjson,
    fromyaml,
    modules_namespace,
    naming_macros,
    safe_zip,
    tojson,
    toyaml,
)
from metadata_pipeline.ingest.jinja_values import (
    CallRecord,
    ConfigProxy,
    MacroReturn,
    PermissiveUndefined,
    Relation,
    RelationResolver,
    RenderState,
    SharedState,
    TargetInfo,
    ThisProxy,
    VarLookup,
    create_relation,
    raise_return,
    wrap_macro,
)

# The dbt version templates see: macros branch on it, and every corpus project accepts 1.8.
DBT_VERSION = "1.8.0"


# --- dbt's extra block tags --------------------------------------------------------------------


class _BlockAsMacro(jinja2.ext.Extension):
    """Parse `{% test %}`, `{% materialization %}` and `{% docs %}` blocks as (unused) macros."""

    tags = {"test", "materialization", "docs"}

    def parse(self, parser: Parser) -> jinja2.nodes.Node:
        token = next(parser.stream)
        node = jinja2.nodes.Macro(lineno=token.lineno)
        name = parser.parse_assign_target(name_only=True).name
        node.args, node.defaults = [], []
        if token.value == "test" and parser.stream.current.type == "lparen":
            parser.parse_signature(node)
        while parser.stream.current.type != "block_end":
            next(parser.stream)  # materialization options: adapter=..., supported_languages=...
        node.name = f"{token.value}_{name}"
        node.body = parser.parse_statements((f"name:end{token.value}",), drop_needle=True)
        return node


# --- the environment --------------------------------------------------------------------------


def new_environment() -> jinja2.sandbox.SandboxedEnvironment:
    """The Jinja environment dbt's own settings imply (do, loop controls, its block tags), sandboxed."""
    env = jinja2.sandbox.SandboxedEnvironment(
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols", _BlockAsMacro],
        undefined=PermissiveUndefined,
        autoescape=False,
    )
    for name in ("as_text", "as_bool", "as_native", "as_number"):
        env.filters[name] = lambda value: value
    env.filters["is_list"] = lambda value: isinstance(value, list)
    return env


class DbtJinja:
    """One project's rendering context: its macros, vars and target, shared by all its nodes."""

    def __init__(
        self,
        *,
        project_name: str,
        variables: Mapping[str, Any],
        resolver: RelationResolver,
        target: TargetInfo,
        shared: SharedState | None = None,
    ) -> None:
        # Renderers of several packages share one state: a package macro called while rendering a
        # root model records its ref() calls for that model, as dbt's per-node context does.
        self.shared = shared or SharedState()
        self.env = new_environment()
        self.project_name = project_name
        self.target = target
        self.resolver = resolver
        self.macros: dict[str, Callable[..., Any]] = {}
        self.namespaces: dict[str, Callable[[], Mapping[str, Any]]] = {}
        self._snippets: dict[str, jinja2.Template] = {}
        self.context: dict[str, Any] = self._base_context(variables)
        for name, macro in naming_macros(target).items():
            self.define_macro(name, macro)

    # -- context -------------------------------------------------------------------------------

    def _base_context(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        current = self._current_state
        macros = self._current_macros
        context: dict[str, Any] = dict(self.env.globals)
        context.update(
            ref=self._ref,
            source=self._source,
            config=ConfigProxy(current),
            var=VarLookup(variables, self.render_inline),
            env_var=env_var,
            is_incremental=lambda: self.state.incremental,
            should_full_refresh=lambda: False,
            this=ThisProxy(current),
            target=self.target.as_context(),
            schema=self.target.schema,
            database=self.target.database,
            adapter=AdapterProxy(self.target.adapter_type, macros, lambda: self.namespaces),
            api={"Relation": {"create": create_relation}},
            execute=False,
            flags={"FULL_REFRESH": False, "WHICH": "compile", "STORE_FAILURES": False},
            graph={"nodes": {}, "sources": {}, "exposures": {}, "macros": {}},
            selected_resources=[],
            invocation_id="00000000-0000-0000-0000-000000000000",
            run_started_at=FIXED_RUN_STARTED_AT,
            modules=modules_namespace(),
            project_name=self.project_name,
            dbt_version=DBT_VERSION,
            exceptions=Exceptions(),
            log=lambda *a, **k: "",
            print=lambda *a, **k: "",
            doc=lambda *a, **k: "",
            run_query=lambda *a, **k: PermissiveUndefined(name="run_query"),
            statement=lambda *a, **k: "",
            load_result=lambda *a, **k: PermissiveUndefined(name="load_result"),
            store_result=lambda *a, **k: "",
            write=lambda *a, **k: "",
            tojson=tojson,
            fromjson=fromjson,
            toyaml=toyaml,
            fromyaml=fromyaml,
            set=lambda value, default=None: set(value) if value is not None else default,
            set_strict=set,
            zip=safe_zip,
            zip_strict=zip,
            local_md5=lambda value: hashlib.md5(str(value).encode()).hexdigest(),  # noqa: S324
            model=self.state.node,
            dbt=Namespace("dbt", macros),
            dbt_utils=Namespace("dbt_utils", macros),
            builtins={"ref": self._ref, "source": self._source, "config": ConfigProxy(current)},
            metric=lambda *a, **k: PermissiveUndefined(name="metric"),
            context=PermissiveUndefined(name="context"),
        )
        context["return"] = raise_return
        context[self.project_name] = Namespace(self.project_name, macros)
        context.update(CROSS_DB_MACROS)
        return context

    @property
    def state(self) -> RenderState:
        return self.shared.state

    @state.setter
    def state(self, value: RenderState) -> None:
        self.shared.state = value

    def _current_state(self) -> RenderState:
        return self.state

    def _current_macros(self) -> Mapping[str, Any]:
        return self.macros

    def _ref(self, *args: Any, **kwargs: Any) -> Relation:
        names = [str(a) for a in args if a is not None]
        version = kwargs.get("version", kwargs.get("v"))
        version = None if version is None else str(version)
        if not names:
            return Relation(None, None, None)
        package, name = (names[0], names[1]) if len(names) >= 2 else (None, names[0])
        self.state.record.refs.append((package, name, version))
        return self.resolver.ref_relation(package, name, version)

    def _source(self, source_name: Any = None, table_name: Any = None, *args: Any, **kwargs: Any) -> Relation:
        if source_name is None or table_name is None:
            return Relation(None, None, None)
        self.state.record.sources.append((str(source_name), str(table_name)))
        return self.resolver.source_relation(str(source_name), str(table_name))

    # -- macros --------------------------------------------------------------------------------

    def add_macro_file(self, source: str, filename: str) -> list[JinjaProblem]:
        """Define every `{% macro %}` of one file; returns the blocks that could not be compiled."""
        problems: list[JinjaProblem] = []
        for block in macro_blocks(source):
            try:
                parsed = self.env.parse(block.padded_source, name=filename, filename=filename)
            except jinja2.TemplateSyntaxError as exc:
                problems.append(JinjaProblem.from_exception(exc, filename, block.line))
                continue
            self.define_macro(block.name, LazyMacro(self, parsed, filename, block.name))
        return problems

    def define_macro(self, name: str, macro: Callable[..., Any]) -> None:
        self.macros[name] = macro
        self.context[name] = macro

    def add_namespace(self, package: str, macros: Callable[[], Mapping[str, Any]]) -> None:
        """Make another package's macros callable as `package.macro()` and reachable by dispatch."""
        self.namespaces[package] = macros
        self.context[package] = Namespace(package, macros)

    # -- rendering -----------------------------------------------------------------------------

    def compile(self, source: str, filename: str) -> jinja2.Template:
        return self.compile_parsed(self.env.parse(source, name=filename, filename=filename), filename)

    def compile_parsed(self, parsed: jinja2.nodes.Template, filename: str) -> jinja2.Template:
        """Compile an already parsed template (parsing once serves both config reading and rendering)."""
        code = self.env.compile(parsed, name=filename, filename=filename)
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def render(
        self,
        template: jinja2.Template,
        *,
        this: Relation,
        node: Mapping[str, Any],
        base_config: Mapping[str, Any],
        incremental: bool = False,
    ) -> tuple[str, CallRecord]:
        """Render one node; its ref/source/config calls come back in the CallRecord."""
        self.state = RenderState(
            this=this, node=dict(node), base_config=dict(base_config), incremental=incremental
        )
        self.context["model"] = self.state.node
        try:
            sql = self._run(template)
        except MacroReturn as returned:
            sql = "" if returned.value is None else str(returned.value)
        except Exception:  # noqa: BLE001 - rewritten so the traceback points into the template
            self.env.handle_exception()
        return sql, self.state.record

    def call_macro(self, name: str, *args: Any, default: Any = None) -> Any:
        """Call a project macro (generate_schema_name...) outside any node render, if defined."""
        macro = self.macros.get(name)
        if macro is None:
            return default
        try:
            return macro(*args)
        except Exception:  # noqa: BLE001 - a macro that fails here falls back to dbt's default
            return default

    def snippet(self, source: str) -> jinja2.Template:
        """A compiled YAML value; the same few strings recur on every node of a folder, so cache."""
        template = self._snippets.get(source)
        if template is None:
            template = self._snippets[source] = self.compile(source, "<yaml>")
        return template

    def render_expression(self, expression: str) -> tuple[str, CallRecord]:
        """Render `{{ expression }}` alone (a YAML depends_on entry) and return what it called."""
        self.state = RenderState()
        try:
            text = self._run(self.snippet("{{ " + expression + " }}"))
        except Exception:  # noqa: BLE001 - an unreadable entry simply contributes no calls
            text = ""
        return text, self.state.record

    def render_inline(self, value: str) -> Any:
        """Render a string within the current node's render, so its calls are recorded for it."""
        try:
            return self._run(self.snippet(value))
        except Exception:  # noqa: BLE001 - an unrenderable value stays as written
            return value

    def render_string(self, value: str) -> Any:
        """Render a YAML value such as "{{ var('schema') }}"; non-Jinja strings come back as-is."""
        if "{{" not in value and "{%" not in value:
            return value
        self.state = RenderState()
        try:
            return self._run(self.snippet(value))
        except Exception:  # noqa: BLE001 - an unrenderable config value stays as written
            return value

    def _run(self, template: jinja2.Template) -> str:
        """Render against the live shared context (shared=True: no per-render copy of ~1000 names)."""
        context = template.new_context(self.context, shared=True)
        return str(self.env.concat(template.root_render_func(context)))  # type: ignore[attr-defined]


class LazyMacro:
    """A parsed macro compiled on its first call: most macros of a project are never called, and
    compiling Jinja to Python is the dearest step of a SILVER read."""

    def __init__(self, renderer: DbtJinja, parsed: jinja2.nodes.Template, filename: str, name: str) -> None:
        self._renderer = renderer
        self._parsed = parsed
        self._filename = filename
        self._name = name
        self._macro: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._macro is None:
            template = self._renderer.compile_parsed(self._parsed, self._filename)
            module = template.make_module(self._renderer.context, shared=True)
            self._macro = wrap_macro(getattr(module, self._name))
        return self._macro(*args, **kwargs)


# --- blocks and errors ------------------------------------------------------------------------


@dataclass(frozen=True)
class JinjaProblem:
    """Why a template failed, and where (the line inside the file, when Jinja knows it)."""

    message: str
    file: str
    line: int | None

    @classmethod
    def from_exception(
        cls, exc: BaseException, filename: str, fallback_line: int | None = None
    ) -> JinjaProblem:
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return cls(f"Jinja syntax error: {exc.message}", filename, exc.lineno or fallback_line)
        line, where = _template_frame(exc.__traceback__, filename)
        message = f"{type(exc).__name__}: {exc}"
        if where and not where.startswith(f"{filename}:"):
            message += f" (raised in {where})"
        return cls(message, filename, line or fallback_line)


def _template_frame(tb: TracebackType | None, filename: str) -> tuple[int | None, str | None]:
    """The last traceback line inside `filename`, and the deepest template file involved."""
    line: int | None = None
    deepest: str | None = None
    for frame, lineno in _walk_tb(tb):
        frame_file = frame.f_code.co_filename
        if frame_file == filename:
            line = lineno
        if frame_file.endswith((".sql", ".yml", ".yaml")) or frame_file == "<yaml>":
            deepest = f"{frame_file}:{lineno}"
    return line, deepest


def _walk_tb(tb: TracebackType | None) -> Iterator[tuple[Any, int]]:
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
