#!/usr/bin/env bash
# Start the private PostgreSQL cluster for the genome database's tests (run as root).
#
#   bash scripts/genomedb/pg_start.sh    # idempotent: does nothing when it is up
#   cat "${HELGENOM_PG_DIR:-/var/tmp/helgenom-pg}/url"   # the SQLAlchemy URL of the database
#   bash scripts/genomedb/pg_stop.sh [--purge]
#
# Uses Debian's PostgreSQL (package `postgresql`, installed by scripts/setup.sh). Creates the
# cluster on first use (initdb as the OS user postgres), starts it with pg_ctl (pid file in the
# data dir, no systemd), and makes the role and database helgenom. Settings: see lib.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root (it starts PostgreSQL as the OS user $PG_OS_USER)"
case $PG_DIR in
  /*) ;;
  *) die "HELGENOM_PG_DIR must be an absolute path: $PG_DIR" ;;
esac
BIN=$(pg_bin) || die "PostgreSQL is not installed: run scripts/setup.sh (Debian package postgresql)"
id "$PG_OS_USER" >/dev/null 2>&1 || die "no OS user $PG_OS_USER (it comes with the postgresql package)"

mkdir -p "$PG_DIR"
touch "$PG_MARKER"
install -d -o "$PG_OS_USER" -m 700 "$PG_RUN" "$PG_DIR/log"
if [ ! -s "$PG_DIR/password" ]; then
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PG_DIR/password")
fi

if [ ! -f "$PG_DATA/PG_VERSION" ]; then
  log "creating the cluster in $PG_DATA"
  install -d -o "$PG_OS_USER" -m 700 "$PG_DATA"
  as_postgres "$BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
    --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/log/initdb.log"
  cat >>"$PG_DATA/postgresql.conf" <<CONF
# helgenom-pg: a private test cluster, reachable on 127.0.0.1 only
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 60
shared_buffers = 64MB
dynamic_shared_memory_type = mmap
password_encryption = scram-sha-256
CONF
fi

if pid=$(pg_pid); then
  log "already running (pid $pid, port $PG_PORT)"
else
  rm -f "$PG_PIDFILE" # stale, from a killed postmaster
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  if ! as_postgres "$BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_TIMEOUT" start >/dev/null; then
    tail -n 20 "$PG_LOG" >&2 || true
    die "PostgreSQL did not start (log: $PG_LOG)"
  fi
fi

password=$(cat "$PG_DIR/password")
psql_admin() { as_postgres "$BIN/psql" -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" != 1 ]; then
  psql_admin -c "CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$password'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
  psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE"
fi
(umask 077 && echo "postgresql+psycopg://$PG_ROLE:$password@127.0.0.1:$PG_PORT/$PG_DB" >"$PG_DIR/url")
log "ready: database $PG_DB on 127.0.0.1:$PG_PORT (URL in $PG_DIR/url)"
