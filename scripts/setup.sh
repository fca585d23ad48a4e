#!/usr/bin/env bash
# Install what helgenom needs on a Debian 12 machine: the bioinformatics tools from Debian
# (versions pinned in envs/*.yaml match these) and a Python virtual environment in .venv.
# Idempotent: a second run only checks. Needs root (or sudo) for apt-get when a tool is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(bwa minimap2 samtools bcftools tabix fastp mosdepth freebayes libhts-dev multiqc
              # structural variants (workflow/rules/sv.smk): callers, merge of two callers
              delly tiddit survivor
              # copy-number variants (workflow/rules/cnv.smk): cnvkit 0.9.9, which brings R
              # DNAcopy (r-bioc-dnacopy) for its CBS segmentation
              cnvkit r-bioc-dnacopy
              python3-venv git procps postgresql
              # failover: replication of run directories (helgenom replicate), unshare (two-site bed)
              rsync util-linux
              # the report's PDF (WeasyPrint: pango, fonts) and the tests' PDF checks (pdftoppm)
              libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.helgenom-installed
# Three distributions, each editable, in this order: the contract the pipeline and the genome
# database share (./contract, genomedb-contract), the genome database service
# (./services/genomedb, genomedb: the demo deposits into it, the tests run it), and the
# pipeline with its tests (helgenom[test]). One pip call, so that genomedb-contract and
# genomedb come from this checkout and are never looked up in a package index. Reinstalled
# when any of the three pyproject.toml files is newer than the stamp.
PROJECTS=(contract services/genomedb .)
reinstall=0
for project in "${PROJECTS[@]}"; do
  if [ ! -f "$stamp" ] || [ "$project/pyproject.toml" -nt "$stamp" ]; then
    reinstall=1
  fi
done
if ((reinstall)); then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e ./contract -e ./services/genomedb -e ".[test]"
  touch "$stamp"
fi
