"""SILVER: a dbt project without a manifest, read from its files by rendering its Jinja ourselves.

Dependencies are the `ref()`/`source()` calls a render actually makes (as in `dbt parse`), resolved
to dbt's unique_ids: `model.<package>.<name>[.v<version>]`, `seed.`, `snapshot.`,
`source.<package>.<source>.<table>`. Each node is rendered with `is_incremental()` False (its
compiled SQL) and, when it mentions is_incremental, once more with True so that branch's refs
count too. A node whose Jinja fails is still an object: the failure becomes an ExtractionError with
file and line, and its literal ref/source calls are taken by pattern at BRONZE confidence.

Reference policy: an unresolvable `ref()` (a package that is not installed) is dropped with an
error, because guessing its resource type and package would invent a node; an undeclared
`source()` keeps its edge (its unique_id is fully determined by the call) and is reported.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.nodes

from metadata_pipeline.ingest.dbt_builtins import naming_macros
from metadata_pipeline.ingest.dbt_jinja import DbtJinja, JinjaProblem
from metadata_pipeline.ingest.dbt_project_config import (
    ProjectFile,
    as_list,
    folder_config,
    load_project_file,
    merge_config,
    project_vars,
    read_yaml,
)
from metadata_pipeline.ingest.extraction import (
    TIER_CONFIDENCE,
    ColumnInfo,
    DbtObject,
    Dependency,
    Extraction,
    ExtractionError,
)
from metadata_pipeline.ingest.jinja_values import CallRecord, Relation, SharedState, TargetInfo
from metadata_pipeline.ingest.project_files import PackageFiles, SilverNode, installed_packages, scan_package
from metadata_pipeline.ingest.properties import ExposureProperties, SourceTable

SILVER_CONFIDENCE = TIER_CONFIDENCE["SILVER"]
# Edges read by pattern from a node whose Jinja failed to render are no better than plain SQL.
PATTERN_CONFIDENCE = TIER_CONFIDENCE["BRONZE"]
_SECTIONS = {"model": "models", "seed": "seeds", "snapshot": "snapshots", "analysis": "analyses"}
_DEFAULT_MATERIALIZATION = {"model": "view", "seed": "seed", "snapshot": "snapshot"}
_RELATION_KEYS = ("schema", "database", "alias", "target_schema", "target_database")
_REF_RE = re.compile(
    r"""\bref\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?(?:,\s*(?:version|v)\s*=\s*['"]?([\w.]+)['"]?\s*)?\)"""
)
_SOURCE_RE = re.compile(r"""\bsource\(\s*(['"])([^'"]+)\1\s*,\s*(['"])([^'"]+)\3\s*\)""")
_JINJA_COMMENT_RE = re.compile(r"{#.*?#}", re.DOTALL)


def read_dbt_project(
    root: Path, *, adapter_type: str | None = None, target: TargetInfo | None = None
) -> Extraction:
    """A SILVER Extraction of the dbt project at `root` (and of any packages installed beside it)."""
    root_project = load_project_file(root)
    packages = [scan_package(root_project, is_root=True)]
    packages += [scan_package(p, is_root=False) for p in installed_packages(root_project)]
    target = target or target_from_profiles(root_project, adapter_type)
    index = NodeIndex(root_project.name, packages)
    reader = _SilverReader(root_project, packages, index, target)
    return reader.extract(explicit_adapter=adapter_type or _profile_adapter(root_project))


# --- node lookup ------------------------------------------------------------------------------


class NodeIndex:
    """Resolve ref/source calls the way dbt does: root project first, then the caller's package."""

    def __init__(self, root_package: str, packages: Iterable[PackageFiles]) -> None:
        self.root = root_package
        self._nodes: dict[str, list[SilverNode]] = defaultdict(list)
        self._sources: dict[tuple[str, str], list[SourceTable]] = defaultdict(list)
        for package in packages:
            for node in package.nodes:
                if node.resource_type in ("model", "seed", "snapshot"):
                    self._nodes[node.name].append(node)
            for table in package.properties.sources:
                self._sources[(table.source_name, table.name)].append(table)

    def resolve_ref(
        self, package: str | None, name: str, version: str | None, current: str
    ) -> SilverNode | None:
        candidates = [n for n in self._nodes.get(name, []) if package is None or n.package == package]
        candidates = _pick_version(candidates, version)
        return self._prefer(candidates, current, lambda n: n.package, lambda n: n.enabled)

    def resolve_source(self, source_name: str, table_name: str, current: str) -> SourceTable | None:
        candidates = self._sources.get((source_name, table_name), [])
        return self._prefer(candidates, current, lambda t: t.package, lambda t: True)

    def sources(self) -> list[SourceTable]:
        return [table for tables in self._sources.values() for table in tables]

    def _prefer(self, candidates: list[Any], current: str, package_of: Any, enabled: Any) -> Any:
        if not candidates:
            return None
        order = {self.root: 0, current: 1}
        return min(candidates, key=lambda c: (not enabled(c), order.get(package_of(c), 2)))


def _pick_version(candidates: list[SilverNode], version: str | None) -> list[SilverNode]:
    """An explicit version, or a versioned model's latest version (dbt's default for plain refs)."""
    versioned = [n for n in candidates if n.version is not None]
    if version is not None:
        return [n for n in versioned if _same_version(n.version, version)]
    if not versioned:
        return candidates
    latest = next((n.props.latest_version for n in versioned if n.props and n.props.latest_version), None)
    if latest is not None:
        return [n for n in versioned if _same_version(n.version, latest)] or versioned
    return [max(versioned, key=lambda n: _version_key(n.version))]


def _same_version(a: str | None, b: str) -> bool:
    return a is not None and (a == b or _version_key(a) == _version_key(b))


def _version_key(version: str | None) -> tuple[float, str]:
    try:
        return (float(version or ""), "")
    except ValueError:
        return (float("-inf"), version or "")


@dataclass
class PackageResolver:
    """The RelationResolver one package's renderer uses: turns calls into relations to render."""

    index: NodeIndex
    package: str
    target: TargetInfo

    def ref_relation(self, package: str | None, name: str, version: str | None) -> Relation:
        node = self.index.resolve_ref(package, name, version, self.package)
        if node is not None and node.relation is not None:
            return node.relation
        return self.target.relation(self.target.database, self.target.schema, name)

    def source_relation(self, source_name: str, table_name: str) -> Relation:
        table = self.index.resolve_source(source_name, table_name, self.package)
        if table is None:
            return self.target.relation(self.target.database, source_name, table_name)
        return self.target.relation(
            table.database or self.target.database, table.schema, table.identifier, None, table.unique_id
        )


# --- the reader -------------------------------------------------------------------------------


class _SilverReader:
    """Renders every package's nodes and assembles the Extraction."""

    def __init__(
        self, root: ProjectFile, packages: list[PackageFiles], index: NodeIndex, target: TargetInfo
    ) -> None:
        self.root = root
        self.packages = packages
        self.index = index
        self.target = target
        self.errors: list[ExtractionError] = [e for p in packages for e in p.errors]
        self._warned: set[tuple[str, str | None]] = set()
        self.shared = SharedState()
        self.default_naming = naming_macros(target)
        self.renderers = {p.name: self._renderer(p) for p in packages}
        self._link_namespaces()

    # -- setup ---------------------------------------------------------------------------------

    def _renderer(self, package: PackageFiles) -> DbtJinja:
        names = [p.name for p in self.packages]
        renderer = DbtJinja(
            project_name=package.name,
            variables=project_vars(package.project, self.root, names),
            resolver=PackageResolver(self.index, package.name, self.target),
            target=self.target,
            shared=self.shared,
        )
        renderer.context["doc"] = _doc_lookup(package.docs)
        for path in package.macro_files:
            relative = path.relative_to(package.project.root).as_posix()
            text = path.read_text(encoding="utf-8", errors="replace")
            for problem in renderer.add_macro_file(text, relative):
                self.errors.append(
                    ExtractionError(problem.message, kind="jinja", file=problem.file, line=problem.line)
                )
        return renderer

    def _link_namespaces(self) -> None:
        """Every package can call every other one's macros as `package.macro()`."""
        for package in self.packages:
            for other in self.packages:
                if other.name != package.name:
                    self.renderers[package.name].add_namespace(
                        other.name, _macros_of(self.renderers[other.name])
                    )

    @property
    def naming(self) -> DbtJinja:
        """generate_schema_name & co. come from the root project, whichever package a node is in."""
        return self.renderers[self.root.name]

    # -- extraction ----------------------------------------------------------------------------

    def extract(self, *, explicit_adapter: str | None) -> Extraction:
        for package in self.packages:
            self._prepare_sources(package)
        templates: dict[int, jinja2.Template] = {}
        for package in self.packages:
            for node in package.nodes:
                template = self._prepare(node, package)
                if template is not None:
                    templates[id(node)] = template
        for package in self.packages:
            for node in package.nodes:
                self._render(node, package, templates.get(id(node)))
        extraction = Extraction(
            project_name=self.root.name,
            project_root=str(self.root.root),
            tier="SILVER",
            adapter_type=explicit_adapter,
        )
        for package in self.packages:
            self._emit(extraction, package)
        extraction.errors = self.errors + extraction.errors
        return extraction

    def _prepare_sources(self, package: PackageFiles) -> None:
        renderer = self.renderers[package.name]
        trees = self._trees(package, "sources")
        for table in package.properties.sources:
            config = folder_config(trees, [table.package, *table.fqn_dirs, table.source_name, table.name])
            table.config = merge_config(config, table.config)
            table.database = _render_text(renderer, table.database)
            table.schema = _render_text(renderer, table.schema) or table.source_name
            table.identifier = _render_text(renderer, table.identifier) or table.name

    def _trees(self, package: PackageFiles, section: str) -> list[Mapping[str, Any]]:
        """dbt_project.yml config trees that apply to a package: its own, then the root's."""
        trees = [package.project.configs.get(section) or {}]
        if not package.is_root:
            trees.append(self.root.configs.get(section) or {})
        return trees

    def _prepare(self, node: SilverNode, package: PackageFiles) -> jinja2.Template | None:
        """Config from dbt_project.yml, YAML and literal config() calls, the relation, the template."""
        renderer = self.renderers[package.name]
        config = folder_config(self._trees(package, _SECTIONS[node.resource_type]), node.fqn)
        if node.props is not None:
            config = merge_config(config, node.props.config)
        template = None
        if node.language in ("sql", "yaml") and node.template_text is not None:
            try:
                parsed = renderer.env.parse(node.template_text, name=node.path, filename=node.path)
                config = merge_config(config, _literal_config(parsed))
                template = renderer.compile_parsed(parsed, node.path)
            except jinja2.TemplateSyntaxError as exc:
                self._fail(node, JinjaProblem.from_exception(exc, node.path))
        elif node.language == "python" and node.raw_text is not None:
            config = merge_config(config, _python_calls(node.raw_text, node.record))
        node.config = _render_config(renderer, config)
        node.enabled = _truthy(node.config.get("enabled", True))
        node.relation = self._relation(node)
        return template

    def _relation(self, node: SilverNode) -> Relation:
        config = node.config
        kind = (
            "table" if config.get("materialized") in ("table", "incremental", "seed", "snapshot") else "view"
        )
        if node.resource_type == "snapshot" and config.get("target_schema"):
            database = config.get("target_database") or self.target.database
            return self.target.relation(
                database, str(config["target_schema"]), self._alias(node), kind, node.unique_id
            )
        return self.target.relation(
            self._name("generate_database_name", config.get("database"), node),
            self._name("generate_schema_name", config.get("schema"), node),
            self._alias(node),
            kind,
            node.unique_id,
        )

    def _alias(self, node: SilverNode) -> str:
        return self._name("generate_alias_name", node.config.get("alias"), node) or node.name

    def _name(self, macro: str, custom: Any, node: SilverNode) -> str | None:
        """The root project's generate_*_name macro, or dbt's default when it fails or says nothing."""
        context = _node_context(node)
        named = _clean(self.naming.call_macro(macro, custom, context))
        return named or _clean(self.default_naming[macro](custom, context))

    def _render(self, node: SilverNode, package: PackageFiles, template: jinja2.Template | None) -> None:
        if template is None:
            return
        renderer = self.renderers[package.name]
        base = dict(node.config)
        try:
            sql, record = renderer.render(
                template, this=self._this(node), node=_node_context(node), base_config=base
            )
        except Exception as exc:  # noqa: BLE001 - one broken model must not stop the project
            self._fail(node, JinjaProblem.from_exception(exc, node.path))
            return
        node.compiled_sql = sql.strip()
        node.record = record
        if "is_incremental" in (node.raw_text or ""):
            self._render_incremental_branch(node, renderer, template, base)
        self._apply_inline_config(node, renderer)

    def _this(self, node: SilverNode) -> Relation:
        return node.relation or self.target.relation(self.target.database, self.target.schema, node.name)

    def _render_incremental_branch(
        self, node: SilverNode, renderer: DbtJinja, template: jinja2.Template, base: dict[str, Any]
    ) -> None:
        try:
            _, record = renderer.render(
                template, this=self._this(node), node=_node_context(node), base_config=base, incremental=True
            )
        except Exception:  # noqa: BLE001 - the full-refresh render already succeeded; keep it
            return
        node.record.refs.extend(record.refs)
        node.record.sources.extend(record.sources)

    def _apply_inline_config(self, node: SilverNode, renderer: DbtJinja) -> None:
        """config() calls made while rendering outrank every other config (dbt's precedence)."""
        if not node.record.config:
            return
        before = {k: node.config.get(k) for k in _RELATION_KEYS}
        node.config = merge_config(node.config, _render_config(renderer, node.record.config))
        node.enabled = _truthy(node.config.get("enabled", True))
        if any(node.config.get(k) != v for k, v in before.items()):
            node.relation = self._relation(node)

    def _fail(self, node: SilverNode, problem: JinjaProblem) -> None:
        node.error = ExtractionError(
            f"cannot render: {problem.message}",
            kind="jinja",
            file=problem.file,
            unique_id=node.unique_id,
            line=problem.line,
        )
        self.errors.append(node.error)
        node.record = _pattern_calls(node.raw_text or "")

    # -- output --------------------------------------------------------------------------------

    def _emit(self, extraction: Extraction, package: PackageFiles) -> None:
        renderer = self.renderers[package.name]
        for node in package.nodes:
            extraction.objects.append(self._node_object(node, renderer))
            if node.enabled:
                confidence = PATTERN_CONFIDENCE if node.error else SILVER_CONFIDENCE
                extraction.dependencies += self._edges(
                    node.unique_id, node.record, package.name, node.path, confidence
                )
        for table in package.properties.sources:
            extraction.objects.append(_source_object(table, renderer))
        for exposure in package.properties.exposures:
            obj = _exposure_object(exposure, package.name, renderer)
            extraction.objects.append(obj)
            record = _render_calls(renderer, exposure.depends_on)
            extraction.dependencies += self._edges(
                obj.unique_id, record, package.name, exposure.file, SILVER_CONFIDENCE
            )

    def _node_object(self, node: SilverNode, renderer: DbtJinja) -> DbtObject:
        props = node.props
        relation = node.relation or Relation(None, None, node.name)
        tags = [str(t) for t in [*as_list(node.config.get("tags")), *(props.tags if props else [])]]
        return DbtObject(
            unique_id=node.unique_id,
            name=node.name,
            resource_type=node.resource_type,
            package_name=node.package,
            database=relation.database,
            schema=relation.schema,
            alias=relation.identifier,
            materialization=_materialization(node),
            file_path=node.path,
            raw_sql=node.raw_text,
            compiled_sql=node.compiled_sql,
            description=_describe(renderer, props.description if props else None),
            declared_columns=_describe_columns(renderer, props.columns if props else []),
            tags=list(dict.fromkeys(tags)),
            meta={**(props.meta if props else {}), **dict(node.config.get("meta") or {})},
            tier="SILVER",
            confidence=SILVER_CONFIDENCE,
            enabled=node.enabled,
            original_file_path=node.path,
            version=node.version,
        )

    def _edges(
        self, source_id: str, record: CallRecord, package: str, file: str | None, confidence: float
    ) -> list[Dependency]:
        targets: dict[str, str] = {}
        for ref_package, name, version in record.refs:
            node = self.index.resolve_ref(ref_package, name, version, package)
            if node is not None:
                targets.setdefault(node.unique_id, "ref")
            elif ref_package is not None and ref_package != package:
                # ref('pkg', 'm') names its package: the unique_id is dbt's even if pkg is absent.
                targets.setdefault(f"model.{ref_package}.{name}" + (f".v{version}" if version else ""), "ref")
            else:
                self._unresolved(source_id, file, f"ref({_call_args(ref_package, name, version)})")
        for source_name, table_name in record.sources:
            table = self.index.resolve_source(source_name, table_name, package)
            if table is None:
                self._undeclared_source(source_id, file, source_name, table_name)
                targets.setdefault(f"source.{package}.{source_name}.{table_name}", "source")
            else:
                targets.setdefault(table.unique_id, "source")
        return [
            Dependency(source_id, target, "dbt_sql", "SILVER", confidence, kind)
            for target, kind in targets.items()
        ]

    def _unresolved(self, source_id: str, file: str | None, call: str) -> None:
        message = f"{call} matches no model, seed or snapshot of the project or its installed packages; edge dropped"
        self._warn_once(ExtractionError(message, kind="project", file=file, unique_id=source_id))

    def _undeclared_source(self, source_id: str, file: str | None, source_name: str, table: str) -> None:
        message = f"source('{source_name}', '{table}') is not declared in any YAML file; edge kept"
        self._warn_once(ExtractionError(message, kind="project", file=file, unique_id=source_id))

    def _warn_once(self, error: ExtractionError) -> None:
        key = (error.message, error.unique_id)
        if key not in self._warned:
            self._warned.add(key)
            self.errors.append(error)


# --- helpers ----------------------------------------------------------------------------------


def _macros_of(renderer: DbtJinja) -> Callable[[], Mapping[str, Any]]:
    """Read lazily: a package's macro table is filled before any render, but after this link."""
    return lambda: renderer.macros


def _literal_config(parsed: jinja2.nodes.Template) -> dict[str, Any]:
    """The constant arguments of `config(...)` calls, known before rendering (for relation names)."""
    config: dict[str, Any] = {}
    for call in parsed.find_all(jinja2.nodes.Call):
        if not (isinstance(call.node, jinja2.nodes.Name) and call.node.name == "config"):
            continue
        for arg in call.args:
            value = _constant(arg)
            if isinstance(value, dict):
                config.update(value)
        for keyword in call.kwargs:
            value = _constant(keyword.value)
            if value is not _NOT_CONSTANT:
                config[keyword.key] = value
    return config


_NOT_CONSTANT = object()


def _constant(node: jinja2.nodes.Node) -> Any:
    try:
        return node.as_const()  # type: ignore[attr-defined]
    except (jinja2.nodes.Impossible, AttributeError, TypeError):
        return _NOT_CONSTANT


def _python_calls(code: str, record: CallRecord) -> dict[str, Any]:
    """dbt.ref / dbt.source / dbt.config calls with literal arguments in a Python model."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    config: dict[str, Any] = {}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if not (isinstance(call.func.value, ast.Name) and call.func.value.id == "dbt"):
            continue
        args = [a.value for a in call.args if isinstance(a, ast.Constant)]
        keywords = {
            k.arg: k.value.value for k in call.keywords if k.arg and isinstance(k.value, ast.Constant)
        }
        if call.func.attr == "ref" and args:
            version = keywords.get("version", keywords.get("v"))
            package, name = (str(args[0]), str(args[1])) if len(args) >= 2 else (None, str(args[0]))
            record.refs.append((package, name, None if version is None else str(version)))
        elif call.func.attr == "source" and len(args) >= 2:
            record.sources.append((str(args[0]), str(args[1])))
        elif call.func.attr == "config":
            config.update(keywords)
    return config


def _pattern_calls(text: str) -> CallRecord:
    """Literal ref/source calls found by pattern, for a node whose Jinja cannot be rendered."""
    text = _JINJA_COMMENT_RE.sub("", text)
    record = CallRecord()
    for match in _REF_RE.finditer(text):
        package, name = (match.group(2), match.group(4)) if match.group(4) else (None, match.group(2))
        record.refs.append((package, name, match.group(5)))
    for match in _SOURCE_RE.finditer(text):
        record.sources.append((match.group(2), match.group(4)))
    return record


def _render_calls(renderer: DbtJinja, expressions: list[str]) -> CallRecord:
    """Render YAML `depends_on` entries such as "ref('orders')" and collect their calls."""
    record = CallRecord()
    for expression in expressions:
        body = expression.strip().strip("{}").strip()
        _, calls = renderer.render_expression(body)
        record.refs.extend(calls.refs)
        record.sources.extend(calls.sources)
    return record


def _render_config(renderer: DbtJinja, config: Mapping[str, Any]) -> dict[str, Any]:
    """Render the Jinja in config values that decide names and enablement ("{{ var('x') }}")."""
    rendered = dict(config)
    for key in ("enabled", "schema", "database", "alias", "materialized", "target_schema", "target_database"):
        value = rendered.get(key)
        if isinstance(value, str):
            rendered[key] = renderer.render_string(value)
    return rendered


def _render_text(renderer: DbtJinja, value: str | None) -> str | None:
    if value is None:
        return None
    rendered = renderer.render_string(value)
    return _clean(rendered)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off", "none", "")
    if isinstance(value, jinja2.Undefined):
        return True  # an unknown value: dbt's default is enabled
    return bool(value)


def _clean(value: Any) -> str | None:
    if value is None or isinstance(value, jinja2.Undefined):
        return None
    text = str(value).strip()
    return text if text and text != "None" else None


def _materialization(node: SilverNode) -> str | None:
    if node.resource_type in ("seed", "snapshot"):
        return node.resource_type
    value = node.config.get("materialized")
    return str(value) if value else _DEFAULT_MATERIALIZATION.get(node.resource_type)


def _node_context(node: SilverNode) -> dict[str, Any]:
    """What `model` / `node` look like to macros such as generate_schema_name."""
    return {
        "unique_id": node.unique_id,
        "name": node.name,
        "resource_type": node.resource_type,
        "package_name": node.package,
        "original_file_path": node.path,
        "path": node.path,
        "fqn": node.fqn,
        "config": node.config,
        "tags": as_list(node.config.get("tags")),
        "version": node.version,
        "raw_code": node.raw_text,
        "raw_sql": node.raw_text,
        "language": node.language,
    }


def _call_args(package: str | None, name: str, version: str | None) -> str:
    parts = [f"'{p}'" for p in (package, name) if p]
    if version:
        parts.append(f"version={version}")
    return ", ".join(parts)


def _doc_lookup(docs: Mapping[str, str]) -> Any:
    def doc(*names: Any) -> str:
        return docs.get(str(names[-1]), "") if names else ""

    return doc


def _describe(renderer: DbtJinja, text: str | None) -> str | None:
    if not text:
        return None
    return _clean(renderer.render_string(text))


def _describe_columns(renderer: DbtJinja, columns: list[ColumnInfo]) -> list[ColumnInfo]:
    for column in columns:
        column.description = _describe(renderer, column.description)
    return columns


def _exposure_object(exposure: ExposureProperties, package: str, renderer: DbtJinja) -> DbtObject:
    return DbtObject(
        unique_id=f"exposure.{package}.{exposure.name}",
        name=exposure.name,
        resource_type="exposure",
        package_name=package,
        file_path=exposure.file,
        description=_describe(renderer, exposure.description),
        tags=exposure.tags,
        meta=exposure.meta,
        tier="SILVER",
        confidence=SILVER_CONFIDENCE,
        original_file_path=exposure.file,
    )


def _source_object(table: SourceTable, renderer: DbtJinja) -> DbtObject:
    return DbtObject(
        unique_id=table.unique_id,
        name=table.name,
        resource_type="source",
        package_name=table.package,
        database=table.database,
        schema=table.schema,
        alias=table.identifier,
        file_path=table.file,
        description=_describe(renderer, table.description),
        declared_columns=_describe_columns(renderer, table.columns),
        tags=table.tags,
        meta=table.meta,
        tier="SILVER",
        confidence=SILVER_CONFIDENCE,
        enabled=_truthy(table.config.get("enabled", True)),
        source_name=table.source_name,
        original_file_path=table.file,
    )


# --- the target from profiles.yml -------------------------------------------------------------

_ENV_VAR_DEFAULT_RE = re.compile(r"""env_var\(\s*['"][^'"]+['"]\s*,\s*['"]([^'"]*)['"]\s*\)""")


def target_from_profiles(project: ProjectFile, adapter_type: str | None) -> TargetInfo:
    """The profile's default output if the repository commits a profiles.yml, else neutral defaults."""
    output = _profile_output(project)
    schema = _plain(output.get("schema") or output.get("dataset")) or "analytics"
    database = _plain(
        output.get("database") or output.get("dbname") or output.get("project") or output.get("catalog")
    )
    kind = adapter_type or _plain(output.get("type")) or "default"
    return TargetInfo(adapter_type=kind, schema=schema, database=database)


def _profile_adapter(project: ProjectFile) -> str | None:
    return _plain(_profile_output(project).get("type"))


def _profile_output(project: ProjectFile) -> dict[str, Any]:
    path = project.root / "profiles.yml"
    if not path.is_file() or not project.profile:
        return {}
    try:
        profiles = read_yaml(path) or {}
    except Exception:  # noqa: BLE001 - a broken profiles.yml only loses the target's names
        return {}
    profile = profiles.get(project.profile) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict):
        return {}
    outputs = profile.get("outputs") or {}
    name = _plain(profile.get("target")) or next(iter(outputs), None)
    output = outputs.get(name) if isinstance(outputs, dict) else None
    return output if isinstance(output, dict) else {}


def _plain(value: Any) -> str | None:
    """A profile value, with `{{ env_var('X', 'default') }}` read as its default (never the env)."""
    if value is None:
        return None
    text = str(value)
    if "{{" in text:
        match = _ENV_VAR_DEFAULT_RE.search(text)
        return match.group(1) if match else None
    return text or None
