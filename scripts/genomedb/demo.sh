#!/usr/bin/env bash
# Demo of the national genome database, embedded (SQLite, no server to install): after
# `bash scripts/demo.sh`, deposit the demo samples' results and read one back.
#
#   bash scripts/genomedb/demo.sh
#
# 1. makes a database home in demo/genomedb (keys, SQLite catalog, object store),
# 2. issues a submitter token (department demo-lab) and a clinician token with a reader key,
# 3. starts the service on 127.0.0.1 (a free port) in the background,
# 4. runs the export step for each sample of demo/samples.tsv (receipts in results/export/),
# 5. fetches each sample's VCF back as the clinician, decrypts it and compares it with
#    results/vcf/, verifies the audit chain and makes a backup in demo/genomedb-backup,
# 6. stops the service.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
[ -x "$PY" ] || bash scripts/setup.sh
HOME_DIR=demo/genomedb
DB=("$PY" -m helgenom.genomedb --home "$HOME_DIR")
if [ ! -f demo/samples.tsv ] || [ ! -f results/versions.yaml ]; then
  echo "genomedb demo: run 'bash scripts/demo.sh' first (no demo results yet)" >&2
  exit 1
fi

"${DB[@]}" init >/dev/null
mkdir -p "$HOME_DIR/demo"
if [ ! -s "$HOME_DIR/demo/submitter.token" ]; then
  "${DB[@]}" token issue --role submitter --name demo-pipeline --department demo-lab \
    --out "$HOME_DIR/demo/submitter.token"
  "${DB[@]}" keys generate --secret "$HOME_DIR/demo/clinician.sec" \
    --public "$HOME_DIR/demo/clinician.pub" >/dev/null
  "${DB[@]}" token issue --role clinician --name demo-clinician --department demo-lab \
    --public-key "$HOME_DIR/demo/clinician.pub" --out "$HOME_DIR/demo/clinician.token"
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

CONFIGS=(config.yaml)
[ -f resources/demo/config.yaml ] && CONFIGS+=(resources/demo/config.yaml) # as `helgenom demo`
for sample in $(tail -n +2 demo/samples.tsv | cut -f1); do
  gate=(--qc-gate "results/qc/gate/$sample.json") # the QC gate's result, as the export rule
  [ -f "results/qc/gate/$sample.json" ] || gate=(--qc-decision pass)
  "$PY" -m helgenom.export --sample "$sample" --results results --config "${CONFIGS[@]}" \
    --versions results/versions.yaml "${gate[@]}" --register-sample \
    --url "$URL" --token-file "$HOME_DIR/demo/submitter.token" \
    --db-public-key "$HOME_DIR/keys/genomedb.pub" \
    --out "results/export/$sample.receipt.json" --manifest-out "results/export/$sample.manifest.json"
  vcf_id=$("$PY" -c "import json; print(json.load(open('results/export/$sample.receipt.json'))['files']['vcf']['drs_id'])")
  "${DB[@]}" fetch --url "$URL" --token-file "$HOME_DIR/demo/clinician.token" --object-id "$vcf_id" \
    --secret-key "$HOME_DIR/demo/clinician.sec" --db-public-key "$HOME_DIR/keys/genomedb.pub" \
    --out "$HOME_DIR/demo/$sample.vcf.gz"
  cmp "$HOME_DIR/demo/$sample.vcf.gz" "results/vcf/$sample.vcf.gz"
  echo "genomedb demo: $sample: the VCF read back is byte-identical to results/vcf/$sample.vcf.gz"
done
"${DB[@]}" verify-audit
"${DB[@]}" backup --to demo/genomedb-backup >"$HOME_DIR/demo/backup.json"
echo "genomedb demo: backup in demo/genomedb-backup verified (report: $HOME_DIR/demo/backup.json)"
