"""BRONZE: a folder of plain `.sql` files with no dbt at all, read by parsing each file with sqlglot.

Each file is one object. When its SQL creates or inserts into a table (CREATE, INSERT, MERGE), that
table names the object; otherwise the file name does. Its dependencies are the tables it reads,
minus its CTEs and its own target. A table no file produces becomes a `source` object, so the
output has the same shape as GOLD and SILVER, at BRONZE confidence: schemas and aliases guessed
from plain SQL can be wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from metadata_pipeline.ingest.discovery import SKIP_DIRS
from metadata_pipeline.ingest.errors import ProjectError
from metadata_pipeline.ingest.extraction import (
    TIER_CONFIDENCE,
    DbtObject,
    Dependency,
    Extraction,
    ExtractionError,
)

BRONZE_CONFIDENCE = TIER_CONFIDENCE["BRONZE"]
_TARGET_STATEMENTS = (exp.Create, exp.Insert, exp.Merge)
QualifiedName = tuple[str, ...]  # (database?, schema?, name), lower-cased


@dataclass
class _SqlFile:
    """What one file says: the table it writes (if any) and the tables it reads."""

    path: str
    text: str
    target: QualifiedName | None = None
    reads: list[QualifiedName] = field(default_factory=list)
    error: ExtractionError | None = None


def read_plain_sql(root: Path, *, dialect: str | None = None, project_name: str | None = None) -> Extraction:
    """A BRONZE Extraction of every .sql file under `root` (ProjectError when there is none)."""
    files = [_parse_file(root, path, dialect) for path in sql_files(root)]
    if not files:
        raise ProjectError(f"{root}: no dbt project and no .sql files to read", path=root)
    name = project_name or root.resolve().name
    extraction = Extraction(project_name=name, project_root=str(root), tier="BRONZE", adapter_type=dialect)
    ids = _assign_ids(name, files)
    by_name = _name_index(files, ids)
    sources: dict[str, DbtObject] = {}
    for unique_id, sql_file in zip(ids, files, strict=True):
        extraction.objects.append(_file_object(unique_id, name, sql_file))
        if sql_file.error:
            extraction.errors.append(sql_file.error)
        for table in dict.fromkeys(sql_file.reads):
            target = by_name.get(table) or _source_for(name, table, sources)
            if target != unique_id:
                extraction.dependencies.append(
                    Dependency(unique_id, target, "sql_parsing", "BRONZE", BRONZE_CONFIDENCE, "direct")
                )
    extraction.objects.extend(sources.values())
    return extraction


def sql_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        found.extend(Path(dirpath) / f for f in sorted(filenames) if f.lower().endswith(".sql"))
    return found


def _parse_file(root: Path, path: Path, dialect: str | None) -> _SqlFile:
    relative = path.relative_to(root).as_posix()
    sql_file = _SqlFile(path=relative, text=path.read_text(encoding="utf-8", errors="replace"))
    try:
        statements = [s for s in sqlglot.parse(sql_file.text, read=dialect) if s is not None]
    except (ParseError, TokenError) as exc:
        sql_file.error = _parse_error(exc, relative)
        return sql_file
    for statement in statements:
        _read_statement(sql_file, statement)
    return sql_file


def _read_statement(sql_file: _SqlFile, statement: exp.Expr) -> None:
    target = _statement_target(statement)
    if target is not None and sql_file.target is None:
        sql_file.target = target
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    for table in statement.find_all(exp.Table):
        name = _qualified(table)
        if not name or (len(name) == 1 and name[0] in ctes) or name == target:
            continue
        sql_file.reads.append(name)


def _statement_target(statement: exp.Expr) -> QualifiedName | None:
    if not isinstance(statement, _TARGET_STATEMENTS):
        return None
    node = statement.this
    if isinstance(node, exp.Schema):  # CREATE TABLE t (columns...)
        node = node.this
    return _qualified(node) if isinstance(node, exp.Table) else None


def _qualified(table: exp.Table) -> QualifiedName:
    parts = [p for p in (table.catalog, table.db, table.name) if p]
    return tuple(p.lower() for p in parts)


def _object_name(sql_file: _SqlFile) -> str:
    return sql_file.target[-1] if sql_file.target else Path(sql_file.path).stem.lower()


def _assign_ids(project: str, files: list[_SqlFile]) -> list[str]:
    """`model.<project>.<table or file name>`, made unique with the file's path when names clash."""
    ids: list[str] = []
    taken: set[str] = set()
    for sql_file in files:
        unique_id = f"model.{project}.{_object_name(sql_file)}"
        if unique_id in taken:
            path_part = Path(sql_file.path).with_suffix("").as_posix().replace("/", "__")
            unique_id = f"{unique_id}__{path_part}"
        taken.add(unique_id)
        ids.append(unique_id)
    return ids


def _name_index(files: list[_SqlFile], ids: list[str]) -> dict[QualifiedName, str]:
    """Table names (as written, and bare) -> the file object producing that table (the first one)."""
    index: dict[QualifiedName, str] = {}
    bare: dict[QualifiedName, set[str]] = {}
    for sql_file, unique_id in zip(files, ids, strict=True):
        name = sql_file.target or (Path(sql_file.path).stem.lower(),)
        index.setdefault(name, unique_id)
        bare.setdefault(name[-1:], set()).add(unique_id)
    for name, producers in bare.items():
        if len(producers) == 1:  # a bare name is only trusted when one file produces it
            index.setdefault(name, next(iter(producers)))
    return index


def _source_for(project: str, table: QualifiedName, sources: dict[str, DbtObject]) -> str:
    """An external table read by some file, recorded once as a `source` object."""
    schema = ".".join(table[:-1]) or "default"
    unique_id = f"source.{project}.{schema}.{table[-1]}"
    if unique_id not in sources:
        sources[unique_id] = DbtObject(
            unique_id=unique_id,
            name=table[-1],
            resource_type="source",
            package_name=project,
            database=table[0] if len(table) == 3 else None,
            schema=table[-2] if len(table) >= 2 else None,
            alias=table[-1],
            tier="BRONZE",
            confidence=BRONZE_CONFIDENCE,
            source_name=schema,
        )
    return unique_id


def _file_object(unique_id: str, project: str, sql_file: _SqlFile) -> DbtObject:
    target = sql_file.target or ()
    return DbtObject(
        unique_id=unique_id,
        name=_object_name(sql_file),
        resource_type="model",
        package_name=project,
        database=target[0] if len(target) == 3 else None,
        schema=target[-2] if len(target) >= 2 else None,
        alias=target[-1] if target else Path(sql_file.path).stem,
        file_path=sql_file.path,
        raw_sql=sql_file.text,
        compiled_sql=sql_file.text,
        tier="BRONZE",
        confidence=BRONZE_CONFIDENCE,
        original_file_path=sql_file.path,
    )


def _parse_error(exc: Exception, file: str) -> ExtractionError:
    details = getattr(exc, "errors", None) or [{}]
    first = details[0] if isinstance(details[0], dict) else {}
    message = str(first.get("description") or exc).splitlines()[0]
    return ExtractionError(f"cannot parse SQL: {message}", kind="sql", file=file, line=first.get("line"))
