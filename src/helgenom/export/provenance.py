"""What a sample's deposit holds and how it was made: its standard output files, the
provenance block of its manifest, and the deposit's idempotency key."""

from __future__ import annotations

import hashlib
import re
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from genomedb_contract.crypto import file_digests
from genomedb_contract.manifest import canonical_json, iso_time
from helgenom import __version__
from helgenom.export import ExportError
from helgenom.runs import REPO

# Configuration that is not an analysis parameter: where the results are deposited and on
# which site the run runs (a run failed over to another site is the same analysis).
NOT_PARAMETERS = ("export", "site")


def standard_files(results: str | Path, sample_id: str) -> dict[str, Path]:
    """The outputs of one sample under a run's results/ folder, by manifest key.

    CRAM, VCF and their indexes must exist; the gVCF, per-sample QC metrics, runs of
    homozygosity, mitochondrial and structural variants and report renderings are added when
    present. The run's MultiQC report is not: it covers every sample of the run, and a deposit
    holds one sample's data only.
    """
    results = Path(results)
    files = {
        "cram": results / "cram" / f"{sample_id}.cram",
        "crai": results / "cram" / f"{sample_id}.cram.crai",
        "vcf": results / "vcf" / f"{sample_id}.vcf.gz",
        "vcf_tbi": results / "vcf" / f"{sample_id}.vcf.gz.tbi",
    }
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise ExportError(f"missing outputs of {sample_id}: {', '.join(missing)}")
    optional = {
        "gvcf": results / "gvcf" / f"{sample_id}.g.vcf.gz",
        "gvcf_tbi": results / "gvcf" / f"{sample_id}.g.vcf.gz.tbi",
        "qc_samtools_stats": results / "qc" / "samtools" / f"{sample_id}.stats.txt",
        "qc_samtools_flagstat": results / "qc" / "samtools" / f"{sample_id}.flagstat.txt",
        "qc_samtools_markdup": results / "qc" / "samtools" / f"{sample_id}.markdup.txt",
        "qc_mosdepth_summary": results / "qc" / "mosdepth" / f"{sample_id}.mosdepth.summary.txt",
        "qc_mosdepth_dist": results / "qc" / "mosdepth" / f"{sample_id}.mosdepth.global.dist.txt",
        "qc_bcftools_stats": results / "qc" / "bcftools" / f"{sample_id}.stats.txt",
        "qc_gate_result": results / "qc" / "gate" / f"{sample_id}.json",
        "qc_gate_metrics": results / "qc" / "gate" / f"{sample_id}.metrics.json",
        "roh_segments": results / "roh" / f"{sample_id}.roh.txt",
        "roh_summary": results / "roh" / f"{sample_id}.roh.json",
        "mito_vcf": results / "mito" / f"{sample_id}.vcf.gz",
        "mito_vcf_tbi": results / "mito" / f"{sample_id}.vcf.gz.tbi",
        "mito_summary": results / "mito" / f"{sample_id}.mito.json",
        "sv_vcf": results / "sv" / f"{sample_id}.vcf.gz",
        "sv_vcf_tbi": results / "sv" / f"{sample_id}.vcf.gz.tbi",
        "sv_summary": results / "sv" / f"{sample_id}.sv.json",
        "cnv_vcf": results / "cnv" / f"{sample_id}.vcf.gz",
        "cnv_vcf_tbi": results / "cnv" / f"{sample_id}.vcf.gz.tbi",
        "cnv_summary": results / "cnv" / f"{sample_id}.cnv.json",
        # where the reads came from: FASTQ, or an aligned file re-analysed (its SHA-256)
        "qc_input": results / "qc" / "input" / f"{sample_id}.json",
    }
    files.update({key: path for key, path in optional.items() if path.is_file()})
    if ("gvcf" in files) != ("gvcf_tbi" in files):
        raise ExportError(f"{sample_id}: the gVCF and its index must both exist, or neither")
    for path in sorted((results / "qc" / "fastp" / sample_id).glob("*.fastp.json")):
        unit = path.name.removeprefix(f"{sample_id}_").removesuffix(".fastp.json")
        files[f"qc_fastp_{_key_part(unit)}"] = path
    for path in sorted((results / "report").glob(f"{sample_id}.*")):
        files[f"report_{_key_part(path.name.removeprefix(sample_id + '.'))}"] = path
    return files


