#!/usr/bin/env bash
# Start a real single-host Slurm cluster for helgenom's tests and CI (run as root).
#
#   bash scripts/slurm/start.sh        # idempotent: does nothing when the cluster is up
#   source scripts/slurm/env.sh        # SLURM_CONF etc. for this shell
#   bash scripts/slurm/stop.sh [--purge]
#
# Installs munge, Slurm 22.05 (slurmctld, slurmd, slurmdbd, clients) and MariaDB from
# Debian packages if missing, then runs, as daemons with pid files and without
# systemd: a private munged, a private mariadbd (own datadir, socket and port), slurmdbd,
# slurmctld and slurmd. All state lives under $HELGENOM_SLURM_DIR (see lib.sh for all
# settings). The accounts and QoS it creates:
#   QoS       clinical (Priority=1000, preempts research by requeue), normal (100), research (10)
#   accounts  helgenom-test (default), genomedk-proj, computerome-proj, abacus-proj,
#             plus any in $HELGENOM_SLURM_EXTRA_ACCOUNTS
#   users     root and the invoking user ($SUDO_USER) in all of them, QOS=clinical,normal,research,
#             DefaultQOS=normal
#   partitions (all on the one node) GenomeDK short, normal (default); Computerome thinnode,
#             fatnode; Abacus slim, fat.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/slurm/lib.sh
. "$HERE/lib.sh"

T0=$(now)
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
POLICY=/usr/sbin/policy-rc.d
POLICY_SAVED=/usr/sbin/policy-rc.d.helgenom-saved
POLICY_MARK="# helgenom-slurm: no daemons during install"

