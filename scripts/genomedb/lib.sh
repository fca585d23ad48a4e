# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
# Settings and helpers for scripts/genomedb/pg_start.sh and pg_stop.sh (sourced, not run).
#
# A private PostgreSQL cluster for the genome database's tests, run by the OS user
# `postgres` (PostgreSQL refuses to run as root), bound to 127.0.0.1 only:
#   HELGENOM_PG_DIR     state dir (data/, run/ socket and pid, log/, password, url)
#                       default /var/tmp/helgenom-pg
#   HELGENOM_PG_PORT    TCP port, default 55432
#   HELGENOM_PG_TIMEOUT seconds to wait for start and stop, default 60
# The role `helgenom` (LOGIN CREATEDB, random password kept in $HELGENOM_PG_DIR/password)
# owns the database `helgenom`; $HELGENOM_PG_DIR/url holds its SQLAlchemy URL.

PG_DIR=${HELGENOM_PG_DIR:-/var/tmp/helgenom-pg}
PG_PORT=${HELGENOM_PG_PORT:-55432}
PG_TIMEOUT=${HELGENOM_PG_TIMEOUT:-60}
PG_OS_USER=postgres
PG_ROLE=helgenom
PG_DB=helgenom
PG_DATA=$PG_DIR/data
PG_RUN=$PG_DIR/run
PG_LOG=$PG_DIR/log/postgres.log
PG_PIDFILE=$PG_DATA/postmaster.pid
PG_MARKER=$PG_DIR/.helgenom-pg

log() { echo "genomedb-pg: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# The newest installed PostgreSQL's bin dir (Debian: /usr/lib/postgresql/<major>/bin).
pg_bin() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] || return 1
  echo "$dir"
}

as_postgres() { runuser -u "$PG_OS_USER" -- "$@"; }

# The postmaster's pid if it is running (from its pid file), else fail.
pg_pid() {
  local pid
  [ -r "$PG_PIDFILE" ] || return 1
  pid=$(head -n 1 "$PG_PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -d "/proc/$pid" ] || return 1
  grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 1
  echo "$pid"
}