def _key_part(text: str) -> str:
    """A manifest key suffix from free text: lower case, [a-z0-9_.-]."""
    return re.sub(r"[^a-z0-9_.-]", "_", text.lower()).strip("._-")[:60] or "file"


def _sha256_of_files(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(bytes.fromhex(file_digests(path).sha256))
    return digest.hexdigest()


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def collect_provenance(
    *,
    config_files: Sequence[str | Path],
    parameters: Mapping[str, Any],
    versions: str | Path | Mapping[str, Any],
    reference: str | Path,
    build: str,
    started: datetime,
    finished: datetime,
    run_id: str | None = None,
    repo: Path = REPO,
) -> dict[str, Any]:
    """The provenance block of a manifest.

    `parameters` is the effective configuration (validated, with defaults); `versions` the
    run's results/versions.yaml (or its content); `reference` the FASTA the run used.
    """
    commit = _git(repo, "rev-parse", "HEAD")
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    if isinstance(versions, Mapping):
        tools = dict(versions)
    else:
        tools = yaml.safe_load(Path(versions).read_text()) or {}
    reference = Path(reference)
    pipeline: dict[str, Any] = {"name": "helgenom", "version": __version__}
    pipeline["commit"] = commit if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else "unknown"
    if status is not None:
        pipeline["dirty"] = bool(status)
    run: dict[str, Any] = {"started": iso_time(started), "finished": iso_time(finished)}
    if run_id:
        run["run_id"] = run_id
    return {
        "pipeline": pipeline,
        "config_sha256": _sha256_of_files([Path(f) for f in config_files]),
        "parameters_sha256": hashlib.sha256(canonical_json(parameters)).hexdigest(),
        "tools": {str(k): str(v) for k, v in sorted(tools.items())},
        "reference": {
            "build": build,
            "sha256": file_digests(reference).sha256,
            "filename": reference.name,
        },
        "run": run,
    }


def analysis_parameters(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run's configuration without what is not an analysis parameter (NOT_PARAMETERS)."""
    return {key: value for key, value in config.items() if key not in NOT_PARAMETERS}


def input_identity(fastqs: Sequence[tuple[str, str | Path]]) -> list[dict[str, Any]]:
    """What identifies a sample's input data cheaply: each (unit, FASTQ)'s file name and size
    (for a re-analysed unit its aligned CRAM/BAM's: the deposit of a re-analysis gets its own
    key; results/qc/input/<sample>.json in the deposit has the file's SHA-256)."""
    return [
        {"unit": unit, "filename": Path(path).name, "size": Path(path).stat().st_size}
        for unit, path in fastqs
    ]


def deposit_key(
    sample_id: str, provenance: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]
) -> str:
    """The deposit's idempotency key: one deposit per sample and analysis of a run.

    Made of the sample, its input data (`input_identity`) and the provenance without what
    may differ when the same analysis is continued elsewhere: the time it finished and the
    config files' checksum (a site's overlay names its own database URL or token file; the
    effective analysis parameters are in `parameters_sha256`). A run failed over to another
    site therefore deposits with the key the primary used, and the database answers a
    sample the primary already deposited with that deposit's receipt, also where outputs
    were made again since (a report carries the time it was made). A changed analysis,
    pipeline, tool, reference or input makes a new key, and a new version.
    """
    run = {k: v for k, v in provenance.get("run", {}).items() if k != "finished"}
    analysis = {k: v for k, v in provenance.items() if k != "config_sha256"}
    identity = {
        "sample_id": sample_id,
        "inputs": [dict(item) for item in inputs],
        "provenance": {**analysis, "run": run},
    }
    return hashlib.sha256(canonical_json(identity)).hexdigest()


def moment(text: str | None, fallback: float) -> datetime:
    """An ISO 8601 date or time (without a zone: local time), else the `fallback` epoch."""
    if not text:
        return datetime.fromtimestamp(fallback, UTC)
    try:
        parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as error:
        raise ExportError(f"not an ISO 8601 date or time: {text!r}") from error
    return parsed if parsed.tzinfo else parsed.astimezone()
