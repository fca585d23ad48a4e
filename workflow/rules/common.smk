# Config and sample-sheet loading (validated before any job starts) and every input function.

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "workflow"))

from snakemake.exceptions import WorkflowError  # noqa: E402

from helgenom import resources as res  # noqa: E402
from helgenom.calling import soft_filter_pipeline  # noqa: E402
from helgenom.config import ConfigError, validate_config  # noqa: E402
from helgenom.reference import ReferenceError, check_fasta  # noqa: E402
from helgenom.samplesheet import SampleSheetError, load_samplesheet, read_group  # noqa: E402
from helgenom.sites import get_site  # noqa: E402
from helgenom.versions import TOOLS  # noqa: E402


def _load_run():
    try:
        checked = validate_config(config, workflow.configfiles)
        check_fasta(checked["reference"]["fasta"])
        samples = load_samplesheet(checked["samples"], checked["units"])
    except (ConfigError, SampleSheetError, ReferenceError) as error:
        raise WorkflowError(f"helgenom: input validation failed before any job ran.\n{error}")
    config.clear()
    config.update(checked)
    return samples


SAMPLES = _load_run()
UNITS = {(u.sample_id, u.unit_id): u for s in SAMPLES.values() for u in s.units}
ALIGNER = config["alignment"]["aligner"]
N_CHUNKS = config["calling"]["chunks"]
CHUNKS = [f"{i:04d}" for i in range(N_CHUNKS)]


wildcard_constraints:
    sample=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    unit=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    chunk=r"\d{4}",
    tool=r"[a-z0-9]+",


# ---- the prepared reference --------------------------------------------------------------
REF_DIR = config["reference"]["prep_dir"]
REF_FA = f"{REF_DIR}/{config['reference']['build']}.fa"
BWA_INDEX = [f"{REF_FA}.{ext}" for ext in ("amb", "ann", "bwt", "pac", "sa")]
MM2_INDEX = f"{REF_FA}.sr.mmi"


def reference_files():
    """The prepared FASTA with its .fai and .dict (every rule reading the reference)."""
    return {"fa": REF_FA, "fai": f"{REF_FA}.fai", "dict": f"{REF_FA[:-3]}.dict"}


def aligner_index(wildcards=None):
    return BWA_INDEX if ALIGNER == "bwa" else [MM2_INDEX]


# ---- input functions ---------------------------------------------------------------------
def unit_fastqs(wildcards):
    unit = UNITS[(wildcards.sample, wildcards.unit)]
    return {"r1": str(unit.fq1), "r2": str(unit.fq2)}


def unit_read_group(wildcards):
    return read_group(UNITS[(wildcards.sample, wildcards.unit)])


def trimmed_fastqs(wildcards):
    prefix = f"results/trimmed/{wildcards.sample}/{wildcards.unit}"
    return {"r1": f"{prefix}_R1.fastq.gz", "r2": f"{prefix}_R2.fastq.gz"}


def sample_unit_bams(wildcards):
    return [
        f"results/align/{wildcards.sample}/{u.unit_id}.{ALIGNER}.bam"
        for u in SAMPLES[wildcards.sample].units
    ]


def sample_cram(wildcards):
    return {
        "cram": f"results/cram/{wildcards.sample}.cram",
        "crai": f"results/cram/{wildcards.sample}.cram.crai",
    }


def chunk_calls(wildcards):
    return [f"results/calls/{wildcards.sample}/chunks/{c}.bcf" for c in CHUNKS]


def multiqc_inputs(wildcards=None):
    files = []
    for sample, s in SAMPLES.items():
        files += [f"results/qc/fastp/{sample}/{sample}_{u.unit_id}.fastp.json" for u in s.units]
        files += [
            f"results/qc/samtools/{sample}.stats.txt",
            f"results/qc/samtools/{sample}.flagstat.txt",
            f"results/qc/samtools/{sample}.markdup.txt",
            f"results/qc/mosdepth/{sample}.mosdepth.global.dist.txt",
            f"results/qc/mosdepth/{sample}.mosdepth.summary.txt",
            f"results/qc/bcftools/{sample}.stats.txt",
        ]
    files.append("results/qc/coverage_mqc.tsv")
    return files


def final_outputs():
    out = []
    for sample in SAMPLES:
        out += [
            f"results/cram/{sample}.cram",
            f"results/cram/{sample}.cram.crai",
            f"results/vcf/{sample}.vcf.gz",
            f"results/vcf/{sample}.vcf.gz.tbi",
        ]
    out += ["results/qc/multiqc/multiqc_report.html", "results/versions.yaml"]
    return out


# Which env provides each tool (the tool_version rule runs each tool in its own env).
TOOL_ENVS = {
    "bwa": "bwa",
    "minimap2": "minimap2",
    "samtools": "samtools",
    "bcftools": "bcftools",
    "tabix": "bcftools",
    "fastp": "fastp",
    "mosdepth": "mosdepth",
    "multiqc": "multiqc",
}


def versions_tools():
    """Tools whose version a tool_version job asks (MultiQC's comes from its report data)."""
    tools = ["samtools", "bcftools", "tabix", "fastp", "mosdepth", ALIGNER]
    return sorted(tools)


# ---- resources (see workflow/helgenom/resources.py and sites.py) ---------------------------
# A site profile sets `site`; requests are then fitted to that site's partitions.
SITE = get_site(config["site"]) if config.get("site") else None
if SITE is not None and not os.environ.get("HELGENOM_SLURM_ACCOUNT"):
    raise WorkflowError(
        f"helgenom: the {SITE.title} profile submits with the Slurm account in the environment "
        "variable HELGENOM_SLURM_ACCOUNT, which is not set. Fix: export "
        "HELGENOM_SLURM_ACCOUNT=<your project/account> (see README.md, Running on the HPC sites)."
    )


def job_resources(kind, size_factor=1.0):
    """mem_mb, runtime (and slurm_partition on a site) of a rule, from its input size."""

    def request(input, threads, attempt):
        return res.request(kind, input.size_mb * size_factor, threads, attempt, SITE)

    def mem_mb(wildcards, input, threads, attempt):
        return request(input, threads, attempt).mem_mb

    def runtime(wildcards, input, threads, attempt):
        return request(input, threads, attempt).runtime_min

    def slurm_partition(wildcards, input, threads, attempt):
        return request(input, threads, attempt).partition

    out = {"mem_mb": mem_mb, "runtime": runtime}
    if SITE is not None:
        out["slurm_partition"] = slurm_partition
    for f in out.values():  # what the resources are made of, for tests and reports
        f.kind, f.size_factor = kind, size_factor
    return out
