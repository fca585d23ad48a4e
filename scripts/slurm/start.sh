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
# shellcheck source=lib.sh source-path=SCRIPTDIR
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
any_slurm_pid_alive() {
  local d
  for d in slurmdbd slurmctld slurmd; do pid_of "$d" >/dev/null && return 0; done
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
# NAME's log if NAME dies (neither its pid file's process nor the process spawn started is
# alive for ~3 s: daemons that fork write their pid file a little after the fork) or if
# WAIT_TIMEOUT passes.
wait_for() {
  local name=$1 what=$2 deadline gone=0
  shift 2
  deadline=$(($(date +%s) + WAIT_TIMEOUT))
  while ! "$@" >/dev/null 2>&1; do
    if pid_of "$name" >/dev/null || { [ -n "${SPAWNED[$name]:-}" ] && kill -0 "${SPAWNED[$name]}" 2>/dev/null; }; then
      gone=0
    elif ((++gone >= 15)); then
      fail "$name" "$name is not running (waiting for: $what)"
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
declare -A SPAWNED=()
spawn() {
  local name=$1
  shift
  rm -f "${PIDFILE[$name]}"
  setsid "$@" </dev/null >>"$SLURM_STATE_DIR/$name.out" 2>&1 &
  SPAWNED[$name]=$!
}

# --- configuration --------------------------------------------------------------------

make_dirs() {
  install -d -m 0755 "$SLURM_STATE_DIR" "$S_ETC" "$SERVICES_DIR"
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
SlurmctldHost=$NODE_HOSTNAME(127.0.0.1)
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
MailProg=/bin/true

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
${FIRST_JOB_ID:+FirstJobId=$FIRST_JOB_ID
}
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$SLURMDBD_PORT
# Clients and slurmctld authenticate to slurmdbd with this munge socket, not AuthInfo's.
AccountingStoragePass=$MUNGE_SOCKET
AccountingStorageEnforce=associations,limits,qos
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none

# One node, declared larger than this machine so that site-profile jobs fit;
# config_overrides makes slurmd report these figures instead of the hardware's.
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE_HOSTNAME CPUs=$NODE_CPUS Sockets=1 CoresPerSocket=$NODE_CPUS ThreadsPerCore=1 RealMemory=$NODE_MEM_MB State=UNKNOWN

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
DbdHost=$NODE_HOSTNAME
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
StorageLoc=$DB_NAME
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
  # shellcheck disable=SC2016 # expanded by sh -c
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
      --innodb-buffer-pool-size=1G --innodb-log-file-size=48M \
      --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
      --innodb-lock-wait-timeout=900 --max-connections=100
    wait_for mariadbd "mariadbd answering on $MARIADB_SOCKET" mysql_root -e 'SELECT 1'
  fi
  local host sql=""
  for host in 127.0.0.1 localhost; do
    sql+="CREATE USER IF NOT EXISTS 'slurm'@'$host' IDENTIFIED BY '$DB_PASS';"
    sql+="ALTER USER 'slurm'@'$host' IDENTIFIED BY '$DB_PASS';"
    sql+="GRANT ALL PRIVILEGES ON $DB_NAME.* TO 'slurm'@'$host';"
  done
  mysql_root -e "$sql"
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

# sa ARGS...: a sacctmgr listing, parsable, without header.
sa() { sl sacctmgr -n -P "$@"; }

# Accounting objects; each sacctmgr call costs ~0.3 s here, so read the state with a few
# listings and change only what differs (a second start makes no change at all).
setup_accounting() {
  local accounts=(helgenom-test genomedk-proj computerome-proj abacus-proj) extra users=(root)
  extra=${HELGENOM_SLURM_EXTRA_ACCOUNTS:-}
  read -r -a extra <<<"${extra//,/ }"
  accounts+=("${extra[@]}")
  if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && id "$SUDO_USER" >/dev/null 2>&1; then
    users+=("$SUDO_USER")
  fi
  local qos_all=clinical,normal,research

  sa list cluster format=cluster | grep -qx "$SLURM_CLUSTER" || sam add cluster "$SLURM_CLUSTER"

  # name|priority|preempt|preemptmode; research first, since clinical's Preempt names it.
  local have spec name prio preempt mode
  have=$(sa list qos format=name,priority,preempt,preemptmode)
  for spec in "research|10||cluster" "normal|100||cluster" "clinical|1000|research|requeue"; do
    grep -qxF "$spec" <<<"$have" && continue
    IFS='|' read -r name prio preempt mode <<<"$spec"
    local opts=(Priority="$prio")
    [ -n "$preempt" ] && opts+=(Preempt="$preempt" PreemptMode="$mode")
    if grep -q "^$name|" <<<"$have"; then
      sam modify qos where name="$name" set "${opts[@]}"
    else
      sam add qos "$name" "${opts[@]}"
    fi
  done

  local missing=() a
  have=$(sa list account format=account)
  for a in "${accounts[@]}"; do grep -qxF "$a" <<<"$have" || missing+=("$a"); done
  if [ ${#missing[@]} -gt 0 ]; then
    sam add account "$(IFS=,; echo "${missing[*]}")" Cluster="$SLURM_CLUSTER" \
      Description="helgenom test" Organization=helgenom
  fi

  # account|user|qos|defaultqos of each user's associations.
  local u assoc wrong
  for u in "${users[@]}"; do
    assoc=$(sa list assoc cluster="$SLURM_CLUSTER" user="$u" format=account,user,qos,defaultqos)
    missing=()
    wrong=()
    for a in "${accounts[@]}"; do
      if ! grep -q "^$a|$u|" <<<"$assoc"; then
        missing+=("$a")
      elif ! grep -qxF "$a|$u|$qos_all|normal" <<<"$assoc"; then
        wrong+=("$a")
      fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
      sam add user "$u" Cluster="$SLURM_CLUSTER" Account="$(IFS=,; echo "${missing[*]}")" \
        DefaultAccount=helgenom-test QOS="$qos_all" DefaultQOS=normal
    fi
    if [ ${#wrong[@]} -gt 0 ]; then
      sam modify user where name="$u" cluster="$SLURM_CLUSTER" account="$(IFS=,; echo "${wrong[*]}")" \
        set QOS="$qos_all" DefaultQOS=normal
    fi
    if [ "$(sa list user "$u" format=defaultaccount)" != helgenom-test ]; then
      sam modify user where name="$u" set DefaultAccount=helgenom-test
    fi
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
    if [ "$PRIVATE_ETC" = 1 ]; then
      # Its own /etc/slurm (this cluster's etc/) in a private mount namespace, which its job
      # steps inherit: their srun reads /etc/slurm/slurm.conf whatever SLURM_CONF said.
      install -d -m 0755 /etc/slurm
      # shellcheck disable=SC2016 # expanded by sh -c
      spawn slurmd unshare --mount --propagation private -- \
        sh -c 'mount --bind "$1" /etc/slurm && shift && exec "$@"' sh "$S_ETC" \
        env SLURM_CONF="$SLURM_CONF_FILE" slurmd -f "$SLURM_CONF_FILE" -N "$NODE"
    else
      spawn slurmd env SLURM_CONF="$SLURM_CONF_FILE" slurmd -N "$NODE"
    fi
  fi
  wait_for slurmd "node $NODE idle in sinfo" node_idle
  wait_for slurmctld "cluster $SLURM_CLUSTER registered in sacctmgr list cluster" cluster_registered
}

# Something else answering on one of our ports makes a daemon die or, worse, makes the
# clients talk to the wrong server: say so before starting anything.
check_ports() {
  local pair var port
  for pair in HELGENOM_SLURMCTLD_PORT="$SLURMCTLD_PORT" HELGENOM_SLURMD_PORT="$SLURMD_PORT" \
    HELGENOM_SLURMDBD_PORT="$SLURMDBD_PORT" HELGENOM_SLURM_MARIADB_PORT="$MARIADB_PORT"; do
    var=${pair%%=*}
    port=${pair#*=}
    [[ $port =~ ^[0-9]+$ ]] || die "$var is not a port number: $port"
    # A shared mariadbd that is up already listens there (started by another cluster).
    if [ "$var" = HELGENOM_SLURM_MARIADB_PORT ] && [ "$SHARED_SERVICES" = 1 ] &&
      pid_of mariadbd >/dev/null; then
      continue
    fi
    # shellcheck disable=SC2016 # expanded by bash -c
    if timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null; then
      die "port $port is already in use on 127.0.0.1: stop what listens there or set $var to a free port"
    fi
  done
}

# --- main -----------------------------------------------------------------------------

install_packages
NODE=${HELGENOM_SLURM_NODE:-$(hostname -s)}
NODE_HOSTNAME=${HELGENOM_SLURM_NODE_HOSTNAME:-$NODE}

if all_pids_alive && ctld_up && dbd_up; then
  log "already running; nothing to do"
  summary
  exit 0
fi
if [ "$SHARED_SERVICES" = 1 ]; then
  # munged and mariadbd serve other clusters too: restart only this cluster's daemons.
  if [ -d "$SLURM_STATE_DIR" ] && any_slurm_pid_alive; then
    log "cluster only partly running; stopping its Slurm daemons to start them cleanly"
    bash "$HERE/stop.sh" --keep-services
  fi
elif [ -d "$SLURM_STATE_DIR" ] && any_pid_alive; then
  log "cluster only partly running; stopping it to start it cleanly"
  bash "$HERE/stop.sh"
fi

step() { "$@"; log "$1 done at $(elapsed)s"; }
check_ports
make_dirs
write_slurm_conf
write_slurmdbd_conf
install_etc_conf
step start_munged
step start_mariadb
step start_slurmdbd
step setup_accounting
step start_slurmctld
step start_slurmd
summary
