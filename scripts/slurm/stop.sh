#!/usr/bin/env bash
# Stop the test Slurm cluster started by scripts/slurm/start.sh (idempotent).
#
#   bash scripts/slurm/stop.sh            # stop daemons, keep the state dir
#   bash scripts/slurm/stop.sh --purge    # ... and delete the state dir
#   bash scripts/slurm/stop.sh --keep-services  # leave munged and mariadbd running (when
#                                         # HELGENOM_SLURM_SERVICES_DIR shares them)
#
# Cancels queued jobs while slurmctld still answers, then stops slurmd, slurmctld,
# slurmdbd, mariadbd and munged by their pid files (SIGTERM, SIGKILL after a timeout),
# and puts back the slurm.conf that start.sh replaced at $HELGENOM_SLURM_ETC_CONF.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"

PURGE=0
KEEP_SERVICES=0
for arg in "$@"; do
  case $arg in
    --purge) PURGE=1 ;;
    --keep-services) KEEP_SERVICES=1 ;;
    -h | --help)
      sed -n '2,11p' "$0"
      exit 0
      ;;
    *) die "unknown argument: $arg (usage: stop.sh [--purge] [--keep-services])" ;;
  esac
done

# stop_daemon NAME TIMEOUT: SIGTERM, wait, SIGKILL, wait.
stop_daemon() {
  local name=$1 timeout=$2 pid i
  if ! pid=$(pid_of "$name"); then
    rm -f "${PIDFILE[$name]}"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    [ -d "/proc/$pid" ] || break
    # A zombie has exited; it only waits for its parent.
    grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.1
  done
  if [ -d "/proc/$pid" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; then
    log "$name (pid $pid) still running after ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
  fi
  rm -f "${PIDFILE[$name]}"
}

# Job steps (slurmstepd) outlive slurmd: cancel jobs first, then kill stray stepds that
# have files open in this cluster's spool dir.
cancel_jobs() {
  pid_of slurmctld >/dev/null || return 0
  local jobs i
  jobs=$(sl squeue -h -o '%i' 2>/dev/null) || return 0
  [ -n "$jobs" ] || return 0
  log "cancelling jobs: $(paste -sd' ' <<<"$jobs")"
  # shellcheck disable=SC2086 # one word per job id
  sl scancel $jobs 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [ -z "$(sl squeue -h -o '%i' 2>/dev/null)" ] && return 0
    sleep 0.2
  done
}

kill_stray_stepds() {
  local p comm fd hit
  for p in /proc/[0-9]*; do
    read -r comm <"$p/comm" 2>/dev/null || continue
    [ "$comm" = slurmstepd ] || continue
    hit=0
    for fd in "$p"/fd/*; do
      case $(readlink "$fd" 2>/dev/null) in
        "$S_SPOOL"/* | "$SLURM_STATE_DIR"/*)
          hit=1
          break
          ;;
      esac
    done
    if [ "$hit" = 1 ]; then
      log "killing stray slurmstepd ${p#/proc/}"
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    fi
  done
}

restore_etc_conf() {
  [ -n "$ETC_CONF" ] || return 0
  local backup=$ETC_CONF.helgenom-backup
  [ -e "$ETC_CONF" ] || return 0
  [ "$(head -n1 "$ETC_CONF")" = "$CONF_MARKER" ] || return 0
  if [ -e "$backup" ]; then
    mv -f "$backup" "$ETC_CONF"
    log "restored $ETC_CONF from $backup"
  else
    rm -f "$ETC_CONF"
    log "removed $ETC_CONF (there was none before start.sh)"
  fi
}

if [ -d "$SLURM_STATE_DIR" ]; then
  cancel_jobs
  stop_daemon slurmd 15
  kill_stray_stepds
  stop_daemon slurmctld 15
  stop_daemon slurmdbd 15
fi
if [ "$KEEP_SERVICES" = 0 ] && [ -d "$SERVICES_DIR" ]; then
  stop_daemon mariadbd 30
  stop_daemon munged 10
fi
restore_etc_conf

if [ "$PURGE" = 1 ] && [ -d "$SLURM_STATE_DIR" ]; then
  case $SLURM_STATE_DIR in
    / | /var | /var/tmp | /tmp | /root | /home) die "refusing to purge $SLURM_STATE_DIR" ;;
  esac
  [ -e "$STATE_MARKER" ] || die "refusing to purge $SLURM_STATE_DIR: no $STATE_MARKER in it"
  rm -rf -- "$SLURM_STATE_DIR"
  log "purged $SLURM_STATE_DIR"
fi
log "stopped"
