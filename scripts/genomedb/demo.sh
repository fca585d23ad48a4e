#!/usr/bin/env bash
# Reading back from the national genome database of the demo, embedded (SQLite, no server to
# install): `bash scripts/demo.sh` deposits both demo samples into demo/genomedb (the
# workflow's export step; receipts in results/export/). This script then
#
#   bash scripts/genomedb/demo.sh
#
# 1. issues a clinician token (department demo-lab) with a reader key pair,
# 2. starts the service on 127.0.0.1 (a free port) in the background,
# 3. fetches each deposited sample's VCF back as the clinician, decrypts it and compares it
#    with results/vcf/, verifies the audit chain and makes a backup in demo/genomedb-backup,
# 4. stops the service.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || bash scripts/setup.sh
HOME_DIR=demo/genomedb
DB=("$PY" -m genomedb --home "$HOME_DIR")
if [ ! -f demo/samples.tsv ] || [ ! -f "$HOME_DIR/config.json" ]; then
  echo "genomedb demo: run 'bash scripts/demo.sh' first (no demo deposits yet)" >&2
  exit 1
fi

mkdir -p "$HOME_DIR/demo"
if [ ! -s "$HOME_DIR/demo/clinician.token" ]; then
  "${DB[@]}" keys generate --secret "$HOME_DIR/demo/clinician.sec" \
    --public "$HOME_DIR/demo/clinician.pub" >/dev/null
  "${DB[@]}" token issue --role clinician --name demo-clinician --department demo-lab \
    --public-key "$HOME_DIR/demo/clinician.pub" --expires-days 1 \
    --out "$HOME_DIR/demo/clinician.token"
fi

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
"${DB[@]}" serve --port "$PORT" >"$HOME_DIR/demo/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$PY" -c "import httpx, sys; sys.exit(httpx.get('$URL/health').status_code != 200)" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$HOME_DIR/demo/serve.log" >&2; exit 1; }
  sleep 0.2
done
echo "genomedb demo: service at $URL (home $HOME_DIR)"

for sample in $(tail -n +2 demo/samples.tsv | cut -f1); do
  receipt=results/export/$sample.receipt.json
  [ -f "$receipt" ] || { echo "genomedb demo: no $receipt (run 'bash scripts/demo.sh')" >&2; exit 1; }
  vcf_id=$("$PY" -c "import json; print(json.load(open('$receipt'))['files']['vcf']['drs_id'])")
  "${DB[@]}" fetch --url "$URL" --token-file "$HOME_DIR/demo/clinician.token" --object-id "$vcf_id" \
    --secret-key "$HOME_DIR/demo/clinician.sec" --db-public-key "$HOME_DIR/keys/genomedb.pub" \
    --out "$HOME_DIR/demo/$sample.vcf.gz"
  cmp "$HOME_DIR/demo/$sample.vcf.gz" "results/vcf/$sample.vcf.gz"
  echo "genomedb demo: $sample: the VCF read back is byte-identical to results/vcf/$sample.vcf.gz"
done
"${DB[@]}" verify-audit
"${DB[@]}" backup --to demo/genomedb-backup >"$HOME_DIR/demo/backup.json"
echo "genomedb demo: backup in demo/genomedb-backup verified (report: $HOME_DIR/demo/backup.json)"
