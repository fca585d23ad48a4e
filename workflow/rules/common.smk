# Config and sample-sheet loading (validated before any job starts) and every input function.

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from helgenom import resources as res
from helgenom.aligned import index_of, read_group_ids
from helgenom.calling import (
    call_chunk_command,
    call_chunk_params,
    mode_callers,
    soft_filter_pipeline,
)
from helgenom.cnv import CnvSettings
from helgenom.failover import FencedError, check_job_lease, hold_lease
from helgenom.family import Settings as IdentitySettings
from helgenom.family import TrioSettings, pedigree
from helgenom.inputs import check_run_inputs
from helgenom.problems import ProblemsError
from helgenom.rundir import LEASE_ENV, LEASE_INSPECT_ENV, run_start
from helgenom.samplesheet import read_group, read_group_fields
from helgenom.scheduling import family_clocks, sample_clocks, shared_clock
from helgenom.scheduling import TAG_DEADLINE, TAG_RANK, TAG_SAMPLE
from helgenom.sites import get_site
from helgenom.sv import SV_CALLER_OUTPUT, SvSettings
from helgenom.versions import TOOLS


def _load_run():
    """The run's inputs, checked as `helgenom validate` checks them (helgenom.inputs): the
    config, reference, sample sheet, truth sets, export settings, QC config and gene panels,
    every problem with file, line and fix, before any job."""
    try:
        inputs = check_run_inputs(config, workflow.configfiles)
    except ProblemsError as error:
        raise WorkflowError(f"helgenom: input validation failed before any job ran.\n{error}")
    for warning in inputs.warnings:
        print(f"helgenom: warning: {warning}", file=sys.stderr)
    config.clear()
    config.update(inputs.config)
    return inputs


INPUTS = _load_run()
SAMPLES = INPUTS.samples
QC_OVERRIDES = INPUTS.qc_overrides
# sample_id -> gene panel: the samples that get a clinical report (report.smk).
REPORT_PANELS = INPUTS.panels
UNITS = {(u.sample_id, u.unit_id): u for s in SAMPLES.values() for u in s.units}
# Re-analysed units (units.tsv `aligned`: a CRAM/BAM): their headers, read before any job, and
# how their reads enter the pipeline (reanalysis.mode; workflow/rules/reanalysis.smk).
ALIGNED = INPUTS.aligned
REANALYSIS_MODE = config["reanalysis"]["mode"]
ALIGNER = config["alignment"]["aligner"]
N_CHUNKS = config["calling"]["chunks"]
CHUNKS = [f"{i:04d}" for i in range(N_CHUNKS)]
CALLING_MODE = config["calling"]["mode"]
CALLERS = mode_callers(CALLING_MODE)
GVCF = config["calling"]["gvcf"]
# sample_id -> {truth_vcf, confident_bed}: the samples of a validation run.
VALIDATION = config["validation"]
# Families declared in samples.tsv (family.smk): family -> members in the run (two or more).
PEDIGREE = pedigree(SAMPLES)
FAMILIES = PEDIGREE.families()
TRIO_FAMILIES = sorted({t.family for t in PEDIGREE.trios()})
IDENTITY = IdentitySettings(
    **{k: config["identity"][k] for k in ("min_depth", "min_sites", "po_max_ibs0")}
)
IDENTITY_SITES = config["identity"]["sites"]
TRIO_SETTINGS = TrioSettings(**config["family"])
# The run's relatedness needs two samples with gVCFs.
RELATEDNESS = GVCF and len(SAMPLES) > 1
# Structural and copy-number variants (sv.smk, cnv.smk).
SV = SvSettings.from_config(config["sv"])
CNV = CnvSettings.from_config(config["cnv"])


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
    """fastp's input: the unit's FASTQ pair, or the pairs taken out of its aligned file."""
    unit = UNITS[(wildcards.sample, wildcards.unit)]
    if unit.aligned is not None:
        prefix = f"results/reanalysis/{wildcards.sample}/{wildcards.unit}"
        return {"r1": f"{prefix}_R1.fastq.gz", "r2": f"{prefix}_R2.fastq.gz"}
    return {"r1": str(unit.fq1), "r2": str(unit.fq2)}


def reused(unit):
    """Whether a unit's alignments are reused as they are (reanalysis.mode reuse)."""
    return unit.aligned is not None and REANALYSIS_MODE == "reuse"


def trimmed_units(sample):
    """The units of a sample that go through fastp (all but the reused aligned ones)."""
    return [u for u in SAMPLES[sample].units if not reused(u)]


