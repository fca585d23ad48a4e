"""Resource requests (memory, runtime) of each rule as functions of its input size.

Declared once here, used by the rules through `common.smk`; site profiles override threads
and cap requests (see profiles/). Figures are for 2 x 150 bp Illumina WGS: a 30x genome is
about 310 million read pairs, ~60-70 GB of gzipped FASTQ, ~15-20 GB of CRAM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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

# Tuned from the benchmark files of local runs; conservative for WGS scale.
ESTIMATES: dict[str, Estimate] = {
    "reference": Estimate(8000, 2000, 0, 30, 60),
    "fastp": Estimate(1000, 0, 300, 5, 4),
    "align": Estimate(7000, 0, 1024, 10, 90),
    "markdup": Estimate(3000, 0, 200, 10, 6),
    "call": Estimate(1000, 0, 0, 10, 30),
    "gather": Estimate(1000, 0, 0, 5, 2),
    "qc": Estimate(2000, 0, 0, 10, 5),
    "multiqc": Estimate(4000, 0, 0, 10, 0),
    "small": Estimate(500, 0, 0, 5, 0),
}


def mem_mb(kind: str, input_mb: float, threads: int = 1, attempt: int = 1) -> int:
    """Memory request in MB; grows by half with every retry."""
    e = ESTIMATES[kind]
    need = e.mem_base_mb + e.mem_per_gb_mb * input_mb / 1024 + e.mem_per_thread_mb * threads
    return int(math.ceil(need * (1 + 0.5 * (attempt - 1)) / 100) * 100)


def runtime_min(kind: str, input_mb: float, threads: int = 1, attempt: int = 1) -> int:
    """Walltime request in minutes; doubles with every retry."""
    e = ESTIMATES[kind]
    need = e.runtime_base_min + e.runtime_per_gb_cpu_min * input_mb / 1024 / max(threads, 1)
    return int(math.ceil(need * 2 ** (attempt - 1)))
