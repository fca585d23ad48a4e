#!/usr/bin/env bash
# A two-site Slurm test bed for failover tests: two independent single-host clusters side by
# side on this machine, next to (and independent of) the main test cluster of start.sh; and a
# third site, abacus, a cluster of its own for the clinical-priority test (which fills a whole
# node with research jobs, so it cannot share a cluster with tests that run at the same time).
#
#   bash scripts/slurm/twosite.sh start [SITE...]   # idempotent; default every site
#   bash scripts/slurm/twosite.sh stop [--purge]     # stops every daemon of the bed
#   bash scripts/slurm/twosite.sh status             # exit 0 when every site answers
#   eval "$(bash scripts/slurm/twosite.sh env computerome)"  # SLURM_CONF etc. of one site
#   bash scripts/slurm/twosite.sh env                # HELGENOM_<SITE>_SLURM_CONF of both
#   bash scripts/slurm/twosite.sh pids SITE          # "slurmctld PID" lines (alive ones)
#
# Sites: computerome (primary), genomedk (passive) and abacus, cluster names the same. Each has its
# own slurmdbd, slurmctld and one slurmd (NodeName <site>-n1, NodeHostname this host,
# NodeAddr 127.0.0.1), config, spool, logs and pid files under $HELGENOM_TWOSITE_DIR/<site>
# (default /var/tmp/helgenom-twosite), its own ports and job ID range:
#   site         slurmctld  slurmd  slurmdbd  FirstJobId   (ports: $HELGENOM_TWOSITE_PORT_BASE
#   computerome  6917       6918    6919      100000        + 7/8/9 and + 17/18/19,
#   genomedk     6927       6928    6929      200000        default base 6910)
#   abacus       6937       6938    6939      300000
# Pid files: $HELGENOM_TWOSITE_DIR/<site>/run/{slurmctld,slurmd,slurmdbd}.pid.
# Clients pick a site with SLURM_CONF=$HELGENOM_TWOSITE_DIR/<site>/etc/slurm.conf; nothing is
# installed into /etc/slurm. Each slurmd runs in its own mount namespace with its site's etc/
# bind-mounted on /etc/slurm (HELGENOM_SLURM_PRIVATE_ETC=1): slurmstepd drops SLURM_CONF, so the
# `srun` inside a batch job (how Snakemake's slurm executor runs every job) reads
# /etc/slurm/slurm.conf, which outside the namespace is the main cluster's.
#
# The sites share one munged and one mariadbd (port $HELGENOM_TWOSITE_MARIADB_PORT,
# default 3317; a database per site) under $HELGENOM_TWOSITE_DIR/shared: the failover tests
# take down a site's Slurm daemons (controller, slurmd, accounting), never munge or MariaDB,
# and sharing halves the startup time (MariaDB's first start is the slowest step). A real pair
# of sites shares neither; that difference does not matter to what the bed is for.
# Accounts, QoS and partitions are those of the main cluster (start.sh).
#
# A second bed (HELGENOM_TWOSITE_BED=b: state under /var/tmp/helgenom-twosite-b, port base
# 6950, MariaDB port 3318) holds the same sites once more, independent of the first, so that
# the slowest failover drill runs at the same time as the others (scripts/test.sh starts its
# computerome and genomedk; tests pick a bed with the same variable, tests/slurm_helpers.py).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Beds: "a" (the default) and "b", a second bed of the same sites with its own state dir,
# ports and shared services, so that two groups of failover tests run at the same time.
BED=${HELGENOM_TWOSITE_BED:-a}
case $BED in
  a) DEFAULT_ROOT=/var/tmp/helgenom-twosite DEFAULT_PORT_BASE=6910 DEFAULT_MARIADB_PORT=3317 ;;
  b) DEFAULT_ROOT=/var/tmp/helgenom-twosite-b DEFAULT_PORT_BASE=6950 DEFAULT_MARIADB_PORT=3318 ;;
  *) printf 'helgenom-twosite: ERROR: unknown bed %s (HELGENOM_TWOSITE_BED: a or b)\n' "$BED" >&2
     exit 1 ;;
esac
ROOT=${HELGENOM_TWOSITE_DIR:-$DEFAULT_ROOT}
PORT_BASE=${HELGENOM_TWOSITE_PORT_BASE:-$DEFAULT_PORT_BASE}
MARIADB_PORT=${HELGENOM_TWOSITE_MARIADB_PORT:-$DEFAULT_MARIADB_PORT}
SITES=(computerome genomedk abacus)
declare -A SITE_INDEX=([computerome]=0 [genomedk]=1 [abacus]=2)
declare -A FIRST_JOB=([computerome]=100000 [genomedk]=200000 [abacus]=300000)

