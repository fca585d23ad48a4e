"""The export step: deposit a sample's results in the national genome database.

Pipeline side of the deposit (the database side is the `genomedb` service; what both share,
the manifest's schema, crypt4gh and the HTTP client, is `genomedb_contract`):

1. `provenance.standard_files` finds a sample's outputs (CRAM+CRAI, VCF+TBI, gVCF+TBI when
   present, per-sample QC metrics, report renderings); `provenance.collect_provenance`
   records how they were made (helgenom version and commit, config and parameter hashes, tool
   versions, reference checksum, run dates); `provenance.deposit_key` is the deposit's
   idempotency key: one deposit per sample and analysis of a run.
2. `sample.export_sample` judges the QC gate (`sample.qc_gate_record`: a failed gate is only
   exported with a recorded override), builds the manifest (genomedb_contract.manifest:
   every file's size, SHA-256 and MD5, validated against the contract's schema), deposits
   (genomedb_contract.client: each file crypt4gh-encrypted to the database's public key
   while it streams up) and writes the database's receipt (accession, version, checksums).
   Rerunning it is safe: identical content returns the same receipt and uploads nothing; an
   interrupted deposit is resumed; changed content becomes the sample's next version, except
   under a `deposit_key` the database already holds (the same sample, input and analysis of
   the same run, e.g. continued on the passive site with its report made again): then the
   earlier deposit's receipt is the answer.
3. `step.export_from_run` is what the workflow's export rule (workflow/rules/export.smk)
   calls for one sample of a run; `helgenom export` (helgenom.cli.export) deposits by hand:

    helgenom export --sample S --results results --config config.yaml \
        --qc-gate results/qc/gate/S.json --url URL --token-file TOKEN \
        --db-public-key genomedb.pub --out results/export/S.receipt.json

The token is read from --token-file or HELGENOM_GENOMEDB_TOKEN, never from the command line.
"""

from __future__ import annotations

from genomedb_contract.manifest import DepositError

# The sample cannot be exported; str() says why and what to do. The contract's error, so that
# what build_manifest and deposit (genomedb_contract) raise is an ExportError too.
ExportError = DepositError
