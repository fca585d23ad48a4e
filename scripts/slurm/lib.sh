# shellcheck shell=bash disable=SC2034 # the settings are used by the scripts that source this
# Shared settings and helpers for scripts/slurm/start.sh and stop.sh (sourced, not run).
#
# Everything is configurable through the environment; the defaults give the one
# test cluster that helgenom's tests and CI use:
#   HELGENOM_SLURM_DIR            state dir (configs, spool, logs, pid files, MariaDB datadir)
#                                 default /var/tmp/helgenom-slurm
#   HELGENOM_SLURM_CLUSTER        cluster name (lower case), default helgenom
#   HELGENOM_SLURMCTLD_PORT       default 6817
#   HELGENOM_SLURMD_PORT          default 6818
#   HELGENOM_SLURMDBD_PORT        default 6819 (DbdPort = AccountingStoragePort)
#   HELGENOM_SLURM_MARIADB_PORT   default 3307 (private mariadbd, bound to 127.0.0.1)
#   HELGENOM_SLURM_ETC_CONF       where clients look by default, default /etc/slurm/slurm.conf;
#                                 set to the empty string to not install it there (second cluster)
#   HELGENOM_SLURM_NODE           node name, default `hostname -s`
#   HELGENOM_SLURM_NODE_CPUS      CPUs the node declares, default 192 (a GenomeDK node)
#   HELGENOM_SLURM_NODE_MEM_MB    memory the node declares, default 1536000 (1.5 TB fat node):
#                                 large enough that every site profile's requests submit
#                                 unchanged (not enforced: no cgroups on this machine)
#   HELGENOM_SLURM_TIMEOUT        seconds to wait for each daemon, default 60
#   HELGENOM_SLURM_EXTRA_ACCOUNTS extra accounts to create (comma or space separated)
# Settings for running several clusters side by side (scripts/slurm/twosite.sh); unset, the
# cluster is the one above, unchanged:
#   HELGENOM_SLURM_SERVICES_DIR   where munged and mariadbd live, default the state dir; set
#                                 to a dir shared by several clusters, they share one munged
#                                 and one mariadbd (each cluster its own database), and
#                                 stop.sh --keep-services leaves those two running
#   HELGENOM_SLURM_DB_NAME        slurmdbd's database (StorageLoc), default slurm_acct_db
#   HELGENOM_SLURM_FIRST_JOB_ID   FirstJobId in slurm.conf, default none (Slurm's 1)
#   HELGENOM_SLURM_NODE_HOSTNAME  the node's NodeHostname, also SlurmctldHost and DbdHost,
#                                 default the node name (then it must be `hostname -s`)
#   HELGENOM_SLURM_PRIVATE_ETC    1: run slurmd in its own mount namespace with this
#                                 cluster's etc/ bind-mounted on /etc/slurm, so that its jobs'
#                                 `srun` (which reads /etc/slurm/slurm.conf: slurmstepd drops
#                                 SLURM_CONF) talks to this cluster, not to the one whose
#                                 config is installed there; default 0

SLURM_STATE_DIR=${HELGENOM_SLURM_DIR:-/var/tmp/helgenom-slurm}
SLURM_CLUSTER=${HELGENOM_SLURM_CLUSTER:-helgenom}
SLURMCTLD_PORT=${HELGENOM_SLURMCTLD_PORT:-6817}
SLURMD_PORT=${HELGENOM_SLURMD_PORT:-6818}
SLURMDBD_PORT=${HELGENOM_SLURMDBD_PORT:-6819}
MARIADB_PORT=${HELGENOM_SLURM_MARIADB_PORT:-3307}
ETC_CONF=${HELGENOM_SLURM_ETC_CONF-/etc/slurm/slurm.conf}
WAIT_TIMEOUT=${HELGENOM_SLURM_TIMEOUT:-60}
NODE_CPUS=${HELGENOM_SLURM_NODE_CPUS:-192}
NODE_MEM_MB=${HELGENOM_SLURM_NODE_MEM_MB:-1536000}
SERVICES_DIR=${HELGENOM_SLURM_SERVICES_DIR:-$SLURM_STATE_DIR}
DB_NAME=${HELGENOM_SLURM_DB_NAME:-slurm_acct_db}
FIRST_JOB_ID=${HELGENOM_SLURM_FIRST_JOB_ID:-}
PRIVATE_ETC=${HELGENOM_SLURM_PRIVATE_ETC:-0}
# 1 when munged and mariadbd are shared with other clusters (outside this state dir).
SHARED_SERVICES=0
[ "$SERVICES_DIR" = "$SLURM_STATE_DIR" ] || SHARED_SERVICES=1

# Layout of the state dir.
S_ETC=$SLURM_STATE_DIR/etc            # slurm.conf, slurmdbd.conf
S_RUN=$SLURM_STATE_DIR/run            # slurm daemons' pid files
S_LOG=$SLURM_STATE_DIR/log            # slurm daemons' logs
S_SPOOL=$SLURM_STATE_DIR/spool        # StateSaveLocation (ctld), SlurmdSpoolDir (d)
S_MUNGE=$SERVICES_DIR/munge          # key, socket, log, pid, seed of the private munged
S_DB=$SERVICES_DIR/mariadb            # private mariadbd: data/, socket, pid, error log
SLURM_CONF_FILE=$S_ETC/slurm.conf
SLURMDBD_CONF_FILE=$S_ETC/slurmdbd.conf
MUNGE_SOCKET=$S_MUNGE/munge.socket
MARIADB_SOCKET=$S_DB/mariadbd.sock
STATE_MARKER=$SLURM_STATE_DIR/.helgenom-slurm
# First line of every slurm.conf we write; stop.sh only removes files that carry it.
CONF_MARKER="# helgenom-slurm-managed: $SLURM_STATE_DIR"

# name  pid file  process name (/proc/PID/comm)  log file, in start order.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
declare -A PIDFILE=(
  [munged]=$S_MUNGE/munged.pid
  [mariadbd]=$S_DB/mariadbd.pid
  [slurmdbd]=$S_RUN/slurmdbd.pid
  [slurmctld]=$S_RUN/slurmctld.pid
  [slurmd]=$S_RUN/slurmd.pid
)
declare -A LOGFILE=(
  [munged]=$S_MUNGE/munged.log
  [mariadbd]=$S_DB/mariadbd.err
  [slurmdbd]=$S_LOG/slurmdbd.log
  [slurmctld]=$S_LOG/slurmctld.log
  [slurmd]=$S_LOG/slurmd.log
)

log() { printf 'helgenom-slurm: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# pid_of NAME: print the pid from NAME's pid file if that process is alive and is NAME.
pid_of() {
  local name=$1 file=${PIDFILE[$1]} pid comm
  [ -r "$file" ] || return 1
  read -r pid <"$file" 2>/dev/null || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/comm" ] || return 1
  read -r comm <"/proc/$pid/comm" 2>/dev/null || return 1
  # comm is at most 15 characters.
  [ "$comm" = "${name:0:15}" ] || return 1
  # A zombie has exited already (this machine's init may be slow to reap).
  grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
  printf '%s\n' "$pid"
}

# Slurm client commands against this cluster, never hanging.
sl() { SLURM_CONF=$SLURM_CONF_FILE timeout 15 "$@"; }

now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
