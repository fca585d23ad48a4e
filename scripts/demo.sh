#!/usr/bin/env bash
# Quick start: install what is missing, make the synthetic demo data and run helgenom on it.
# Outputs land in results/ (CRAM, VCF, QC) under the repository; extra arguments go to
# `helgenom demo` (e.g. --cores 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/helgenom demo "$@"
