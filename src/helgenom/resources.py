"""Resource requests (memory, runtime, partition) of each rule as functions of its input size.

Declared once here and used by every rule through `common.smk`; a site profile selects the
site (`config: site=...`), whose partitions and limits (helgenom.sites) decide the partition
and cap the request. Figures are for 2 x 150 bp Illumina WGS: a 30x genome is ~310 million
read pairs, ~65 GB of gzipped FASTQ, ~60 GB of unit BAMs, ~18 GB of CRAM (WGS_INPUT_MB).

CPU minutes per GB of input of the measured rules (fastp, alignment, markdup, calling,
gathering, the QC tools) come from the cost model fitted on measured runs
(helgenom.capacity.fitted_model: the same figures `helgenom capacity` plans with): a rule's
projected CPU for a 30x genome over its 30x input size, times ESTIMATE_MARGIN. Memory and
the fixed minutes are hand-set from the tools' published needs on GRCh38 (the measured runs
used small references, whose memory says nothing about a genome's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from helgenom.calling import CALLING_CPU_FACTOR
from helgenom.capacity import fitted_model
from helgenom.capacity.model import GIGA, WGS_BASES, CostModel, calling_chunks
from helgenom.sites import Request, Site, fit

GB = 1024  # MB
# Input size (MB) of each rule's jobs for one 30x WGS sample (~310 million 2 x 150 bp read
# pairs), all units together; call_chunk's is divided by the chunk count (size_factor).
WGS_INPUT_MB: dict[str, float] = {
    "reference_fasta": 0.9 * GB,
    "reference_faidx": 3.1 * GB,
    "reference_dict": 3.1 * GB,
    "reference_bwa_index": 3.1 * GB,
    "reference_minimap2_index": 3.1 * GB,
    "fastp": 65 * GB,
    "align_bwa": 80 * GB + 5.5 * GB,  # trimmed FASTQ (fast compression) + bwa index
    "align_minimap2": 80 * GB + 7 * GB,
    "markdup_cram": 62 * GB + 3.1 * GB,  # unit BAMs + reference
    "call_chunk": 18 * GB + 3.1 * GB,  # CRAM + reference
    "gather_calls": 0.6 * GB + 3.1 * GB,
    "samtools_stats": 18 * GB + 3.1 * GB,
    "samtools_flagstat": 18 * GB + 3.1 * GB,
    "mosdepth": 18 * GB + 3.1 * GB,
    "bcftools_stats": 0.2 * GB + 3.1 * GB,
    "multiqc": 0.1 * GB,
    "coverage_regions": 3.1 * GB,  # the reference (a pass over its bases)
    "qc_metrics": 0.2 * GB,  # the VCF (and the QC text files)
    "panel_variants": 0.2 * GB + 3.1 * GB,  # VCF + reference (bcftools csq)
    "roh": 0.2 * GB,  # the VCF (bcftools roh)
    # the chrM slices of the CRAM: ~0.1-0.5% of the reads (chrM depth ~30-150x the nuclear)
    "mito_pileup": 0.1 * GB,
    "sv_delly": 18 * GB + 3.1 * GB,  # CRAM + reference (delly call)
    "sv_tiddit": 18 * GB + 3.1 * GB,  # CRAM + reference (tiddit --sv)
    # identity and families (family.smk); a 30x gVCF ~0.5 GB (bcftools' reference blocks):
    # the run's gVCFs merged (36 samples, the largest run) + reference; a trio's; the trio's
    # joint genotypes (sites with an alternate allele in a member)
    "identity_vcf": 36 * 0.5 * GB + 3.1 * GB,
    "family_vcf": 3 * 0.5 * GB + 3.1 * GB,
    "mendelian": 0.3 * GB,
    "de_novo": 0.3 * GB,
    # copy-number variants (cnv.smk): the reference's accessible regions, then per sample the
    # CRAM over the bins (mosdepth, as the QC's), the reference (GC of each bin), fix + CBS on
    # ~600,000 5 kb bins
    "cnv_access": 3.1 * GB,
    "cnv_coverage": 18 * GB + 3.1 * GB,
    "cnv_reference_flat": 3.1 * GB,
    "cnv_reference_run": 3.1 * GB + 0.2 * GB,  # + the other samples' coverage
    "cnv_segment": 0.1 * GB,
    # re-analysis of a unit from an aligned file (reanalysis.smk): a 30x CRAM + its reference
    "aligned_fastq": 18 * GB + 3.1 * GB,
    "aligned_reuse": 18 * GB + 3.1 * GB,
    "aligned_record": 18 * GB,  # the aligned file (its SHA-256)
}
# The measured runs used a ~1 Mb reference: alignment and calling on a 3.1 Gb genome touch
# more memory per read (index, caches), and a request that is too short gets the job killed.
# Requests are the fitted CPU time times this margin.
ESTIMATE_MARGIN = 2.0
# The estimates whose CPU per GB comes from the cost model, and the rules measured for them
# (the largest rate of the rules counts: the estimate must hold for each of them). gather and
# qc stay hand-set: their jobs take under a second on the calibration data, below what
# Snakemake's benchmark files resolve (their CPU reads 0), so the model cannot extrapolate them.
MEASURED_RULES: dict[str, tuple[str, ...]] = {
    "fastp": ("fastp",),
    "align": ("align_bwa", "align_minimap2"),
    "markdup": ("markdup_cram",),
    "call": ("call_chunk",),
}


@dataclass(frozen=True)
class Estimate:
    mem_base_mb: int  # memory needed whatever the input size
    mem_per_gb_mb: float  # extra memory per GB of input
    mem_per_thread_mb: int  # extra memory per thread (e.g. samtools sort -m)
    runtime_base_min: int  # minutes whatever the input size
    runtime_per_gb_cpu_min: float  # CPU minutes per GB of input, divided over the threads


def measured_cpu_min_per_gb(model: CostModel, kind: str) -> float:
    """CPU minutes per GB of input of estimate `kind`, from the cost model: the projected
    30x CPU of its rules (the part that grows with the data) over their 30x input, times
    ESTIMATE_MARGIN. For "call", bcftools alone (the model's calling mode's factor removed)."""
    rates = [
        model.per_gbase_s(rule) * WGS_BASES / GIGA / 60 / (WGS_INPUT_MB[rule] / GB)
        for rule in MEASURED_RULES[kind]
        if rule in model.rules
    ]
    if not rates:
        raise ValueError(f"the cost model has no measurement of {kind}'s rules")
    rate = max(rates) * ESTIMATE_MARGIN
    if kind == "call":
        rate /= CALLING_CPU_FACTOR.get(model.calling_mode, 1.0)
    return round(rate, 3)


def calling_chunks_auto() -> int:
    """`calling.chunks: auto`: the cost model's chunk count for a 30x genome (each chunk's
    calling within helgenom.capacity.model.CHUNK_TARGET_HOURS of CPU)."""
    return calling_chunks(fitted_model())


# samtools sort -m (memory per sort thread) in the alignment job; its estimate below
# reserves 1024 MB per thread, so sort buffers and bwa's per-thread memory both fit.
SORT_MEM_PER_THREAD_MB = 768

_MODEL = fitted_model()

ESTIMATES: dict[str, Estimate] = {
    # bwa index of GRCh38 (~3.1 GB): ~5 GB memory, ~1-1.5 h.
    "reference": Estimate(6000, 1000, 0, 20, 30),
    # fastp; CPU per GB measured (the cost model), as for the next three.
    "fastp": Estimate(2000, 0, 300, 5, measured_cpu_min_per_gb(_MODEL, "fastp")),
    # bwa mem (+ fixmate, sort): ~7 GB (index) + sort buffers per thread.
    "align": Estimate(7000, 0, 1024, 15, measured_cpu_min_per_gb(_MODEL, "align")),
    # merge + markdup + CRAM encoding.
    "markdup": Estimate(4000, 0, 300, 15, measured_cpu_min_per_gb(_MODEL, "markdup")),
    # bcftools mpileup | call per chunk (call_chunk divides its input size by the number of
    # chunks). The other calling modes' estimates ("call:<mode>", see call_kind) are this one
    # scaled by CALLING_CPU_FACTOR.
    "call": Estimate(1500, 0, 0, 10, measured_cpu_min_per_gb(_MODEL, "call")),
    # gathering the chunks' calls: ~20 CPU min per GB of chunk calls and gVCFs.
    "gather": Estimate(2000, 0, 0, 10, 20),
    # samtools stats/flagstat, mosdepth on the CRAM: ~5 CPU min per GB.
    "qc": Estimate(3000, 0, 0, 10, 5),
    "multiqc": Estimate(4000, 0, 0, 10, 0),
    "small": Estimate(1000, 0, 0, 5, 0),
    # One Python/bcftools pass over a VCF or the reference (QC metrics, coverage regions, panel
    # variants): ~5 CPU min per GB; the largest reference contig held in memory (~0.5 GB).
    "scan": Estimate(2000, 0, 0, 10, 5),
    # delly call (germline, one sample, single-threaded) reading the CRAM once: hand-set, not
    # yet measured on a 30x genome (~20 CPU min per GB of CRAM + reference: ~7.5 h at 30x).
    "sv": Estimate(6000, 0, 0, 30, 20),
    # tiddit --sv --skip_assembly (one thread) reading the CRAM once for its read signals and
    # coverage: hand-set, not yet measured on a 30x genome (~10 CPU min per GB of CRAM +
    # reference: ~4 h at 30x, under delly's ~7.5 h alongside); ~3 GB.
    "sv_tiddit": Estimate(3000, 0, 0, 30, 10),
    # bcftools merge --gvcf of gVCFs (identity_vcf, family_vcf), hand-set: ~15 CPU min per GB
    # of gVCF (every reference block is split at every other sample's records).
    "merge": Estimate(2000, 0, 0, 15, 15),
    # Re-analysis from a CRAM/BAM (reanalysis.smk), hand-set from published throughput (the
    # cost model's calibration runs start from FASTQ): decoding a 30x CRAM, collating it by
    # name and writing FASTQ (bgzf level 1) ~10 CPU min per GB of CRAM; collate's buckets and
    # htslib's reference cache ~2 GB.
    "extract": Estimate(2500, 0, 300, 15, 10),
    # the same collate, fixmate -m and a coordinate sort (buffers per thread, as align's
    # samtools sort -m) ~20 CPU min per GB of CRAM.
    "reuse": Estimate(3000, 0, 1024, 15, 20),
}


def call_kind(mode: str) -> str:
    """The estimate (a key of ESTIMATES) of the call_chunk job of a calling.mode."""
    if mode not in CALLING_CPU_FACTOR:
        known = ", ".join(CALLING_CPU_FACTOR)
        raise ValueError(f"no call estimate for calling.mode {mode!r}; one of {known}")
    return "call" if CALLING_CPU_FACTOR[mode] == 1.0 else f"call:{mode}"


def _runtime_scaled(e: Estimate, factor: float) -> Estimate:
    return replace(
        e,
        runtime_base_min=math.ceil(e.runtime_base_min * factor),
        runtime_per_gb_cpu_min=e.runtime_per_gb_cpu_min * factor,
    )


ESTIMATES.update(
    {call_kind(m): _runtime_scaled(ESTIMATES["call"], f) for m, f in CALLING_CPU_FACTOR.items()}
)


def mem_mb(kind: str, input_mb: float, threads: int = 1, attempt: int = 1) -> int:
    """Memory need in MB; grows by half with every retry."""
    e = ESTIMATES[kind]
    need = e.mem_base_mb + e.mem_per_gb_mb * input_mb / 1024 + e.mem_per_thread_mb * threads
    return int(math.ceil(need * (1 + 0.5 * (attempt - 1)) / 100) * 100)


def runtime_min(kind: str, input_mb: float, threads: int = 1, attempt: int = 1) -> int:
    """Walltime need in minutes; doubles with every retry."""
    e = ESTIMATES[kind]
    need = e.runtime_base_min + e.runtime_per_gb_cpu_min * input_mb / 1024 / max(threads, 1)
    return int(math.ceil(need * 2 ** (attempt - 1)))


def request(kind: str, input_mb: float, threads: int, attempt: int, site: Site | None) -> Request:
    """What a job asks for: its needs, fitted to a partition of `site` when one is set."""
    mem = mem_mb(kind, input_mb, threads, attempt)
    runtime = runtime_min(kind, input_mb, threads, attempt)
    if site is None:
        return Request("", threads, mem, runtime, False)
    return fit(site, threads, mem, runtime)
