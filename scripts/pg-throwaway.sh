# shellcheck shell=bash
# Sourced by scripts/test.sh: starts a throwaway PostgreSQL cluster on 127.0.0.1 for the tests
# and exports LOYALTY_TEST_DATABASE_URL pointing at it. Installs PostgreSQL from the distribution
# first when the machine has none (needs root, as on CI). The cluster and its files are removed
# when the calling shell exits.

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

PG_BIN=$(pg_bin_dir)
if [ -z "$PG_BIN" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "PostgreSQL is not installed; run: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  echo "installing PostgreSQL (apt-get install -y postgresql) ..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PG_BIN=$(pg_bin_dir)
fi

PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/loyalty-pg.XXXXXX")
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# initdb refuses to run as root: run the cluster as the `postgres` system user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$PG_DIR"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
  cat "$PG_DIR/initdb.log" >&2
  exit 1
}
as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" \
  >/dev/null || {
  cat "$PG_DIR/server.log" >&2
  exit 1
}

stop_throwaway_pg() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_throwaway_pg EXIT

export LOYALTY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "throwaway PostgreSQL on 127.0.0.1:$PG_PORT" >&2
