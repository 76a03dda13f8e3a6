"""Column-level lineage edges: the contract between the lineage engine and later stages."""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import starmap
from typing import Any, overload

from metadata_pipeline.vocabulary import LineageType, MappingType


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


# One edge as plain data, in ColumnEdge's field order.
EdgeRow = tuple[str, "str | None", str, str, "str | None", float, "str | None"]


class EdgeList(Sequence[ColumnEdge]):
    """A project's edges, kept per model as plain rows (or the cache's marshal bytes of them) and
    turned into ColumnEdge objects on first read.

    A frozen dataclass costs a microsecond or two to build; a large project has tens of
    thousands of edges, most of them indirect. Deferring that lets a warm re-run that replays every
    model from the cache finish without touching them; a consumer that reads the edges pays the same
    once, cold run or warm. Length and per-type counts are known without building anything.
    """

    __slots__ = ("_chunks", "_count", "_direct", "_edges")

    def __init__(self, edges: Iterable[ColumnEdge] = ()) -> None:
        self._chunks: list[list[ColumnEdge] | list[EdgeRow] | bytes] = []
        self._edges: list[ColumnEdge] | None = None
        self._count = 0
        self._direct = 0
        items = list(edges)
        if items:
            self.extend(items)

    # ------------------------------------------------------------------------------ building

    def add_rows(self, rows: list[EdgeRow], direct: int) -> None:
        """Rows in ColumnEdge field order; `direct` of them have lineage_type "direct"."""
        if rows:
            self._add(rows, len(rows), direct)

    def add_encoded(self, blob: bytes, count: int, direct: int) -> None:
        """zlib-compressed `marshal.dumps` of a list of rows, decoded only when read."""
        if count:
            self._add(blob, count, direct)

    def append(self, edge: ColumnEdge) -> None:
        self._add([edge], 1, edge.lineage_type == "direct")

    def extend(self, edges: Iterable[ColumnEdge]) -> None:
        items = list(edges)
        if items:
            self._add(items, len(items), sum(1 for e in items if e.lineage_type == "direct"))

    def _add(self, chunk: list[ColumnEdge] | list[EdgeRow] | bytes, count: int, direct: int) -> None:
        if self._edges is not None:
            self._edges.extend(_edges_of(chunk))
        else:
            self._chunks.append(chunk)
        self._count += count
        self._direct += direct

    # ------------------------------------------------------------------------------ reading

    @property
    def direct_count(self) -> int:
        return self._direct

    @property
    def indirect_count(self) -> int:
        return self._count - self._direct

    def _all(self) -> list[ColumnEdge]:
        edges = self._edges
        if edges is None:
            edges = []
            for chunk in self._chunks:
                edges.extend(_edges_of(chunk))
            self._edges = edges
            self._chunks = []
        return edges

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[ColumnEdge]:
        return iter(self._all())

    @overload
    def __getitem__(self, index: int) -> ColumnEdge: ...

    @overload
    def __getitem__(self, index: slice) -> list[ColumnEdge]: ...

    def __getitem__(self, index: int | slice) -> ColumnEdge | list[ColumnEdge]:
        return self._all()[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EdgeList):
            return self._all() == other._all()
        if isinstance(other, list):
            return self._all() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __repr__(self) -> str:
        return f"EdgeList({self._all()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (e.g. by Dagster's IO manager) as the edges themselves: marshal bytes are only
        # meant for this interpreter.
        return (EdgeList, (self._all(),))


def _edges_of(chunk: list[ColumnEdge] | list[EdgeRow] | bytes) -> Iterable[ColumnEdge]:
    if isinstance(chunk, bytes):
        return starmap(ColumnEdge, marshal.loads(zlib.decompress(chunk)))
    if chunk and isinstance(chunk[0], ColumnEdge):
        return chunk  # type: ignore[return-value]
    return starmap(ColumnEdge, chunk)  # type: ignore[arg-type]
