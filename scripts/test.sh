#!/usr/bin/env bash
# Run helgenom's tests: installs what is missing, starts the single-host Slurm test cluster
# (scripts/slurm/start.sh) for the cluster tests, runs pytest, and stops the cluster again,
# also when tests fail. Extra arguments go to pytest.
# HELGENOM_NO_SLURM=1 skips the cluster (its tests are then skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .

if [ "${HELGENOM_NO_SLURM:-0}" != 1 ]; then
  trap 'bash scripts/slurm/stop.sh || true' EXIT
  bash scripts/slurm/start.sh
  # The cluster is up: its tests must run, not skip.
  export HELGENOM_SLURM_REQUIRED=1
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