def aligned_input(wildcards):
    """An aligned unit's file, its index, and the reference that decodes it (the unit's
    aligned_reference, else the run's prepared reference)."""
    unit = UNITS[(wildcards.sample, wildcards.unit)]
    if unit.aligned is None:
        raise WorkflowError(f"unit {wildcards.unit} of {wildcards.sample} has no aligned file")
    if unit.aligned_reference is not None:
        ref = {"ref": str(unit.aligned_reference), "ref_fai": f"{unit.aligned_reference}.fai"}
    else:
        ref = {"ref": REF_FA, "ref_fai": f"{REF_FA}.fai"}
    return {"aligned": str(unit.aligned), "index": str(index_of(unit.aligned)), **ref}


def aligned_select(wildcards):
    """samtools view's filter of the reads an aligned unit takes: its aligned_sample's read
    groups (IDs checked before any job: helgenom.aligned), or every read."""
    key = (wildcards.sample, wildcards.unit)
    ids = read_group_ids(ALIGNED[key], UNITS[key].aligned_sample)
    if not ids:
        return ""
    return "-e '" + " || ".join(f'[RG]=="{rg}"' for rg in ids) + "'"


def aligned_record_inputs(wildcards):
    """What an aligned unit's input record reads: the file, the run's dictionary and, when
    realigned, the reads samtools fastq could not pair."""
    files = {**aligned_input(wildcards), "dict": reference_files()["dict"]}
    if REANALYSIS_MODE == "realign":
        prefix = f"results/reanalysis/{wildcards.sample}/{wildcards.unit}"
        files["leftovers"] = [f"{prefix}_singletons.fastq.gz", f"{prefix}_other.fastq.gz"]
    return files


def sample_input_records(wildcards):
    """The input records of a sample's aligned units (results/qc/input/<sample>/<unit>.json)."""
    return [
        f"results/qc/input/{wildcards.sample}/{u.unit_id}.json"
        for u in SAMPLES[wildcards.sample].units
        if u.aligned is not None
    ]


def unit_read_group(wildcards):
    return read_group(UNITS[(wildcards.sample, wildcards.unit)])


def trimmed_fastqs(wildcards):
    prefix = f"results/trimmed/{wildcards.sample}/{wildcards.unit}"
    return {"r1": f"{prefix}_R1.fastq.gz", "r2": f"{prefix}_R2.fastq.gz"}


def sample_unit_bams(wildcards):
    """The units' coordinate-sorted BAMs: aligned by ALIGNER, or reused (reanalysis.smk)."""
    return [
        f"results/align/{wildcards.sample}/{u.unit_id}.{'reuse' if reused(u) else ALIGNER}.bam"
        for u in SAMPLES[wildcards.sample].units
    ]


def sample_cram(wildcards):
    return {
        "cram": f"results/cram/{wildcards.sample}.cram",
        "crai": f"results/cram/{wildcards.sample}.cram.crai",
    }


def chunk_calls(wildcards):
    return [f"results/calls/{wildcards.sample}/chunks/{c}.bcf" for c in CHUNKS]


def chunk_gvcfs(wildcards):
    if not GVCF:
        return []
    return [f"results/calls/{wildcards.sample}/chunks/{c}.g.bcf" for c in CHUNKS]


def chunk_call_outputs(prefix):
    """call_chunk's outputs: the chunk's variant records and (calling.gvcf) its gVCF."""
    out = {"vcf": temp(f"{prefix}.bcf")}
    if GVCF:
        out["gvcf"] = temp(f"{prefix}.g.bcf")
    return out


def gathered_call_outputs():
    out = {"vcf": "results/vcf/{sample}.vcf.gz", "tbi": "results/vcf/{sample}.vcf.gz.tbi"}
    if GVCF:
        gvcf = "results/gvcf/{sample}.g.vcf.gz"
        out |= {"gvcf": gvcf, "gvcf_tbi": f"{gvcf}.tbi"}
    return out


# gather_calls: the gVCF chunks in genome order, as the callers wrote them, indexed.
GATHER_GVCF = (
    " && bcftools concat -Oz -o {output.gvcf} {input.gvcf_chunks} && tabix -p vcf {output.gvcf}"
    if GVCF
    else ""
)


def calling_env():
    """bcftools alone, or freebayes' env (freebayes with bcftools and htslib)."""
    return "../../envs/freebayes.yaml" if "freebayes" in CALLERS else "../../envs/bcftools.yaml"


def calling_filters():
    """Soft filters of the VCF: freebayes' own when freebayes is the only caller."""
    key = "freebayes_filters" if CALLERS == ("freebayes",) else "filters"
    return config["calling"][key]


