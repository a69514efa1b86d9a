#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for seer's tests (Debian's postgresql package), listening
# on a Unix socket in its own directory and on 127.0.0.1:$PORT, trusting local connections.
# Prints the URL the tests read from SEER_TEST_POSTGRES. Stop it with: scripts/pg-test-cluster.sh stop
# SEER_PG_DURABLE=1 keeps fsync on (for benchmarks: the tests' cluster turns it off).
set -euo pipefail
DIR=${SEER_PG_DIR:-/tmp/seer-pg}
PORT=${SEER_PG_PORT:-54329}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "no PostgreSQL server: apt-get install postgresql" >&2; exit 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ "${1:-start}" = stop ]; then
    [ -d "$DIR/data" ] && as_postgres "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null || true
    exit 0
fi
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
fi
if ! as_postgres "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    # Tests make and drop many schemas and connections: fsync off, more connections than the default.
    sync="-c fsync=off"
    [ "${SEER_PG_DURABLE:-}" = 1 ] && sync=""
    as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start \
        -o "-k $DIR -p $PORT -c listen_addresses=127.0.0.1 $sync -c max_connections=300" >/dev/null
fi
as_postgres "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'seer_test'" | grep -q 1 ||
    as_postgres "$BIN/createdb" -h "$DIR" -p "$PORT" -U postgres seer_test
echo "postgres://postgres@127.0.0.1:$PORT/seer_test"
