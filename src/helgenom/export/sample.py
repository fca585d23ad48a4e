"""One sample's deposit: judge its QC gate, build its manifest, deposit it, write the receipt."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from genomedb_contract.client import deposit, write_receipt
from genomedb_contract.manifest import build_manifest, iso_time
from helgenom.export import ExportError
from helgenom.export.provenance import deposit_key, moment


class QCGateFailed(ExportError):
    """The QC gate failed and no override is recorded: the sample is not deposited."""


def qc_gate_record(
    gate: Mapping[str, Any], override_by: str | None = None, override_reason: str | None = None
) -> dict[str, Any]:
    """The manifest's qc_gate block from the QC gate's result (results/qc/gate/<sample>.json
    of helgenom.qc: {"decision": pass|warn|fail, "failed_checks": [...], "override": {by,
    reason, at}}). A failed gate needs an override (recorded in the gate result, or given
    here: who and why) or the sample is not exported.
    """
    decision = gate.get("decision")
    if decision not in ("pass", "warn", "fail"):
        raise ExportError(f"unknown QC gate decision {decision!r}: pass, warn or fail")
    override = dict(gate.get("override") or {})
    by = override_by or override.get("by")
    reason = override_reason or override.get("reason")
    if decision != "fail":
        if by or reason:
            raise ExportError(f"the QC gate's decision is {decision}: there is nothing to override")
        record: dict[str, Any] = {"decision": decision}
    elif by and reason:
        at = moment(override.get("at"), time.time())
        record = {
            "decision": "override",
            "override": {"by": by, "reason": reason, "at": iso_time(at)},
        }
    else:
        raise QCGateFailed(
            "the QC gate failed for this sample: it is not deposited. To deposit it anyway, "
            "record an override: who (--qc-override-by) and why (--qc-override-reason)."
        )
    checks = [str(c) for c in gate.get("failed_checks", [])]
    if checks:
        record["failed_checks"] = checks
    return record


def export_sample(
    sample_id: str,
    *,
    files: Mapping[str, str | Path],
    gate: Mapping[str, Any],
    provenance: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
    url: str,
    token: str,
    db_public_key: str | Path | bytes,
    out: str | Path,
    on_qc_fail: str = "error",
    override_by: str | None = None,
    override_reason: str | None = None,
    manifest_out: str | Path | None = None,
    register_sample: bool = False,
    inputs: Sequence[Mapping[str, Any]] | None = None,
    retries: int = 3,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> dict[str, Any]:
    """Judge the QC gate, build the manifest, deposit, and write the receipt to `out`.

    A failed gate without an override raises QCGateFailed (`on_qc_fail="error"`) or writes a
    record {"sample_id", "deposited": false, "reason"} to `out` (`"skip"`). `provenance` may
    be a function, called only when the sample is deposited. With `inputs` (the sample's
    `input_identity`), the manifest carries a `deposit_key`: the run deposits the sample
    once per analysis, also when it is continued on another site. Returns what was written.
    """
    try:
        qc_gate = qc_gate_record(gate, override_by, override_reason)
    except QCGateFailed as error:
        if on_qc_fail == "error":
            raise
        record = {"sample_id": sample_id, "deposited": False, "reason": str(error)}
        write_receipt(record, out)
        log(f"export: {sample_id}: not deposited ({error})")
        return record
    if callable(provenance):
        provenance = provenance()
    key = None if inputs is None else deposit_key(sample_id, provenance, inputs)
    manifest = build_manifest(sample_id, files, provenance, qc_gate=qc_gate, key=key)
    if manifest_out:
        write_receipt(manifest, manifest_out)
    receipt = deposit(
        url,
        token,
        manifest,
        files,
        db_public_key,
        retries=retries,
        register_sample=register_sample,
        log=log,
    )
    write_receipt(receipt, out)
    log(
        f"export: {sample_id}: {receipt['accession']} version {receipt['version']} "
        f"({len(receipt['files'])} files) -> {out}"
    )
    return receipt