# ---- validation runs (workflow/rules/validate.smk) ------------------------------------------
def validation_vcf(wildcards):
    """The VCF a validation_normalise job reads: the sample's calls or its truth set."""
    if wildcards.callset == "calls":
        return f"results/vcf/{wildcards.sample}.vcf.gz"
    return VALIDATION[wildcards.sample]["truth_vcf"]


def validation_inputs(wildcards):
    prefix = f"results/validation/{wildcards.sample}"
    return {
        "calls": f"{prefix}.calls.norm.bcf",
        "truth": f"{prefix}.truth.norm.bcf",
        "bed": VALIDATION[wildcards.sample]["confident_bed"],
    }


def validation_reports():
    return [f"results/validation/{sample}.json" for sample in VALIDATION]


# ---- identity and families (workflow/rules/family.smk) -------------------------------------
def family_gvcfs(wildcards):
    members = FAMILIES[wildcards.family]
    return {
        "gvcf": [f"results/gvcf/{s}.g.vcf.gz" for s in members],
        "tbi": [f"results/gvcf/{s}.g.vcf.gz.tbi" for s in members],
        **reference_files(),
    }


def family_summary_inputs(wildcards):
    family = wildcards.family
    files = {
        "vcf": f"results/family/{family}.vcf.gz",
        "pedigree": f"results/family/{family}.pedigree.json",
    }
    if family in TRIO_FAMILIES:
        files["mendelian"] = f"results/family/{family}.mendelian.txt"
        files["dnm"] = f"results/family/{family}.dnm.vcf.gz"
    return files


def pedigree_of(wildcards):
    """A family member's pedigree check (the QC gate's pedigree_check); none for others."""
    family = PEDIGREE.family_of(wildcards.sample)
    return [f"results/family/{family}.pedigree.json"] if family else []


def family_of_sample(wildcards):
    """A family member's family JSON (its report's family section); none for others."""
    family = PEDIGREE.family_of(wildcards.sample)
    return [f"results/family/{family}.json"] if family else []


def family_outputs():
    out = [f"results/family/{family}.json" for family in FAMILIES]
    return out + (["results/identity/relatedness.tsv"] if RELATEDNESS else [])


def sample_qc_files(sample):
    """A sample's QC tool outputs (fastp per trimmed unit, samtools, mosdepth, bcftools stats,
    where its reads came from)."""
    units = trimmed_units(sample)
    files = [f"results/qc/fastp/{sample}/{sample}_{u.unit_id}.fastp.json" for u in units]
    return files + [
        f"results/qc/input/{sample}.json",
        f"results/qc/samtools/{sample}.stats.txt",
        f"results/qc/samtools/{sample}.flagstat.txt",
        f"results/qc/samtools/{sample}.markdup.txt",
        f"results/qc/mosdepth/{sample}.mosdepth.global.dist.txt",
        f"results/qc/mosdepth/{sample}.mosdepth.summary.txt",
        f"results/qc/bcftools/{sample}.stats.txt",
    ]


def multiqc_inputs(wildcards=None):
    files = [path for sample in SAMPLES for path in sample_qc_files(sample)]
    files.append("results/qc/coverage_mqc.tsv")
    files.append("results/qc/qc_gate_mqc.yaml")  # the QC gate (qc.smk)
    files.append("results/qc/roh_mqc.tsv")  # runs of homozygosity (roh.smk)
    if RELATEDNESS:
        files.append("results/qc/relatedness_mqc.tsv")  # identity (family.smk)
    if FAMILIES:
        files.append("results/qc/family_mqc.tsv")
    files.append("results/qc/mito_mqc.tsv")  # mitochondrial variants (mito.smk)
    files.append("results/qc/sv_mqc.tsv")  # structural variants (sv.smk)
    files.append("results/qc/cnv_mqc.tsv")  # copy-number variants (cnv.smk)
    files.append("results/qc/input_mqc.tsv")  # where the reads came from (reanalysis.smk)
    if VALIDATION:
        files.append("results/qc/validation_mqc.tsv")
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
        if GVCF:
            out += [f"results/gvcf/{sample}.g.vcf.gz", f"results/gvcf/{sample}.g.vcf.gz.tbi"]
        out.append(f"results/roh/{sample}.roh.json")
        out += [f"results/mito/{sample}.vcf.gz", f"results/mito/{sample}.mito.json"]
        out += [f"results/sv/{sample}.vcf.gz", f"results/sv/{sample}.vcf.gz.tbi"]
        out.append(f"results/sv/{sample}.sv.json")
        out += [f"results/cnv/{sample}.vcf.gz", f"results/cnv/{sample}.cnv.json"]
        if sample in VALIDATION:
            out += [f"results/validation/{sample}.tsv", f"results/validation/{sample}.json"]
    out += family_outputs()  # relatedness, families (family.smk)
    out += ["results/qc/multiqc/multiqc_report.html", "results/versions.yaml"]
    out += report_outputs()  # QC gates and clinical reports (report.smk)
    if EXPORT:
        out += [f"results/export/{sample}.receipt.json" for sample in SAMPLES]
    return out