elapsed() { awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts daemons)"
[[ $SLURM_CLUSTER =~ ^[a-z][a-z0-9_-]*$ ]] || die "cluster name must be lower case: $SLURM_CLUSTER"
case $SLURM_STATE_DIR in
  /*) ;;
  *) die "HELGENOM_SLURM_DIR must be an absolute path: $SLURM_STATE_DIR" ;;
esac

# --- packages -------------------------------------------------------------------------

restore_policy() {
  if [ -e "$POLICY" ] && grep -qF "$POLICY_MARK" "$POLICY"; then
    rm -f "$POLICY"
  fi
  if [ -e "$POLICY_SAVED" ]; then
    mv -f "$POLICY_SAVED" "$POLICY"
  fi
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} (daemons kept from starting by $POLICY)"
  restore_policy # leftovers of an interrupted run
  if [ -e "$POLICY" ]; then mv -f "$POLICY" "$POLICY_SAVED"; fi
  trap restore_policy EXIT
  printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_MARK" >"$POLICY"
  chmod 755 "$POLICY"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold "${PACKAGES[@]}")
  if ! "${apt[@]}"; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update
    "${apt[@]}"
  fi
  restore_policy
  trap - EXIT
}

# --- health ---------------------------------------------------------------------------

all_pids_alive() {
  local d
  for d in "${DAEMONS[@]}"; do pid_of "$d" >/dev/null || return 1; done
}

ctld_up() { sl scontrol ping 2>/dev/null | grep -q 'is UP'; }
dbd_up() { sl sacctmgr -n -P list cluster format=cluster >/dev/null 2>&1; }
any_pid_alive() {
  local d
  for d in "${DAEMONS[@]}"; do pid_of "$d" >/dev/null && return 0; done
  return 1
}

summary() {
  local node_state
  node_state=$(sl sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1)
  printf 'helgenom-slurm: cluster %s up (node %s %s; partitions %s; ctld :%s, slurmd :%s, dbd :%s, mariadb :%s; state %s) in %ss\n' \
    "$SLURM_CLUSTER" "$NODE" "$node_state" "$(sl sinfo -h -o '%P' | paste -sd, -)" \
    "$SLURMCTLD_PORT" "$SLURMD_PORT" "$SLURMDBD_PORT" "$MARIADB_PORT" "$SLURM_STATE_DIR" "$(elapsed)"
  if [ -n "$ETC_CONF" ] && [ -e "$ETC_CONF" ] && [ "$(head -n1 "$ETC_CONF")" = "$CONF_MARKER" ]; then
    printf 'helgenom-slurm: config installed at %s; or: export SLURM_CONF=%s (source %s/env.sh)\n' \
      "$ETC_CONF" "$SLURM_CONF_FILE" "$HERE"
  else
    printf 'helgenom-slurm: export SLURM_CONF=%s (or source %s/env.sh)\n' "$SLURM_CONF_FILE" "$HERE"
  fi
}

# wait_for NAME DESCRIPTION COMMAND...: poll COMMAND until it succeeds; fail with the tail of
# NAME's log if NAME's process dies or WAIT_TIMEOUT passes.
wait_for() {
  local name=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + WAIT_TIMEOUT))
  while ! "$@" >/dev/null 2>&1; do
    if ! pid_of "$name" >/dev/null; then
      sleep 0.5 # a daemon that forks may not have written its pid file yet
      if ! pid_of "$name" >/dev/null && ! "$@" >/dev/null 2>&1; then
        fail "$name" "$name is not running (waiting for: $what)"
      fi
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "last try of the check ($*):"
      "$@" 2>&1 | tail -n 10 >&2 || true
      fail "$name" "$what: not within ${WAIT_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

fail() {
  local name=$1 file=${LOGFILE[$1]}
  log "ERROR: $2"
  if [ -s "$file" ]; then
    log "last lines of $file:"
    tail -n 25 "$file" >&2
  fi
  if [ -s "$SLURM_STATE_DIR/${name}.out" ]; then
    log "last lines of $SLURM_STATE_DIR/${name}.out:"
    tail -n 10 "$SLURM_STATE_DIR/${name}.out" >&2
  fi
  log "stop what was started with: bash $HERE/stop.sh"
  exit 1
}

# spawn NAME COMMAND...: start COMMAND detached (own session, no inherited stdio) so that
# callers capturing our output are not held open by the daemons.
spawn() {
  local name=$1
  shift
  rm -f "${PIDFILE[$name]}"
  setsid "$@" </dev/null >>"$SLURM_STATE_DIR/$name.out" 2>&1 &
}

# --- configuration --------------------------------------------------------------------

make_dirs() {
  install -d -m 0755 "$SLURM_STATE_DIR" "$S_ETC"
  touch "$STATE_MARKER"
  install -d -m 0755 -o slurm -g slurm "$S_RUN" "$S_LOG" "$S_SPOOL"
  install -d -m 0700 -o slurm -g slurm "$S_SPOOL/ctld"
  install -d -m 0755 -o root -g root "$S_SPOOL/d"
  install -d -m 0755 -o munge -g munge "$S_MUNGE"
  install -d -m 0755 -o mysql -g mysql "$S_DB"
  install -d -m 0750 -o mysql -g mysql "$S_DB/data"
}

write_slurm_conf() {
  local tmp=$SLURM_CONF_FILE.tmp
  cat >"$tmp" <<EOF
$CONF_MARKER
# Written by scripts/slurm/start.sh: a single-host test cluster (Slurm 22.05, no cgroups).
ClusterName=$SLURM_CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET

StateSaveLocation=$S_SPOOL/ctld
SlurmdSpoolDir=$S_SPOOL/d
SlurmctldPidFile=${PIDFILE[slurmctld]}
SlurmdPidFile=${PIDFILE[slurmd]}
SlurmctldLogFile=${LOGFILE[slurmctld]}
SlurmdLogFile=${LOGFILE[slurmd]}
SlurmctldDebug=info
SlurmdDebug=info

# No cgroups on this kind of machine: track processes through /proc, no task binding.
# CPU and memory are requested but not enforced.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=10
MpiDefault=none
SwitchType=switch/none
LaunchType=launch/slurm

# Timers short enough for tests.
MessageTimeout=10
SlurmctldTimeout=60
SlurmdTimeout=120
InactiveLimit=0
KillWait=5
MinJobAge=300
ReturnToService=2

SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2,sched_min_interval=200000,batch_sched_delay=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without this a job without --mem gets the whole node and jobs run one by one.
DefMemPerCPU=1000
# Reject at submission what could never run (e.g. a QoS a partition does not allow).
EnforcePartLimits=ALL

PriorityType=priority/multifactor
PriorityWeightQOS=100000
PriorityWeightAge=10
PriorityWeightFairshare=10
PriorityWeightJobSize=0
PriorityWeightPartition=10
PreemptType=preempt/qos
PreemptMode=REQUEUE
JobRequeue=1

AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$SLURMDBD_PORT
# Clients and slurmctld authenticate to slurmdbd with this munge socket, not AuthInfo's.
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageEnforce=associations,limits,qos
JobCompType=jobcomp/none

# One node, declared larger than this machine so that site-profile jobs fit;
# config_overrides makes slurmd report these figures instead of the hardware's.
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=16 Sockets=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=64000 State=UNKNOWN

# Partition names of three national HPC sites, all on the one node.
# GenomeDK
PartitionName=short Nodes=$NODE MaxTime=12:00:00 AllowQos=clinical,normal,research State=UP
PartitionName=normal Nodes=$NODE Default=YES MaxTime=7-00:00:00 AllowQos=clinical,normal,research State=UP
# Computerome
PartitionName=thinnode Nodes=$NODE MaxTime=30-00:00:00 AllowQos=clinical,normal,research State=UP
PartitionName=fatnode Nodes=$NODE MaxTime=30-00:00:00 AllowQos=clinical,normal,research State=UP
# Abacus
PartitionName=slim Nodes=$NODE MaxTime=24:00:00 AllowQos=clinical,normal,research State=UP
PartitionName=fat Nodes=$NODE MaxTime=24:00:00 AllowQos=clinical,normal,research State=UP
EOF
  chmod 644 "$tmp"
  mv -f "$tmp" "$SLURM_CONF_FILE"
}

write_slurmdbd_conf() {
  local pass_file=$S_DB/slurm.pass tmp=$SLURMDBD_CONF_FILE.tmp
  if [ ! -s "$pass_file" ]; then
    (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$pass_file")
  fi
  DB_PASS=$(cat "$pass_file")
  (
    umask 077
    cat >"$tmp" <<EOF
# Written by scripts/slurm/start.sh
DbdHost=$NODE
DbdAddr=127.0.0.1
DbdPort=$SLURMDBD_PORT
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
PidFile=${PIDFILE[slurmdbd]}
LogFile=${LOGFILE[slurmdbd]}
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MARIADB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
  )
  chown slurm:slurm "$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$SLURMDBD_CONF_FILE"
}

install_etc_conf() {
  [ -n "$ETC_CONF" ] || return 0
  local backup=$ETC_CONF.helgenom-backup first=""
  if [ -e "$ETC_CONF" ]; then
    first=$(head -n1 "$ETC_CONF")
    if [[ $first == "# helgenom-slurm-managed: "* && $first != "$CONF_MARKER" ]]; then
      log "warning: $ETC_CONF belongs to another helgenom cluster (${first#*: }); not replacing it"
      return 0
    fi
    if [[ $first != "$CONF_MARKER" ]] && [ ! -e "$backup" ]; then
      cp -p "$ETC_CONF" "$backup"
      log "backed up $ETC_CONF to $backup (stop.sh restores it)"
    fi
  fi
  install -d -m 0755 "$(dirname "$ETC_CONF")"
  install -m 0644 "$SLURM_CONF_FILE" "$ETC_CONF.helgenom-tmp"
  mv -f "$ETC_CONF.helgenom-tmp" "$ETC_CONF"
}

# --- daemons --------------------------------------------------------------------------

start_munged() {
  pid_of munged >/dev/null && return 0
  if [ ! -s "$S_MUNGE/munge.key" ]; then
    rm -f "$S_MUNGE/munge.key"
    mungekey --create --keyfile="$S_MUNGE/munge.key" --bits=1024
  fi
  chown munge:munge "$S_MUNGE/munge.key"
  chmod 0400 "$S_MUNGE/munge.key"
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  spawn munged runuser -u munge -- munged --socket="$MUNGE_SOCKET" \
    --key-file="$S_MUNGE/munge.key" --log-file="${LOGFILE[munged]}" \
    --pid-file="${PIDFILE[munged]}" --seed-file="$S_MUNGE/munged.seed" --num-threads=4
  wait_for munged "munged answering on $MUNGE_SOCKET" \
    sh -c 'munge -n --socket="$1" | unmunge --socket="$1"' sh "$MUNGE_SOCKET"
}

mysql_root() { timeout 30 mariadb --no-defaults --protocol=socket -S "$MARIADB_SOCKET" -u root "$@"; }

start_mariadb() {
  if ! pid_of mariadbd >/dev/null; then
    if [ ! -d "$S_DB/data/mysql" ]; then
      log "initialising MariaDB datadir $S_DB/data"
      mariadb-install-db --no-defaults --datadir="$S_DB/data" --user=mysql \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$S_DB/install.log" 2>&1 || {
        tail -n 25 "$S_DB/install.log" >&2
        die "mariadb-install-db failed (log: $S_DB/install.log)"
      }
    fi
    rm -f "$MARIADB_SOCKET"
    spawn mariadbd mariadbd --no-defaults --datadir="$S_DB/data" --user=mysql \
      --socket="$MARIADB_SOCKET" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
      --pid-file="${PIDFILE[mariadbd]}" --log-error="${LOGFILE[mariadbd]}" \
      --skip-name-resolve --skip-log-bin \
      --innodb-buffer-pool-size=128M --innodb-log-file-size=48M \
      --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
      --innodb-lock-wait-timeout=900 --max-connections=100
    wait_for mariadbd "mariadbd answering on $MARIADB_SOCKET" mysql_root -e 'SELECT 1'
  fi
  mysql_root <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`slurm_acct_db\`.* TO 'slurm'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`slurm_acct_db\`.* TO 'slurm'@'localhost';
EOF
}

start_slurmdbd() {
  if ! pid_of slurmdbd >/dev/null; then
    spawn slurmdbd env SLURM_CONF="$SLURM_CONF_FILE" slurmdbd
  fi
  wait_for slurmdbd "slurmdbd answering sacctmgr on port $SLURMDBD_PORT" dbd_up
}

# sam ARGS...: sacctmgr -i, treating "already there / nothing to change" as success.
sam() {
  local out
  if ! out=$(sl sacctmgr -i "$@" 2>&1); then
    if ! grep -qiE 'already exist|nothing (new )?(added|modified|to)|no change' <<<"$out"; then
      log "sacctmgr $* failed:"
      printf '%s\n' "$out" >&2
      exit 1
    fi
  fi
}

exists() { # exists KIND NAME
  sl sacctmgr -n -P list "$1" "$2" format=name 2>/dev/null | grep -qx "$2"
}

setup_accounting() {
  local accounts=(helgenom-test genomedk-proj computerome-proj abacus-proj) extra a u users=(root)
  extra=${HELGENOM_SLURM_EXTRA_ACCOUNTS:-}
  read -r -a extra <<<"${extra//,/ }"
  accounts+=("${extra[@]}")
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && id "$SUDO_USER" >/dev/null 2>&1; then
    users+=("$SUDO_USER")
  fi
  exists cluster "$SLURM_CLUSTER" || sam add cluster "$SLURM_CLUSTER"
  # research first: clinical's Preempt names it.
  exists qos research || sam add qos research
  sam modify qos where name=research set Priority=10
  exists qos normal || sam add qos normal
  sam modify qos where name=normal set Priority=100
  exists qos clinical || sam add qos clinical
  sam modify qos where name=clinical set Priority=1000 Preempt=research PreemptMode=requeue
  for a in "${accounts[@]}"; do
    exists account "$a" || sam add account "$a" Cluster="$SLURM_CLUSTER" Description="helgenom test" Organization=helgenom
  done
  local acct_list
  acct_list=$(IFS=,; printf '%s' "${accounts[*]}")
  for u in "${users[@]}"; do
    sam add user "$u" Cluster="$SLURM_CLUSTER" Account="$acct_list" DefaultAccount=helgenom-test
    sam modify user where name="$u" cluster="$SLURM_CLUSTER" set QOS=clinical,normal,research DefaultQOS=normal
    sam modify user where name="$u" set DefaultAccount=helgenom-test
  done
}

start_slurmctld() {
  if ! pid_of slurmctld >/dev/null; then
    spawn slurmctld env SLURM_CONF="$SLURM_CONF_FILE" slurmctld
  fi
  wait_for slurmctld "scontrol ping answering (slurmctld on port $SLURMCTLD_PORT)" ctld_up
}

node_idle() {
  local state
  state=$(sl sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1)
  # idle, or already running jobs (mixed/allocated) after a restart with jobs in the queue.
  [[ $state == idle || $state == mixed || $state == allocated ]]
}

cluster_registered() {
  # The cluster row gets its ControlPort once slurmctld has registered with slurmdbd.
  sl sacctmgr -n -P list cluster "$SLURM_CLUSTER" format=cluster,controlport 2>/dev/null |
    grep -qx "$SLURM_CLUSTER|$SLURMCTLD_PORT"
}

start_slurmd() {
  if ! pid_of slurmd >/dev/null; then
    spawn slurmd env SLURM_CONF="$SLURM_CONF_FILE" slurmd -N "$NODE"
  fi
  wait_for slurmd "node $NODE idle in sinfo" node_idle
  wait_for slurmctld "cluster $SLURM_CLUSTER registered in sacctmgr list cluster" cluster_registered
}

# --- main -----------------------------------------------------------------------------

install_packages
NODE=${HELGENOM_SLURM_NODE:-$(hostname -s)}

if all_pids_alive && ctld_up && dbd_up; then
  log "already running; nothing to do"
  summary
  exit 0
fi
if [ -d "$SLURM_STATE_DIR" ] && any_pid_alive; then
  log "cluster only partly running; stopping it to start it cleanly"
  bash "$HERE/stop.sh"
fi

make_dirs
write_slurm_conf
write_slurmdbd_conf
install_etc_conf
start_munged
start_mariadb
start_slurmdbd
setup_accounting
start_slurmctld
start_slurmd
summary