log() { printf 'helgenom-twosite: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

check_site() { [ -n "${SITE_INDEX[$1]:-}" ] || die "unknown site: $1 (sites: ${SITES[*]})"; }

# site_settings SITE: the HELGENOM_SLURM_* settings of lib.sh for SITE, one NAME=VALUE a line.
site_settings() {
  local site=$1 base
  base=$((PORT_BASE + 10 * SITE_INDEX[$1]))
  cat <<EOF
HELGENOM_SLURM_DIR=$ROOT/$site
HELGENOM_SLURM_CLUSTER=$site
HELGENOM_SLURMCTLD_PORT=$((base + 7))
HELGENOM_SLURMD_PORT=$((base + 8))
HELGENOM_SLURMDBD_PORT=$((base + 9))
HELGENOM_SLURM_MARIADB_PORT=$MARIADB_PORT
HELGENOM_SLURM_SERVICES_DIR=$ROOT/shared
HELGENOM_SLURM_DB_NAME=slurm_acct_$site
HELGENOM_SLURM_FIRST_JOB_ID=${FIRST_JOB[$site]}
HELGENOM_SLURM_ETC_CONF=
HELGENOM_SLURM_NODE=$site-n1
HELGENOM_SLURM_NODE_HOSTNAME=$(hostname -s)
HELGENOM_SLURM_PRIVATE_ETC=1
EOF
}

# in_site SITE COMMAND...: COMMAND with SITE's settings in its environment.
in_site() {
  local site=$1 settings=() line
  shift
  while IFS= read -r line; do settings+=("$line"); done < <(site_settings "$site")
  env "${settings[@]}" "$@"
}

site_up() {
  local conf=$ROOT/$1/etc/slurm.conf
  [ -e "$conf" ] || return 1
  SLURM_CONF=$conf timeout 15 scontrol ping 2>/dev/null | grep -q 'is UP' &&
    SLURM_CONF=$conf timeout 15 sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1
}

cmd_start() {
  local sites=("$@") site t0
  [ ${#sites[@]} -gt 0 ] || sites=("${SITES[@]}")
  for site in "${sites[@]}"; do check_site "$site"; done
  t0=${EPOCHREALTIME/,/.}
  # One after the other: the first start brings up the shared munged and mariadbd.
  for site in "${sites[@]}"; do
    in_site "$site" bash "$HERE/start.sh"
  done
  log "sites ${sites[*]} up in $(awk -v a="$t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')s; SLURM_CONF of a site: eval \"\$(bash $0 env SITE)\""
}

cmd_stop() {
  local purge=() site
  for arg in "$@"; do
    case $arg in
      --purge) purge=(--purge) ;;
      *) die "unknown argument: $arg (usage: twosite.sh stop [--purge])" ;;
    esac
  done
  # Every site's Slurm daemons first, then (with the last) the shared munged and mariadbd.
  for site in "${SITES[@]}"; do
    in_site "$site" bash "$HERE/stop.sh" --keep-services "${purge[@]}"
  done
  in_site "${SITES[-1]}" bash "$HERE/stop.sh"
  if [ ${#purge[@]} -gt 0 ] && [ -d "$ROOT" ]; then
    case $ROOT in
      / | /var | /var/tmp | /tmp | /root | /home) die "refusing to purge $ROOT" ;;
    esac
    rm -rf -- "$ROOT/shared"
    rmdir "$ROOT" 2>/dev/null || true
    log "purged $ROOT"
  fi
}

cmd_env() {
  local site
  if [ $# -eq 0 ]; then
    for site in "${SITES[@]}"; do
      printf 'export HELGENOM_%s_SLURM_CONF=%s\n' "${site^^}" "$ROOT/$site/etc/slurm.conf"
    done
    return 0
  fi
  site=$1
  check_site "$site"
  printf 'export SLURM_CONF=%s\n' "$ROOT/$site/etc/slurm.conf"
  printf 'export HELGENOM_%s_SLURM_CONF=%s\n' "${site^^}" "$ROOT/$site/etc/slurm.conf"
  printf 'export HELGENOM_SITE=%s\n' "$site"
  printf 'export HELGENOM_SLURM_ACCOUNT=%s\n' "${HELGENOM_SLURM_ACCOUNT:-helgenom-test}"
  local daemon
  for daemon in slurmctld slurmd slurmdbd; do
    printf 'export HELGENOM_%s_PIDFILE=%s\n' "${daemon^^}" "$ROOT/$site/run/$daemon.pid"
  done
}

cmd_pids() {
  [ $# -eq 1 ] || die "usage: twosite.sh pids SITE"
  check_site "$1"
  local daemon pid comm
  for daemon in slurmctld slurmd slurmdbd; do
    read -r pid <"$ROOT/$1/run/$daemon.pid" 2>/dev/null || continue
    read -r comm <"/proc/$pid/comm" 2>/dev/null || continue
    [ "$comm" = "$daemon" ] && printf '%s %s\n' "$daemon" "$pid"
  done
  return 0
}

cmd_status() {
  local site rc=0
  for site in "${SITES[@]}"; do
    if site_up "$site"; then
      log "$site up (SLURM_CONF=$ROOT/$site/etc/slurm.conf)"
    else
      log "$site DOWN"
      rc=1
    fi
  done
  return "$rc"
}

case ${1:-} in
  start | stop | env | pids | status)
    command=$1
    shift
    "cmd_$command" "$@"
    ;;
  -h | --help)
    sed -n '2,39p' "$0"
    ;;
  *) die "usage: twosite.sh start [SITE...] | stop [--purge] | status | env [SITE] | pids SITE" ;;
esac
