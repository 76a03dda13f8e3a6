"""Score `statement_lineage` on DataHub's sqlglot lineage goldens (peer cases).

Usage: python bench/bench_peer_cases.py [--cases FILE] [--verbose] [--only ID]

A case passes when our input tables, output table and per-column upstream sets all equal the golden's.
Names are compared case-insensitively: DataHub lower-cases identifiers where we keep each dialect's
own normalization (Snowflake upper-cases unquoted names). Cases whose golden has no column lineage
are scored on tables only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metadata_pipeline.lineage.column_lineage import StatementLineage, statement_lineage  # noqa: E402

DEFAULT_CASES = Path("/work/shared/peer-cases/datahub_sqlglot_goldens.jsonl")

# DataHub platform names that are not sqlglot dialect names.
_DIALECTS = {"mssql": "tsql", "dremio": "dremio"}


def _fold(name: str | None) -> str:
    return (name or "").casefold()


def _table_set(names: list[str] | None) -> set[str]:
    return {_fold(n) for n in names or []}


def _expected_columns(case: dict[str, Any]) -> dict[str, set[tuple[str, str]]] | None:
    lineage = case.get("column_lineage")
    if lineage is None:
        return None
    return {
        _fold(c["downstream_column"]): {(_fold(u["table"]), _fold(u["column"])) for u in c["upstreams"]}
        for c in lineage
    }


def _actual_columns(result: StatementLineage) -> dict[str, set[tuple[str, str]]]:
    return {_fold(c.column): {(_fold(t), _fold(col)) for t, col in c.upstreams} for c in result.columns}


def score_case(case: dict[str, Any]) -> dict[str, Any]:
    dialect = _DIALECTS.get(case["dialect"], case["dialect"])
    started = time.perf_counter()
    result = statement_lineage(
        case["sql"],
        dialect,
        schema=case.get("schemas") or None,
        default_db=case.get("default_db"),
        default_schema=case.get("default_schema"),
        timeout_s=10,
    )
    elapsed = time.perf_counter() - started
    tables_ok = _table_set(result.tables) == _table_set(case.get("in_tables"))
    out_ok = _table_set([result.target] if result.target else []) == _table_set(case.get("out_tables"))
    expected = _expected_columns(case)
    actual = _actual_columns(result)
    columns_ok = expected is None or expected == actual
    return {
        "id": case["id"],
        "dialect": case["dialect"],
        "pass": tables_ok and out_ok and columns_ok,
        "tables_ok": tables_ok,
        "out_ok": out_ok,
        "columns_ok": columns_ok,
        "scored_columns": expected is not None,
        "expected": expected,
        "actual": actual,
        "result": result,
        "case": case,
        "seconds": elapsed,
    }


def _print_failure(row: dict[str, Any]) -> None:
    case, result = row["case"], row["result"]
    print(f"--- FAIL {row['id']} ({row['dialect']})")
    if not row["tables_ok"]:
        print(
            f"    in_tables expected {sorted(_table_set(case.get('in_tables')))} got {sorted(_table_set(result.tables))}"
        )
    if not row["out_ok"]:
        print(f"    out_tables expected {case.get('out_tables')} got {result.target}")
    if not row["columns_ok"]:
        expected, actual = row["expected"] or {}, row["actual"]
        for name in sorted(set(expected) | set(actual)):
            if expected.get(name) != actual.get(name):
                print(
                    f"    column {name!r}: expected {sorted(expected.get(name, ()))} got {sorted(actual.get(name, ())) if name in actual else 'MISSING'}"
                )
    if result.errors:
        print(f"    errors: {result.errors}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--verbose", action="store_true", help="print every failure")
    parser.add_argument("--only", help="run one case id")
    args = parser.parse_args(argv)

    cases = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    if args.only:
        cases = [c for c in cases if c["id"] == args.only]
    rows = [score_case(c) for c in cases]

    by_dialect: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_dialect[row["dialect"]].append(row)
        if args.verbose and not row["pass"]:
            _print_failure(row)

    print(f"{'dialect':<12} {'cases':>5} {'pass':>5} {'tables':>7} {'columns':>8}")
    for dialect in sorted(by_dialect, key=lambda d: (-len(by_dialect[d]), d)):
        group = by_dialect[dialect]
        print(
            f"{dialect:<12} {len(group):>5} {sum(r['pass'] for r in group):>5} "
            f"{sum(r['tables_ok'] and r['out_ok'] for r in group):>7} {sum(r['columns_ok'] for r in group):>8}"
        )
    total = len(rows)
    passed = sum(r["pass"] for r in rows)
    scored = [r for r in rows if r["scored_columns"]]
    print(
        f"{'TOTAL':<12} {total:>5} {passed:>5} {sum(r['tables_ok'] and r['out_ok'] for r in rows):>7} "
        f"{sum(r['columns_ok'] for r in rows):>8}"
    )
    print(
        f"pass rate {passed / max(total, 1):.1%}; column lineage exact on {sum(r['columns_ok'] for r in scored)}/{len(scored)} cases with a column golden"
    )
    print(f"mean time per statement {1000 * sum(r['seconds'] for r in rows) / max(total, 1):.1f} ms")
    failed = [r["id"] for r in rows if not r["pass"]]
    if failed and not args.verbose:
        print("failing:", ", ".join(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
