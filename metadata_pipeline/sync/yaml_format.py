"""The metadata YAML file format (seed 000 section 4.7): schema, deterministic writer, strict reader.

Writing is deterministic: the same catalog state gives a byte-identical file (fixed key order, sorted
columns, lineage and references, no timestamps that move without a real change), so a commit that
changes nothing in the catalog changes nothing in Git.

Reading has `yaml.safe_load` semantics, narrowed further: the SafeLoader's composer (libyaml's
CSafeLoader when available) builds nodes, and data is built from them with SafeConstructor's scalar
conversions for the core tags only; any other tag (`!!python/object...`, `!!binary`, `!custom`) is
refused, as are aliases (an alias bomb expands to gigabytes once validated) and duplicate keys (the
last would silently win). The data is then validated against a pydantic schema. Every error names
the file, the line and the field path, found through the YAML node marks.

The writer is byte-identical to PyYAML's emitter but assembles lines from cached scalar decisions,
which makes 1,000 files take about a second instead of forty.
"""

from __future__ import annotations

import io
import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from metadata_pipeline.catalog.models import REFERENCE_TYPES
from metadata_pipeline.sync.errors import YamlFormatError
from metadata_pipeline.vocabulary import (
    ENTITY_SUBTYPES,
    ENTITY_TYPES,
    LINEAGE_TYPES,
    MAPPING_TYPES,
    MEDALLION_LAYERS,
    EntitySubtype,
    EntityType,
    LineageType,
    MappingType,
    MedallionLayer,
)

FORMAT_VERSION = "1.0"
MAX_FILE_BYTES = 2 * 1024 * 1024  # a dataset file is a few KB; anything this large is not ours
YAML_SUFFIXES = (".yml", ".yaml")

