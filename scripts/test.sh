#!/usr/bin/env bash
# Runs every test of the workspace: unit, property, doc, store and end-to-end tests, on SQLite
# files and on a real PostgreSQL. Without LOYALTY_TEST_DATABASE_URL it starts a throwaway
# PostgreSQL cluster on 127.0.0.1 (installing PostgreSQL first if needed) and removes it after.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LOYALTY_TEST_DATABASE_URL:-}" ]; then
  # shellcheck source=scripts/pg-throwaway.sh
  source scripts/pg-throwaway.sh
fi

cargo test --workspace "$@"
