#!/usr/bin/env bash
# Stop the private PostgreSQL cluster started by scripts/genomedb/pg_start.sh (idempotent).
#
#   bash scripts/genomedb/pg_stop.sh           # stop it (fast shutdown), keep the state dir
#   bash scripts/genomedb/pg_stop.sh --purge   # ... and delete the state dir
#
# Stops the postmaster found by its pid file: pg_ctl stop -m fast, then SIGKILL to that pid
# if it does not go in time. Never touches any other PostgreSQL on the machine.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"

PURGE=0
for arg in "$@"; do
  case $arg in
    --purge) PURGE=1 ;;
    -h | --help)
      sed -n '2,8p' "$0"
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: pg_stop.sh [--purge])" ;;
  esac
done

if pid=$(pg_pid); then
  log "stopping PostgreSQL (pid $pid)"
  BIN=$(pg_bin) || die "PostgreSQL binaries not found"
  if ! as_postgres "$BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$PG_TIMEOUT" stop >/dev/null; then
    log "pg_ctl stop timed out: killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi

if [ "$PURGE" = 1 ] && [ -e "$PG_MARKER" ]; then
  log "removing $PG_DIR"
  rm -rf "$PG_DIR"
fi
