"""Resource requests (memory, runtime, partition) of each rule as functions of its input size.

Declared once here and used by every rule through `common.smk`; a site profile selects the
site (`config: site=...`), whose partitions and limits (helgenom.sites) decide the partition
and cap the request. Figures are for 2 x 150 bp Illumina WGS: a 30x genome is ~310 million
read pairs, ~65 GB of gzipped FASTQ, ~60 GB of unit BAMs, ~18 GB of CRAM. CPU minutes per GB
are from published bwa/samtools/bcftools throughput on 30x genomes, rounded up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from helgenom.sites import Request, Site, fit


@dataclass(frozen=True)
class Estimate:
    mem_base_mb: int  # memory needed whatever the input size
    mem_per_gb_mb: float  # extra memory per GB of input
    mem_per_thread_mb: int  # extra memory per thread (e.g. samtools sort -m)
    runtime_base_min: int  # minutes whatever the input size
    runtime_per_gb_cpu_min: float  # CPU minutes per GB of input, divided over the threads


# samtools sort -m (memory per sort thread) in the alignment job; its estimate below
# reserves 1024 MB per thread, so sort buffers and bwa's per-thread memory both fit.
SORT_MEM_PER_THREAD_MB = 768

ESTIMATES: dict[str, Estimate] = {
    # bwa index of GRCh38 (~3.1 GB): ~5 GB memory, ~1-1.5 h.
    "reference": Estimate(6000, 1000, 0, 20, 30),
    # fastp: ~4 CPU min per GB of gzipped FASTQ.
    "fastp": Estimate(2000, 0, 300, 5, 4),
    # bwa mem (+ fixmate, sort): ~160 CPU hours for 30x (~120 CPU min per GB of trimmed FASTQ).
    "align": Estimate(7000, 0, 1024, 15, 120),
    # merge + markdup + CRAM encoding: ~12 CPU min per GB of unit BAMs.
    "markdup": Estimate(4000, 0, 300, 15, 12),
    # bcftools mpileup | call: ~45 CPU hours over a 30x genome (~150 CPU min per GB of CRAM);
    # call_chunk divides its input size by the number of chunks. The other calling modes'
    # estimates ("call:<mode>", see call_kind) are this one scaled by CALLING_CPU_FACTOR.
    "call": Estimate(1500, 0, 0, 10, 150),
    "gather": Estimate(2000, 0, 0, 10, 20),
    # samtools stats/flagstat, mosdepth on the CRAM: ~5 CPU min per GB.
    "qc": Estimate(3000, 0, 0, 10, 5),
    "multiqc": Estimate(4000, 0, 0, 10, 0),
    "small": Estimate(1000, 0, 0, 5, 0),
    # One Python/bcftools pass over a VCF or the reference (QC metrics, coverage regions, panel
    # variants): ~5 CPU min per GB; the largest reference contig held in memory (~0.5 GB).
    "scan": Estimate(2000, 0, 0, 10, 5),
}


# CPU time of the call_chunk command per calling.mode, relative to bcftools alone (the "call"
# estimate above). Source: scripts/benchmark_calling.py on the GIAB NA12878 slice, 4 chunks
# (README.md, "Calling modes"; calling CPU s, median of 3): bcftools 1.8 s, bcftools -B (a
# bcftools setting, covered by 1.0) 1.6 s, freebayes 2.0 s with config.yaml's freebayes_extra
# (2.2 s with freebayes' defaults), bcftools+freebayes 3.2 s: ratios 1.11 (1.22) and 1.78,
# rounded to 1.2 and 1.8. The whole command was timed, so a factor scales the estimate's
# fixed minutes too. On a ~1 Mb slice fixed per-process costs weigh more than on a genome:
# the factors may understate freebayes' share at WGS scale (benchmark a larger region).
CALLING_CPU_FACTOR: dict[str, float] = {
    "bcftools": 1.0,
    "freebayes": 1.2,
    "bcftools+freebayes": 1.8,
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