# ---- structural and copy-number variants (workflow/rules/sv.smk, cnv.smk) ------------------
def sv_caller_calls(wildcards):
    """The calls of each caller of sv.callers (the merge step's inputs, by caller name)."""
    return {c: SV_CALLER_OUTPUT[c].format(sample=wildcards.sample) for c in SV.callers}


def cnv_reference(wildcards):
    """The reference a sample's coverage is divided by (cnv.reference)."""
    if CNV.reference == "file":
        return CNV.reference_file
    if CNV.reference == "run":
        return f"results/cnv/reference/{wildcards.sample}.cnn"
    return "results/cnv/reference/flat.cnn"


def cnv_normals(wildcards):
    """reference run: the coverage of the run's samples unrelated to the sample (the panel of
    normals: not itself, not its family's members, whose inherited CNVs it shares)."""
    return [
        f"results/cnv/coverage/{s}.targetcoverage.cnn"
        for s in PEDIGREE.unrelated(wildcards.sample)
    ]


def cnv_call_inputs(wildcards):
    """What a sample's calls are made of: its segments and bins (none when not enabled), its
    panel's BED, the reference index (contig lengths for the VCF)."""
    files = {"fai": f"{REF_FA}.fai"}
    if CNV.enabled:
        files["cns"] = f"results/cnv/{wildcards.sample}.cns"
        files["coverage"] = f"results/cnv/coverage/{wildcards.sample}.targetcoverage.cnn"
        files["cnr"] = f"results/cnv/{wildcards.sample}.cnr"
    bed = panel_bed(wildcards)
    if bed:
        files["bed"] = bed
    return files


# ---- clinical reports (workflow/rules/report.smk) -------------------------------------------
def report_samples():
    """The samples whose indication has a gene panel: they get a clinical report."""
    return [sample for sample in SAMPLES if sample in REPORT_PANELS]


def report_outputs():
    """Every sample's QC gate, and the report renderings of the samples with a panel."""
    out = [f"results/qc/gate/{sample}.json" for sample in SAMPLES]
    for sample in report_samples():
        out += [f"results/report/{sample}.{ext}" for ext in ("json", "html", "pdf", "fhir.json")]
    return out


def panel_bed(wildcards):
    """The sample's gene panel BED (its report's variants and coverage, the genes its SVs and
    CNVs are annotated with); none for a sample without a panel."""
    panel = REPORT_PANELS.get(wildcards.sample)
    return str(panel.bed) if panel else []


# ---- export into the national genome database (workflow/rules/export.smk) -----------------
EXPORT = config["export"]["enabled"]


def export_inputs(wildcards):
    """What a sample's deposit holds (helgenom.export.provenance.standard_files), so the
    export waits for all of it: CRAM, VCF, gVCF, per-sample QC, the QC gate, the report
    renderings, the runs of homozygosity, the mitochondrial, structural and copy-number
    variants."""
    sample = wildcards.sample
    files = {
        "gate": f"results/qc/gate/{sample}.json",
        "versions": "results/versions.yaml",
        "cram": f"results/cram/{sample}.cram",
        "crai": f"results/cram/{sample}.cram.crai",
        "vcf": f"results/vcf/{sample}.vcf.gz",
        "tbi": f"results/vcf/{sample}.vcf.gz.tbi",
        "metrics": f"results/qc/gate/{sample}.metrics.json",
        "qc": sample_qc_files(sample),
        "roh": [f"results/roh/{sample}.roh.txt", f"results/roh/{sample}.roh.json"],
        "mito": [
            f"results/mito/{sample}.vcf.gz",
            f"results/mito/{sample}.vcf.gz.tbi",
            f"results/mito/{sample}.mito.json",
        ],
        "sv": [
            f"results/sv/{sample}.vcf.gz",
            f"results/sv/{sample}.vcf.gz.tbi",
            f"results/sv/{sample}.sv.json",
        ],
        "cnv": [
            f"results/cnv/{sample}.vcf.gz",
            f"results/cnv/{sample}.vcf.gz.tbi",
            f"results/cnv/{sample}.cnv.json",
        ],
    }
    if GVCF:
        files["gvcf"] = f"results/gvcf/{sample}.g.vcf.gz"
        files["gvcf_tbi"] = f"results/gvcf/{sample}.g.vcf.gz.tbi"
    if sample in REPORT_PANELS:
        files["report"] = [
            f"results/report/{sample}.{ext}" for ext in ("json", "html", "pdf", "fhir.json")
        ]
    return files


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
    "freebayes": "freebayes",
    "delly": "delly",
    "tiddit": "tiddit",
    "survivor": "survivor",
    "cnvkit": "cnvkit",
}


