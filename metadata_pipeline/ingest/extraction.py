"""The plain-data contract every extraction path produces and every later stage consumes.

The manifest reader (GOLD), the raw dbt SQL reader (SILVER) and the plain SQL reader (BRONZE) all
return an `Extraction`; column lineage, enrichment and reconcile read it and never look back at the
files it came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Tier = Literal["GOLD", "SILVER", "BRONZE"]
ColumnSource = Literal["catalog", "manifest", "inferred", "yaml"]

# Confidence per tier: what dbt recorded is exact; what we resolved from Jinja ourselves is nearly so;
# table names pulled from plain SQL can be wrong about schemas and aliases.
TIER_CONFIDENCE: dict[str, float] = {"GOLD": 1.0, "SILVER": 0.95, "BRONZE": 0.7}


@dataclass
class ColumnInfo:
    name: str
    data_type: str | None = None
    description: str | None = None
    position: int | None = None
    source: ColumnSource = "manifest"
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class DbtObject:
    """One node of a dbt project: model, source, seed, snapshot, exposure, analysis..."""

    unique_id: str
    name: str
    resource_type: str
    package_name: str | None = None
    database: str | None = None
    schema: str | None = None
    alias: str | None = None  # the relation name in the warehouse (a source's identifier)
    materialization: str | None = None  # table, view, incremental, ephemeral, seed, snapshot...
    file_path: str | None = None  # relative to the dbt project root
    raw_sql: str | None = None
    compiled_sql: str | None = None
    description: str | None = None
    declared_columns: list[ColumnInfo] = field(default_factory=list)  # schema.yml
    catalog_columns: list[ColumnInfo] | None = None  # catalog.json, None when absent
    tags: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    tier: Tier = "GOLD"
    confidence: float = 1.0
    enabled: bool = True
    source_name: str | None = None  # for sources: the `source('x', ...)` name
    original_file_path: str | None = None
    version: str | None = None  # a versioned model's version (`model.pkg.name.v2` has "2")
    # Snapshots: the bookkeeping columns dbt adds, under the names the project configured
    # (`snapshot_meta_column_names`, dbt 1.9+); empty means dbt's defaults.
    snapshot_columns: list[str] = field(default_factory=list)

    @property
    def relation_name(self) -> str:
        """database.schema.alias with the parts that are known."""
        parts = [p for p in (self.database, self.schema, self.alias or self.name) if p]
        return ".".join(parts)

    @property
    def columns(self) -> list[ColumnInfo]:
        """The best column list known without SQL: catalog first, then schema.yml."""
        return self.catalog_columns if self.catalog_columns else self.declared_columns


@dataclass
class Dependency:
    """`source` depends on `target` (seed 001's convention: target is the upstream)."""

    source: str
    target: str
    extracted_from: str  # manifest | dbt_sql | sql_parsing
    tier: Tier = "GOLD"
    confidence: float = 1.0
    dependency_type: str = "ref"  # ref | source | direct


@dataclass
class ExtractionError:
    message: str
    kind: str  # manifest | catalog | jinja | sql | repository | project
    file: str | None = None
    unique_id: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p)
        who = f" [{self.unique_id}]" if self.unique_id else ""
        return f"{where or '<unknown>'}{who}: {self.message}"


@dataclass
class Extraction:
    """Everything one dbt project yields, independent of how it was read."""

    project_name: str
    project_root: str
    tier: Tier
    objects: list[DbtObject] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    errors: list[ExtractionError] = field(default_factory=list)
    adapter_type: str | None = None  # duckdb, snowflake, bigquery... (drives the SQL dialect)
    manifest_schema_version: int | None = None
    dbt_version: str | None = None
    head_sha: str | None = None

    def by_id(self) -> dict[str, DbtObject]:
        return {o.unique_id: o for o in self.objects}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
