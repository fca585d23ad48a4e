#!/usr/bin/env bash
# Run helgenom's tests: installs what is missing, starts the single-host Slurm test cluster
# (scripts/slurm/start.sh) and the two-site test bed (scripts/slurm/twosite.sh) for the cluster
# tests, runs pytest, and stops them again, also when tests fail. Extra arguments go to pytest.
# HELGENOM_NO_SLURM=1 skips the cluster (its tests are then skipped). It also starts a private
# PostgreSQL (scripts/genomedb/pg_start.sh) for the genome database's tests, and stops it
# again; HELGENOM_NO_PG=1 skips it (those tests are then skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .

# Services started below are stopped on exit, also when tests fail.
STOP=()
cleanup() {
  local cmd
  # shellcheck disable=SC2086 # each entry is a script and its arguments
  for cmd in "${STOP[@]}"; do bash $cmd || true; done
}
trap cleanup EXIT

if [ "${HELGENOM_NO_SLURM:-0}" != 1 ]; then
  STOP+=(scripts/slurm/stop.sh)
  bash scripts/slurm/start.sh
  # The two-site test bed (computerome + genomedk) of the failover tests, next to it.
  STOP+=("scripts/slurm/twosite.sh stop")
  bash scripts/slurm/twosite.sh start
  # The cluster is up: its tests must run, not skip.
  export HELGENOM_SLURM_REQUIRED=1
fi

if [ "${HELGENOM_NO_PG:-0}" != 1 ]; then
  STOP+=(scripts/genomedb/pg_stop.sh)
  bash scripts/genomedb/pg_start.sh
  # PostgreSQL is up: the genome database's PostgreSQL tests must run, not skip.
  export HELGENOM_PG_REQUIRED=1
fi

set +e
.venv/bin/python -m pytest -ra "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
