# shellcheck shell=bash
# Source this to point Slurm commands at the test cluster of scripts/slurm/start.sh:
#   source scripts/slurm/env.sh
# Honours the same HELGENOM_SLURM_* variables as start.sh (see lib.sh).
export HELGENOM_SLURM_DIR="${HELGENOM_SLURM_DIR:-/var/tmp/helgenom-slurm}"
export HELGENOM_SLURM_CLUSTER="${HELGENOM_SLURM_CLUSTER:-helgenom}"
export SLURM_CONF="$HELGENOM_SLURM_DIR/etc/slurm.conf"
# The default account of root (and $SUDO_USER) on this cluster; the others are
# genomedk-proj, computerome-proj, abacus-proj (+ $HELGENOM_SLURM_EXTRA_ACCOUNTS).
export HELGENOM_SLURM_ACCOUNT="${HELGENOM_SLURM_ACCOUNT:-helgenom-test}"
