"""Column-level lineage edges: the contract between the lineage engine and later stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MappingType = Literal["Direct", "Transform", "Derived", "Calculated"]
LineageType = Literal["direct", "indirect"]


@dataclass(frozen=True)
class ColumnEdge:
    """`target` column takes its value from (or, when indirect, is shaped by) `source`.

    Both are "unique_id.column". A Calculated column has no upstream: `source` is None.
    Indirect edges (filter, join, group_by, order_by, partition_by, window) carry a `role`.
    """

    target: str
    source: str | None
    mapping_type: MappingType
    lineage_type: LineageType = "direct"
    transformation: str | None = None
    confidence: float = 1.0
    role: str | None = None

    @property
    def target_model(self) -> str:
        return self.target.rsplit(".", 1)[0]

    @property
    def target_column(self) -> str:
        return self.target.rsplit(".", 1)[1]

    @property
    def source_model(self) -> str | None:
        return self.source.rsplit(".", 1)[0] if self.source else None

    @property
    def source_column(self) -> str | None:
        return self.source.rsplit(".", 1)[1] if self.source else None
