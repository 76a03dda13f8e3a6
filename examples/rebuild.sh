#!/usr/bin/env bash
# Rebuild examples/shop/target/{manifest,catalog}.json from a clean DuckDB file.
# Usage: examples/rebuild.sh            (uses the repo's .venv/bin/dbt)
#        DBT=/path/to/dbt examples/rebuild.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
DBT="${DBT:-$repo/.venv/bin/dbt}"
project="$here/shop"

cd "$project"
db="${DBT_DUCKDB_PATH:-shop.duckdb}"
rm -f "$db" "$db.wal"
rm -rf target logs

"$DBT" seed --profiles-dir . --no-partial-parse
"$DBT" build --profiles-dir .
"$DBT" docs generate --profiles-dir .

test -s target/manifest.json
test -s target/catalog.json
echo "rebuilt $project/target/manifest.json and catalog.json"
