#!/usr/bin/env bash
# Run helgenom's tests, tier by tier (README: Tests). Installs what is missing (scripts/setup.sh),
# checks the code with ruff, then:
#   1. the unit tiers (tests/unit, services/genomedb/tests/unit): no process, no network;
#   2. the other tiers in one parallel pytest run (pytest-xdist, tests of one module on one
#      worker, the tests of each Slurm test cluster one after the other on one worker):
#      tests/slurm (started first), tests/e2e, services/genomedb/tests/service, tests/workflow.
# It starts the services those need and stops them again on exit, also when tests fail: the
# single-host Slurm test cluster (scripts/slurm/start.sh) and the two-site beds
# (scripts/slurm/twosite.sh) for tests/slurm, a private PostgreSQL (scripts/genomedb/pg_start.sh)
# for the genome database's tests.
#
#   bash scripts/test.sh                      # every tier (the README's test command, and CI's)
#   bash scripts/test.sh unit                 # one or more tiers: unit workflow e2e slurm
#   bash scripts/test.sh workflow -- -k fail  # after --: arguments for pytest
#
# HELGENOM_NO_SLURM=1 skips starting the clusters (their tests then skip), HELGENOM_NO_PG=1
# PostgreSQL (its tests then skip). HELGENOM_TEST_WORKERS: parallel workers of step 2 (default
# 6: one per Slurm cluster (the main cluster, the two two-site beds, the priority test's
# cluster), whose tests mostly wait for their jobs, and two that compute).
set -euo pipefail
cd "$(dirname "$0")/.."

TIERS=()
while (($#)); do
  case $1 in
    unit | workflow | e2e | slurm) TIERS+=("$1") ;;
    --) shift && break ;;
    *) echo "test.sh: unknown tier '$1' (tiers: unit workflow e2e slurm; pytest arguments after --)" >&2
       exit 2 ;;
  esac
  shift
done
((${#TIERS[@]})) || TIERS=(unit workflow e2e slurm)
wants() { [[ " ${TIERS[*]} " == *" $1 "* ]]; }

bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .

PYTEST=(.venv/bin/python -m pytest -ra -p no:cacheprovider)
# pytest's exit 5 (no test collected) is a failure here: a tier that runs nothing hides a fault.
run_pytest() {
  local status=0
  "${PYTEST[@]}" "$@" || status=$?
  if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
    status=1
  fi
  return "$status"
}

status=0
if wants unit; then
  SECONDS=0
  run_pytest -n 2 tests/unit services/genomedb/tests/unit "$@" || status=$?
  echo "test.sh: unit tiers: ${SECONDS}s"
fi

# The Slurm tests first: pytest-xdist hands out work in collection order, and the Slurm tests
# mostly wait for their clusters, so they should start at once and wait while the others compute.
PATHS=()
wants slurm && PATHS+=(tests/slurm)
wants e2e && PATHS+=(tests/e2e services/genomedb/tests/service)
wants workflow && PATHS+=(tests/workflow)
((${#PATHS[@]})) || exit "$status"

# Services started below are stopped on exit, also when tests fail.
STOP=()
cleanup() {
  local cmd
  # shellcheck disable=SC2086 # each entry is a command and its arguments
  for cmd in "${STOP[@]}"; do $cmd || true; done
}
trap cleanup EXIT

if wants slurm && [ "${HELGENOM_NO_SLURM:-0}" != 1 ]; then
  STOP+=("bash scripts/slurm/stop.sh")
  bash scripts/slurm/start.sh
  # The two-site test beds of the failover tests, next to it: the first (computerome, genomedk,
  # abacus) and the second (computerome, genomedk; HELGENOM_TWOSITE_BED=b), started side by side.
  STOP+=("bash scripts/slurm/twosite.sh stop"
         "env HELGENOM_TWOSITE_BED=b bash scripts/slurm/twosite.sh stop")
  bash scripts/slurm/twosite.sh start &
  bed_a=$!
  HELGENOM_TWOSITE_BED=b bash scripts/slurm/twosite.sh start computerome genomedk &
  bed_b=$!
  wait "$bed_a"
  wait "$bed_b"
  # The cluster is up: its tests must run, not skip.
  export HELGENOM_SLURM_REQUIRED=1
fi

if { wants e2e || wants workflow; } && [ "${HELGENOM_NO_PG:-0}" != 1 ]; then
  STOP+=("bash scripts/genomedb/pg_stop.sh")
  bash scripts/genomedb/pg_start.sh
  # PostgreSQL is up: the genome database's PostgreSQL tests must run, not skip.
  export HELGENOM_PG_REQUIRED=1
fi

SECONDS=0
# --no-loadscope-reorder: pytest-xdist would otherwise hand out the groups with the most tests
# first (the genome database's parametrised tests), and the Slurm groups, few tests but the
# longest, started only after them (seen: the two-site failover group at 674 s of 1458 s).
run_pytest -n "${HELGENOM_TEST_WORKERS:-6}" --dist loadgroup --no-loadscope-reorder \
  --durations=25 "${PATHS[@]}" "$@" ||
  status=$?
echo "test.sh: ${PATHS[*]}: ${SECONDS}s"
exit "$status"
