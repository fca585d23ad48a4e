"""The export library without a service: standard outputs, QC gate, provenance, manifest,
command-line errors. (Deposits into a live service: services/genomedb/tests/service,
tests/e2e/test_export_giab.py.)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from genomedb.testing import PASS, PROVENANCE
from genomedb_contract.client import write_receipt
from genomedb_contract.manifest import (
    MANIFEST_SCHEMA,
    build_manifest,
    digest_fields,
    manifest_problems,
)
from helgenom.cli import main
from helgenom.export import ExportError
from helgenom.export.provenance import (
    analysis_parameters,
    deposit_key,
    input_identity,
    standard_files,
)
from helgenom.export.sample import qc_gate_record
from workflow_helpers import export_results


def test_standard_files_of_a_sample(tmp_path: Path) -> None:
    files = standard_files(export_results(tmp_path), "S1")
    assert set(files) == {
        "cram", "crai", "vcf", "vcf_tbi", "gvcf", "gvcf_tbi", "qc_samtools_stats",
        "qc_mosdepth_summary", "qc_fastp_hvkj2dsx3.1", "report_html", "report_fhir.json",
    }  # fmt: skip
    assert all("S1" in path.name for path in files.values())  # never another sample's file


def test_the_deposit_holds_the_input_record(tmp_path: Path) -> None:
    results = export_results(tmp_path)
    record = results / "qc" / "input" / "S1.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"source": "aligned"}')
    assert standard_files(results, "S1")["qc_input"] == record


def test_standard_files_missing_or_half_gvcf(tmp_path: Path) -> None:
    results = export_results(tmp_path, gvcf=False)
    assert "gvcf" not in standard_files(results, "S1")
    (results / "gvcf").mkdir()
    (results / "gvcf" / "S1.g.vcf.gz").write_text("x")
    with pytest.raises(ExportError, match="gVCF and its index"):
        standard_files(results, "S1")
    (results / "vcf" / "S1.vcf.gz.tbi").unlink()
    with pytest.raises(ExportError, match=r"missing outputs of S1: .*S1\.vcf\.gz\.tbi"):
        standard_files(results, "S1")


def test_qc_gate_record() -> None:
    assert qc_gate_record({"decision": "pass"}) == {"decision": "pass"}
    assert qc_gate_record({"decision": "warn", "failed_checks": ["coverage"]}) == {
        "decision": "warn",
        "failed_checks": ["coverage"],
    }
    with pytest.raises(ExportError, match="QC gate failed .* not deposited"):
        qc_gate_record({"decision": "fail"})
    record = qc_gate_record({"decision": "fail"}, "lab-lead", "coverage sufficient for panel")
    assert record["decision"] == "override"
    assert record["override"]["by"] == "lab-lead" and record["override"]["at"].endswith("Z")
    recorded = qc_gate_record(
        {
            "decision": "fail",
            "failed_checks": ["mean_coverage"],
            "override": {"by": "AB", "reason": "panel region covered", "at": "2026-11-20"},
        }
    )
    assert recorded["override"]["at"].startswith("2026-11-")  # a date: local midnight, in UTC
    assert recorded["failed_checks"] == ["mean_coverage"]
    with pytest.raises(ExportError, match="not an ISO 8601"):
        qc_gate_record({"decision": "fail", "override": {"by": "AB", "reason": "x", "at": "soon"}})
    with pytest.raises(ExportError, match="nothing to override"):
        qc_gate_record({"decision": "pass"}, "lab-lead", "why")
    with pytest.raises(ExportError, match="unknown QC gate decision"):
        qc_gate_record({"status": "ok"})


def test_deposit_key_names_sample_inputs_and_analysis_not_site_or_finish(tmp_path: Path) -> None:
    """The key a failed-over run deposits under is the primary's: the finishing time, the
    config files (a site overlay) and the site are no part of it; the analysis is."""
    fastq = tmp_path / "S1_R1.fastq.gz"
    fastq.write_bytes(b"@r\nACGT\n+\nIIII\n")
    inputs = input_identity([("FC1.1", fastq)])
    assert inputs == [{"unit": "FC1.1", "filename": "S1_R1.fastq.gz", "size": 15}]
    key = deposit_key("S1", PROVENANCE, inputs)
    elsewhere = json.loads(json.dumps(PROVENANCE))
    elsewhere["run"]["finished"] = "2026-11-27T10:00:00Z"
    elsewhere["config_sha256"] = "9" * 64
    assert deposit_key("S1", elsewhere, inputs) == key
    config = {"samples": "s.tsv", "calling": {"chunks": 4}}
    assert analysis_parameters({**config, "site": "genomedk", "export": {"url": "x"}}) == config

    def changed(path: str, value: object) -> dict[str, object]:
        copy = json.loads(json.dumps(PROVENANCE))
        *parents, last = path.split(".")
        target = copy
        for part in parents:
            target = target[part]
        target[last] = value
        return copy

    others = [
        deposit_key("S2", PROVENANCE, inputs),
        deposit_key("S1", PROVENANCE, [{**inputs[0], "size": 16}]),
        deposit_key("S1", changed("run.run_id", "run-20261127T080000Z-00000000"), inputs),
        deposit_key("S1", changed("run.started", "2026-11-27T08:00:00Z"), inputs),
        deposit_key("S1", changed("parameters_sha256", "3" * 64), inputs),
        deposit_key("S1", changed("tools.bwa", "0.7.18"), inputs),
        deposit_key("S1", changed("pipeline.commit", "f" * 40), inputs),
        deposit_key("S1", changed("reference.sha256", "4" * 64), inputs),
    ]
    assert len({key, *others}) == len(others) + 1


def test_manifest_schema_is_valid_and_manifest_follows_it(tmp_path: Path) -> None:
    Draft202012Validator.check_schema(json.loads(MANIFEST_SCHEMA.read_text()))
    files = standard_files(export_results(tmp_path), "S1")
    manifest = build_manifest("S1", files, PROVENANCE, qc_gate=PASS)
    assert manifest["files"]["vcf"] == {
        "filename": "S1.vcf.gz",
        "size": len("content of vcf/S1.vcf.gz\n"),
        "sha256": hashlib.sha256(b"content of vcf/S1.vcf.gz\n").hexdigest(),
        "md5": hashlib.md5(b"content of vcf/S1.vcf.gz\n").hexdigest(),
    }
    with pytest.raises(ExportError, match="qc_gate.decision"):
        build_manifest("S1", files, PROVENANCE, qc_gate={"decision": "fail"})
    with pytest.raises(ExportError, match="'cram' is a required property"):
        build_manifest(
            "S1", {k: v for k, v in files.items() if k != "cram"}, PROVENANCE, qc_gate=PASS
        )
    with pytest.raises(ExportError) as error:
        build_manifest("0101901234", files, PROVENANCE, qc_gate=PASS)
    assert "CPR" in str(error.value) and "0101901234" not in str(error.value)
    with pytest.raises(ExportError, match="do not exist"):
        build_manifest("S1", {**files, "cram": tmp_path / "nope.cram"}, PROVENANCE, qc_gate=PASS)


def test_digests_full_of_digits_are_not_taken_for_cpr_numbers(tmp_path: Path) -> None:
    """A SHA-256 holds ten digits in a row in ~7 % of cases (CI once refused a deposit key
    for it): every digest field the schema declares is spared the CPR check, nothing else."""
    assert digest_fields() == {
        "sha256", "md5", "commit", "config_sha256", "parameters_sha256", "deposit_key"
    }  # fmt: skip
    files = standard_files(export_results(tmp_path), "S1")
    digits = "0101901234" + "a" * 54
    provenance = json.loads(json.dumps(PROVENANCE))
    provenance["config_sha256"] = provenance["parameters_sha256"] = digits
    manifest = build_manifest("S1", files, provenance, qc_gate=PASS, key=digits)
    assert manifest["deposit_key"] == digits and manifest_problems(manifest) == []
    manifest["qc_gate"]["failed_checks"] = ["0101901234"]  # free text is still checked
    assert manifest_problems(manifest) == [
        "qc_gate.failed_checks[0]: looks like a CPR number: identifiers must be pseudonymised "
        "(the value is not shown)"
    ]


def test_command_line_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = export_results(tmp_path)
    token = tmp_path / "token"
    token.write_text("hgdb.x.y\n")
    base = ["--sample", "S1", "--results", str(results), "--out", str(tmp_path / "r.json")]
    assert main(["export", *base, "--qc-decision", "pass"]) == 1
    assert "give --url and --db-public-key" in capsys.readouterr().err
    remote = ["--url", "http://127.0.0.1:9", "--db-public-key", "x", "--token-file", str(token)]
    assert main(["export", *base, *remote, "--qc-decision", "fail"]) == 1
    assert "QC gate failed" in capsys.readouterr().err
    assert main(["export", *base, *remote, "--qc-decision", "fail", "--on-qc-fail", "skip"]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["deposited"] is False and "QC gate failed" in record["reason"]
    (tmp_path / "r.json").unlink()
    capsys.readouterr()
    assert main(["export", *base, *remote, "--qc-decision", "pass"]) == 1
    assert "give --provenance FILE, or --config" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_receipt_is_written_atomically(tmp_path: Path) -> None:
    out = write_receipt({"accession": "HGS000001", "version": 1}, tmp_path / "x" / "r.json")
    assert json.loads(out.read_text()) == {"accession": "HGS000001", "version": 1}
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]