def versions_tools():
    """Tools whose version a tool_version job asks (MultiQC's comes from its report data)."""
    tools = ["samtools", "bcftools", "tabix", "fastp", "mosdepth", ALIGNER]
    if config["cnv"]["enabled"]:
        tools.append("cnvkit")
    tools += [c for c in CALLERS if c not in tools]
    tools += list(config["sv"]["callers"])  # delly, tiddit (sv.smk)
    if len(config["sv"]["callers"]) > 1:
        tools.append("survivor")  # merges them
    return sorted(tools)


# ---- resources (see src/helgenom/resources.py and sites.py) ---------------------------
# A site profile sets `site`; requests are then fitted to that site's partitions.
SITE = get_site(config["site"]) if config.get("site") else None
if SITE is not None and not os.environ.get("HELGENOM_SLURM_ACCOUNT"):
    raise WorkflowError(
        f"helgenom: the {SITE.title} profile submits with the Slurm account in the environment "
        "variable HELGENOM_SLURM_ACCOUNT, which is not set. Fix: export "
        "HELGENOM_SLURM_ACCOUNT=<your project/account> (see README.md, Running on the HPC sites)."
    )


# ---- the site lease (see src/helgenom/failover.py) -------------------------------------
# A site run holds the run directory's lease; after a failover the old site is fenced: its
# Snakemake refuses to start, and its cluster jobs (which load this file again, with the
# submitting process's lease in the environment) refuse to run.
# Loading the workflow to look at it (helgenom.runs.load_workflow) touches no lease.
if SITE is not None and not os.environ.get(LEASE_INSPECT_ENV):
    try:
        if not workflow.is_main_process:  # a job: the lease of the Snakemake that submitted it
            if os.environ.get(LEASE_ENV):
                check_job_lease(Path("."), os.environ[LEASE_ENV])
        else:
            os.environ[LEASE_ENV] = hold_lease(Path("."), SITE.name).token
    except FencedError as error:
        raise WorkflowError(f"helgenom: {error}")


# ---- clinical priority (see src/helgenom/scheduling.py) ------------------------------
# Deadlines count from each sample's `received` time, or from the run's first start
# (recorded once in the run directory: helgenom.rundir.run_start).
RUN_STARTED = run_start(Path("."))
CLOCKS = sample_clocks(SAMPLES, config, RUN_STARTED)
SAMPLE_INDEX = {sample: i + 1 for i, sample in enumerate(SAMPLES)}
SHARED_CLOCK = shared_clock(CLOCKS)
# A family member's jobs run at its family's most urgent member's class and deadline.
JOB_CLOCKS = family_clocks(CLOCKS, FAMILIES)


def clinical_tags(wildcards):
    """Priority tags of a job: its sample's (a family member's: its family's most urgent
    member's), its family's for a family's jobs, or the most urgent sample's for shared jobs."""
    sample = getattr(wildcards, "sample", None)
    family = getattr(wildcards, "family", None)
    if family in FAMILIES:  # a family's jobs: its most urgent member's
        sample = JOB_CLOCKS[FAMILIES[family][0]].sample_id
    clock = JOB_CLOCKS.get(sample, SHARED_CLOCK) if sample else SHARED_CLOCK
    return {
        TAG_SAMPLE: SAMPLE_INDEX.get(sample, 0),
        TAG_DEADLINE: clock.deadline_minutes if clock else 0,
        TAG_RANK: clock.policy.rank if clock else 0,
        "qos": clock.policy.qos if clock else "normal",
    }


def job_resources(kind, size_factor=1.0):
    """mem_mb, runtime, clinical-priority tags (and slurm_partition and the class's QoS on a
    site) of a rule, from its input size and its sample."""

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
    tags = [TAG_SAMPLE, TAG_DEADLINE, TAG_RANK] + (["qos"] if SITE is not None else [])
    for tag in tags:
        out[tag] = lambda wildcards, tag=tag: clinical_tags(wildcards)[tag]
    return out
