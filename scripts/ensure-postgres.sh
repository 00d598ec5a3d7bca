#!/usr/bin/env bash
# Print the URL of a PostgreSQL server the tests can use, starting one if none answers.
#
# 1. $VNTWIN_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test) if it answers;
# 2. else the machine's Debian cluster, started with pg_ctlcluster;
# 3. else a private throw-away cluster (initdb, trust auth, port 54329) under .pg/, run as the
#    'postgres' user when we are root; installs Debian's postgresql first if it is missing
#    and we may (root with apt-get).
# Diagnostics go to stderr; the URL is the only line on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
URL="${VNTWIN_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}"
PY=.venv/bin/python

answers() {
  "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

if answers "$URL"; then echo "$URL"; exit 0; fi

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for v in $(ls /etc/postgresql); do
    echo "ensure-postgres: starting the Debian cluster $v/main" >&2
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 2>&1 || \
      pg_ctlcluster "$v" main start >&2 2>&1 || true
  done
  for _ in $(seq 1 20); do answers "$URL" && { echo "$URL"; exit 0; }; sleep 0.5; done
fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure-postgres: installing Debian's postgresql" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  else
    echo "ensure-postgres: no PostgreSQL answers at $URL and none is installed." >&2
    echo "  Install it (Debian/Ubuntu: sudo apt-get install postgresql) or set" >&2
    echo "  VNTWIN_TEST_DATABASE_URL to a server you can create schemas in." >&2
    exit 1
  fi
fi

PORT=54329
DIR="$PWD/.pg"
PRIVATE="postgresql://postgres@127.0.0.1:$PORT/postgres"
if answers "$PRIVATE"; then echo "$PRIVATE"; exit 0; fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$DIR/data/PG_VERSION" ]; then
  echo "ensure-postgres: creating a private cluster in $DIR" >&2
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  as_pg "$PGBIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >&2
fi
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1" start >&2
answers "$PRIVATE" || { echo "ensure-postgres: the private cluster did not start; see $DIR/log" >&2; exit 1; }
echo "$PRIVATE"