# Only the core tags a plain document resolves to; anything else (`!!python/object`, `!!binary`,
# `!!set`, custom `!tags`, the `<<` merge key) is refused before construction.
_CORE = "tag:yaml.org,2002:"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_ALLOWED_TAGS = frozenset(
    _CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
OptionalText = str | None
Short = Annotated[str, StringConstraints(max_length=32)]


def _canonical_choice(value: Any, choices: tuple[str, ...]) -> Any:
    """Accept `gold` for `Gold`: the database check constraints want the canonical spelling."""
    if isinstance(value, str):
        for choice in choices:
            if value.casefold() == choice.casefold():
                return choice
    return value


def _check_finite(value: Any, where: str = "metadata") -> None:
    # JSON (and PostgreSQL JSONB) has no NaN or Infinity, which YAML's `.nan`/`.inf` would produce.
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_finite(item, f"{where}[{index}]")


class _Spec(BaseModel):
    # Unknown keys are errors: a typo (`descriptoin:`) must not be silently dropped.
    model_config = ConfigDict(extra="forbid")


class ColumnSpec(_Spec):
    uuid: UUID | None = None  # optional when written by hand: matched by name, else derived
    name: Name
    data_type: Annotated[str, StringConstraints(min_length=1, max_length=255)] = "unknown"
    description: OptionalText = None
    business_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    is_primary_key: StrictBool = False
    is_foreign_key: StrictBool = False
    is_nullable: StrictBool = True
    transformation_logic: OptionalText = None
    position: StrictInt | None = None
    pii_category: Short | None = None


class ReferenceSpec(_Spec):
    """A column's reference to another dataset's column (the catalog keeps it on the column)."""

    target_dataset_uuid: UUID | None = None
    target_dataset_fqn: str | None = None
    reference_type: Literal["FK", "BusinessKey", "NaturalKey"] | None = None
    # Lists as in the seed, but the catalog stores one reference per column: exactly one each.
    source_columns: Annotated[list[str], Field(min_length=1, max_length=1)]
    target_columns: Annotated[list[str], Field(min_length=1, max_length=1)]
    description: OptionalText = None

    @field_validator("reference_type", mode="before")
    @classmethod
    def _ref_type(cls, value: Any) -> Any:
        return _canonical_choice(value, REFERENCE_TYPES)


class LineageSpec(_Spec):
    """One column-level lineage edge into a column of this dataset; uuids win over names."""

    upstream_dataset_uuid: UUID | None = None
    upstream_dataset_fqn: str | None = None
    upstream_column_uuid: UUID | None = None
    upstream_column_name: str | None = None
    downstream_column_uuid: UUID | None = None
    downstream_column_name: str | None = None
    mapping_type: MappingType
    transformation_expression: OptionalText = None
    lineage_type: LineageType = "direct"
    role: Short | None = None

    @field_validator("mapping_type", mode="before")
    @classmethod
    def _mapping(cls, value: Any) -> Any:
        return _canonical_choice(value, MAPPING_TYPES)

    @field_validator("lineage_type", mode="before")
    @classmethod
    def _lineage_type(cls, value: Any) -> Any:
        return _canonical_choice(value, LINEAGE_TYPES)

    @model_validator(mode="after")
    def _consistent(self) -> LineageSpec:
        if self.downstream_column_uuid is None and not self.downstream_column_name:
            raise ValueError("needs downstream_column_uuid or downstream_column_name")
        if self.lineage_type == "indirect" and not self.role:
            raise ValueError("an indirect lineage edge needs a role")
        if (
            self.upstream_column_uuid is None
            and self.upstream_column_name
            and not (self.upstream_dataset_uuid or self.upstream_dataset_fqn)
        ):
            raise ValueError("upstream_column_name needs upstream_dataset_uuid or upstream_dataset_fqn")
        return self


class DatasetSpec(_Spec):
    uuid: UUID
    fqn: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    name: Name
    medallion_layer: MedallionLayer | None = None
    entity_type: EntityType | None = None
    entity_subtype: EntitySubtype | None = None
    materialization_type: Short | None = None
    description: OptionalText = None
    metadata: dict[str, JsonValue] | None = None
    columns: list[ColumnSpec] = Field(default_factory=list)
    references: list[ReferenceSpec] = Field(default_factory=list)
    lineage: list[LineageSpec] = Field(default_factory=list)

    @field_validator("medallion_layer", mode="before")
    @classmethod
    def _layer(cls, value: Any) -> Any:
        return _canonical_choice(value, MEDALLION_LAYERS)

    @field_validator("entity_type", mode="before")
    @classmethod
    def _entity_type(cls, value: Any) -> Any:
        return _canonical_choice(value, ENTITY_TYPES)

    @field_validator("entity_subtype", mode="before")
    @classmethod
    def _entity_subtype(cls, value: Any) -> Any:
        return _canonical_choice(value, ENTITY_SUBTYPES)

    @field_validator("metadata")
    @classmethod
    def _finite(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        _check_finite(value)
        return value

    @field_validator("columns")
    @classmethod
    def _unique_columns(cls, columns: list[ColumnSpec]) -> list[ColumnSpec]:
        names = [c.name for c in columns]
        dup_names = sorted({n for n in names if names.count(n) > 1})
        if dup_names:
            raise ValueError(f"duplicate column name(s): {', '.join(dup_names)}")
        uuids = [c.uuid for c in columns if c.uuid is not None]
        if len(uuids) != len(set(uuids)):
            raise ValueError("duplicate column uuid(s)")
        return columns


class DatasetDocument(_Spec):
    version: Literal["1.0"]
    dataset: DatasetSpec
    # Audit trail. Only created_at is written (it never changes); the other three are accepted for
    # files written after the seed's example but ignored: Git itself records when and in which
    # commit a file changed, and writing them would rewrite every file on every commit.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_synced_at: datetime | None = None
    source_control_commit_sha: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        # An unquoted `version: 1.0` is a float in YAML; it still means format 1.0.
        return FORMAT_VERSION if value in (1.0, "1.0") else value


# ---------------------------------------------------------------------------------------------
# Writing


class _Dumper(yaml.SafeDumper):
    """Block style, indented sequences (as in the seed), never anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:  # shared objects must not become `&id001`
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # line breaks to YAML, which a reader would normalize


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line SQL and descriptions read best as literal blocks; the emitter falls back to a
    # quoted style by itself whenever a literal block could not round-trip the exact text.
    if any(b in data for b in _ODD_BREAKS):  # only double quotes keep them (as escapes)
        return dumper.represent_scalar(_CORE + "str", data, style='"')
    if "\n" in data:
        return dumper.represent_scalar(_CORE + "str", data, style="|")
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)


def format_timestamp(value: datetime | None) -> str | None:
    """UTC, second precision: SQLite returns naive datetimes and PostgreSQL aware ones."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sorted_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _sorted_json(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def _opt_uuid(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def column_sort_key(column: ColumnSpec) -> tuple[int, int, str]:
    return (column.position is None, column.position or 0, column.name)


def column_data(column: ColumnSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "uuid": _opt_uuid(column.uuid),
        "name": column.name,
        "data_type": column.data_type,
    }
    if column.uuid is None:
        del data["uuid"]
    # Optional text is omitted when unset (as in the seed's example); flags are always written.
    for key in ("description", "business_name"):
        if getattr(column, key) is not None:
            data[key] = getattr(column, key)
    data["is_primary_key"] = column.is_primary_key
    data["is_foreign_key"] = column.is_foreign_key
    data["is_nullable"] = column.is_nullable
    if column.transformation_logic is not None:
        data["transformation_logic"] = column.transformation_logic
    if column.position is not None:
        data["position"] = column.position
    if column.pii_category is not None:
        data["pii_category"] = column.pii_category
    return data


def reference_data(ref: ReferenceSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "target_dataset_uuid": _opt_uuid(ref.target_dataset_uuid),
        "target_dataset_fqn": ref.target_dataset_fqn,
        "reference_type": ref.reference_type,
        "source_columns": list(ref.source_columns),
        "target_columns": list(ref.target_columns),
    }
    if ref.description is not None:
        data["description"] = ref.description
    return data


def lineage_data(edge: LineageSpec) -> dict[str, Any]:
    data: dict[str, Any] = {
        "upstream_dataset_uuid": _opt_uuid(edge.upstream_dataset_uuid),
        "upstream_dataset_fqn": edge.upstream_dataset_fqn,
        "upstream_column_uuid": _opt_uuid(edge.upstream_column_uuid),
        "upstream_column_name": edge.upstream_column_name,
        "downstream_column_uuid": _opt_uuid(edge.downstream_column_uuid),
        "downstream_column_name": edge.downstream_column_name,
        "mapping_type": edge.mapping_type,
    }
    if edge.transformation_expression is not None:
        data["transformation_expression"] = edge.transformation_expression
    # Written only for the uncommon indirect edges (and roles), so common files match the seed.
    if edge.lineage_type != "direct":
        data["lineage_type"] = edge.lineage_type
    if edge.role is not None:
        data["role"] = edge.role
    return data


def _lineage_key(data: dict[str, Any]) -> tuple[str, ...]:
    fields = (
        "downstream_column_name",
        "upstream_dataset_fqn",
        "upstream_column_name",
        "lineage_type",
        "role",
        "mapping_type",
        "transformation_expression",
        "downstream_column_uuid",
        "upstream_column_uuid",
        "upstream_dataset_uuid",
    )
    return tuple(str(data.get(f) or "") for f in fields)


def _reference_key(data: dict[str, Any]) -> tuple[str, ...]:
    return (data["source_columns"][0], str(data.get("target_dataset_fqn") or ""), data["target_columns"][0])


def document_data(doc: DatasetDocument) -> dict[str, Any]:
    """The document as plain, ordered, JSON-compatible data: what is written and what is compared."""
    ds = doc.dataset
    dataset: dict[str, Any] = {
        "uuid": str(ds.uuid),
        "fqn": ds.fqn,
        "name": ds.name,
        "medallion_layer": ds.medallion_layer,
        "entity_type": ds.entity_type,
        "entity_subtype": ds.entity_subtype,
        "materialization_type": ds.materialization_type,
        "description": ds.description,
        "metadata": _sorted_json(ds.metadata),
        "columns": [column_data(c) for c in sorted(ds.columns, key=column_sort_key)],
        "references": sorted((reference_data(r) for r in ds.references), key=_reference_key),
        "lineage": sorted((lineage_data(e) for e in ds.lineage), key=_lineage_key),
    }
    data: dict[str, Any] = {"version": FORMAT_VERSION, "dataset": dataset}
    if doc.created_at is not None:
        data["created_at"] = format_timestamp(doc.created_at)
    return data


_WIDTH = 1 << 30  # never fold long lines: a folded scalar's text would depend on its indentation


def slow_dump(data: Any) -> str:
    """PyYAML's emitter: the reference output (pure Python, ~40 ms for a 20-column dataset)."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=_WIDTH
    )


class _NeedsSlowPath(Exception):
    pass


_ANALYZER = yaml.emitter.Emitter(io.StringIO(), allow_unicode=True)
_RESOLVER = yaml.resolver.Resolver()


def _one_line_string(value: str) -> str | None:
    """PyYAML's own style decision for a one-line string (plain, else single-quoted), without
    running its emitter; None when it would pick double quotes (left to the emitter itself)."""
    if "\n" in value or any(b in value for b in _ODD_BREAKS):
        return None
    analysis = _ANALYZER.analyze_scalar(value)
    implicit = _RESOLVER.resolve(ScalarNode, value, (True, False)) == _CORE + "str"
    if implicit and analysis.allow_block_plain and not analysis.empty:
        return value
    if analysis.allow_single_quoted:
        return "'" + value.replace("'", "''") + "'"
    return None


@lru_cache(maxsize=1 << 16)
def _string_value(value: str) -> tuple[str, tuple[str, ...], bool]:
    """How PyYAML writes a string as a mapping value: the text after `key: `, the lines of a
    literal block (indented for a key at column 0), and whether it leaves the document open-ended
    (a `|+` block: PyYAML then ends the stream with `...` if nothing follows)."""
    simple = _one_line_string(value)
    if simple is not None:
        return simple, (), False
    first, *rest = slow_dump({"k": value})[:-1].split("\n")
    open_ended = bool(rest) and rest[-1] == "..."
    return first[3:], tuple(rest[:-1] if open_ended else rest), open_ended


class _FastEmitter:
    """Writes a document line by line the way PyYAML's emitter (with `_Dumper`) would."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.open_ended = False

    def scalar(self, value: Any) -> tuple[str, tuple[str, ...]]:
        self.open_ended = False
        if value is None:
            return "null", ()
        if isinstance(value, bool):
            return ("true" if value else "false"), ()
        if isinstance(value, int):
            return str(value), ()
        if isinstance(value, str):
            text, block, self.open_ended = _string_value(value)
            return text, block
        raise _NeedsSlowPath

    def mapping(self, mapping: dict[str, Any], indent: int) -> None:
        pad = " " * indent
        for key, value in mapping.items():
            if key == "metadata" or not _IDENTIFIER.match(key):  # free-form: PyYAML writes it
                snippet = slow_dump({key: value})[:-1].split("\n")
                if snippet[-1] == "...":
                    raise _NeedsSlowPath
                self.lines.extend(pad + line if line else line for line in snippet)
                self.open_ended = False
            elif isinstance(value, dict | list) and value:
                self.lines.append(f"{pad}{key}:")
                if isinstance(value, dict):
                    self.mapping(value, indent + 2)
                else:
                    self.sequence(value, indent + 2)
            elif isinstance(value, dict | list):
                self.lines.append(f"{pad}{key}: {'{}' if isinstance(value, dict) else '[]'}")
                self.open_ended = False
            else:
                text, block = self.scalar(value)
                self.lines.append(f"{pad}{key}: {text}")
                self.lines.extend(pad + line if line else line for line in block)

    def sequence(self, items: list[Any], indent: int) -> None:
        pad = " " * indent
        for item in items:
            if isinstance(item, dict) and item:
                first = len(self.lines)
                self.mapping(item, indent + 2)
                self.lines[first] = pad + "- " + self.lines[first][indent + 2 :]
                continue
            if isinstance(item, dict | list):
                raise _NeedsSlowPath
            text, block = self.scalar(item)
            if block:
                raise _NeedsSlowPath
            self.lines.append(f"{pad}- {text}")


def dump_data(data: dict[str, Any]) -> str:
    """The document's YAML. Byte-identical to PyYAML's emitter (a property test holds it to that),
    but built line by line from cached scalar decisions: 1,000 datasets in about a second."""
    emitter = _FastEmitter()
    try:
        emitter.mapping(data, 0)
    except _NeedsSlowPath:
        return slow_dump(data)
    return "\n".join(emitter.lines) + ("\n...\n" if emitter.open_ended else "\n")


def dump_document(doc: DatasetDocument) -> str:
    return dump_data(document_data(doc))


# ---------------------------------------------------------------------------------------------
# Reading


# libyaml composes ~30x faster than pure Python; both share one node object per alias target.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NodeProblem(Exception):
    def __init__(self, message: str, line: int | None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field or None


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _TreeBuilder:
    """Builds plain Python data from the node tree, refusing on the way aliases, non-core tags,
    complex or duplicate keys and impossible dates, each with the culprit's line and field.

    An alias is the same node object met twice (the composer never copies), so a billion-laughs
    document is refused after visiting each distinct node once, before anything expands.
    """

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.scalars = yaml.SafeLoader("")  # only its scalar conversions are used

    def build(self, node: Node, field: str, line: int) -> Any:
        if id(node) in self.seen:
            raise _NodeProblem("aliases (*name) are not allowed in metadata files", line, field)
        self.seen.add(id(node))
        if node.tag not in _ALLOWED_TAGS:
            raise _NodeProblem(f"tag {_short_tag(node.tag)} is not allowed", node.start_mark.line + 1, field)
        if isinstance(node, MappingNode):
            return self.mapping(node, field)
        if isinstance(node, SequenceNode):
            here = node.start_mark.line + 1
            return [self.build(item, f"{field}[{i}]", here) for i, item in enumerate(node.value)]
        return self.scalar(node, field)

    def scalar(self, node: Node, field: str) -> Any:
        kind = node.tag[len(_CORE) :]
        if kind == "str":
            return node.value
        if kind == "null":
            return None
        try:
            return getattr(self.scalars, f"construct_yaml_{kind}")(node)
        except (ValueError, OverflowError) as exc:  # 2025-13-45
            raise _NodeProblem(f"invalid {kind}: {exc}", node.start_mark.line + 1, field) from None

    def mapping(self, node: MappingNode, field: str) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _ALLOWED_TAGS:
                raise _NodeProblem("keys must be plain scalars", line, field)
            key = self.scalar(key_node, field)
            child = f"{field}.{key}" if field else str(key)
            if key in result:
                raise _NodeProblem(f"duplicate key {key!r}", line, child)
            result[key] = self.build(value_node, child, line)
        return result


def _compose(text: str, path: str) -> Node:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlFormatError(path, f"not valid YAML: {exc.problem or exc}", line) from None
    except yaml.YAMLError as exc:
        raise YamlFormatError(path, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YamlFormatError(path, "nesting is too deep") from None
    finally:
        loader.dispose()
    if node is None:
        raise YamlFormatError(path, "the file is empty")
    return node


def _construct(node: Node, path: str) -> Any:
    try:
        return _TreeBuilder().build(node, "", node.start_mark.line + 1)
    except _NodeProblem as exc:
        raise YamlFormatError(path, exc.message, exc.line, exc.field) from None
    except RecursionError:
        raise YamlFormatError(path, "nesting is too deep") from None


def _node_at(root: Node, loc: tuple[int | str, ...]) -> tuple[int, str]:
    """The line and field path of a pydantic error location: the line of the deepest key found
    (a missing key is reported on its parent's line), or of the list item."""
    node, field, line = root, "", root.start_mark.line + 1
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            field = f"{field}.{part}" if field else part
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node, field = node.value[part], f"{field}[{part}]"
            line = node.start_mark.line + 1
        # Anything else is pydantic's own location part (a union member, a validator): skip it.
    return line, field


def _describe(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if error.get("type") == "missing":
        return "required field is missing"
    return message


def parse_document(content: str | bytes, path: str) -> DatasetDocument:
    """Parse and validate one metadata file; raises YamlFormatError naming file, line and field."""
    if len(content) > MAX_FILE_BYTES:
        raise YamlFormatError(path, f"file is larger than {MAX_FILE_BYTES} bytes")
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlFormatError(path, f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in content:
        raise YamlFormatError(path, "binary content (NUL byte) is not YAML")
    node = _compose(content, path)
    data = _construct(node, path)
    if not isinstance(data, dict):
        raise YamlFormatError(
            path, "expected a mapping with `version` and `dataset`", node.start_mark.line + 1
        )
    try:
        return DatasetDocument.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        line, field = _node_at(node, tuple(first["loc"]))
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise YamlFormatError(path, _describe(dict(first)) + more, line, field) from None


def locate_field(content: str, loc: tuple[int | str, ...]) -> int | None:
    """The line of a field path in a file that already parsed (for errors found after validation)."""
    try:
        node = _compose(content, "")
    except YamlFormatError:
        return None
    return _node_at(node, loc)[0]
