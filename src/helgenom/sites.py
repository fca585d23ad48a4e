"""What each national HPC site allows: partitions, cores and memory per node, walltime caps.

The site profiles (profiles/<site>/) select a site with `config: site=<name>`; the rules'
resource functions then pick a partition that fits each job and keep every request within
that partition's limits (see `fit`). The facts below are the publicly documented ones; each
carries its source. Where a site's documentation does not state a fact, the value is an
assumption, marked as such: check it with `sinfo -o "%P %c %m %l"` on the site.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Partition:
    name: str
    cores: int  # cores per node
    mem_mb: int  # memory per node that jobs may request (MB)
    max_runtime_min: int  # walltime cap (minutes)


@dataclass(frozen=True)
class Site:
    name: str
    title: str
    partitions: tuple[Partition, ...]  # smallest (cheapest) first; the first is the default
    sources: tuple[str, ...]
    notes: str = ""

    def partition(self, name: str) -> Partition:
        for p in self.partitions:
            if p.name == name:
                return p
        raise KeyError(f"site {self.name} has no partition {name!r}")


DAY = 24 * 60

SITES: dict[str, Site] = {
    s.name: s
    for s in (
        Site(
            name="genomedk",
            title="GenomeDK (Aarhus University)",
            partitions=(
                # 'short' exists for quick jobs; its cap is not in the public docs: assumed 12 h.
                Partition("short", 192, 750_000, 12 * 60),
                # 'normal' holds both the 768 GB and the 1.5 TB nodes: memory picks the node.
                Partition("normal", 192, 1_500_000, 7 * DAY),
            ),
            sources=(
                "https://genome.au.dk/docs/ (Slurm; partitions short and normal; account = "
                "project name; max walltime 7 days; nodes 192 cores with 768 GB or 1.5 TB; "
                "node-local $TMPDIR=/tmp/$SLURM_JOB_ID; projects in /faststorage/project/)",
                "the 12-hour cap of short is an assumption: the public docs do not state it",
            ),
            notes="Jobs land in /faststorage/project/<project>; node-local scratch is "
            "$TMPDIR (/tmp/$SLURM_JOB_ID), used for sort and markdup temporary files.",
        ),
        Site(
            name="computerome",
            title="Computerome 2.0 (DTU/KU)",
            partitions=(
                Partition("thinnode", 40, 188_000, 30 * DAY),
                Partition("fatnode", 40, 1_500_000, 30 * DAY),
            ),
            sources=(
                "https://www.computerome.dk/ (thin nodes 40 cores / 192 GB, fat nodes ~1.5 TB; "
                "public job scripts use Torque/Moab: qsub -l nodes=1:ppn=40:thinnode)",
                "partition names and the 30-day cap are assumptions for a Slurm set-up that "
                "mirrors the Moab node features",
            ),
            notes="If the site still runs Torque/Moab, use snakemake-executor-plugin-"
            "cluster-generic with qsub (see README, Computerome).",
        ),
        Site(
            name="abacus",
            title="Abacus 2.0 (SDU / DeiC National HPC Centre)",
            partitions=(
                Partition("slim", 24, 62_000, DAY),
                Partition("fat", 24, 500_000, DAY),
            ),
            sources=(
                "https://docs.deic.sdu.dk/ (Abacus 2.0: slim nodes 24 cores / 64 GB, fat nodes "
                "512 GB, max walltime 24 hours, billed by node-hours)",
            ),
            notes="Billed per node-hour: heavy rules use all 24 cores of a node; short rules "
            "are grouped so that no job is tiny.",
        ),
    )
}


def get_site(name: str) -> Site:
    try:
        return SITES[name]
    except KeyError:
        known = ", ".join(sorted(SITES))
        raise ValueError(f"unknown site {name!r}: use one of {known}") from None


@dataclass(frozen=True)
class Request:
    partition: str
    threads: int
    mem_mb: int
    runtime_min: int
    capped: bool  # True when the need exceeded the partition and was cut to its limit


def fit(site: Site, threads: int, mem_mb: int, runtime_min: int) -> Request:
    """The cheapest partition whose nodes hold the job, with the request kept in its limits.

    Threads are cut to the node's cores; if no partition has enough memory or walltime,
    the largest is used and the request is capped (`capped=True`) so that sbatch accepts it.
    """
    for p in site.partitions:
        if mem_mb <= p.mem_mb and runtime_min <= p.max_runtime_min:
            return Request(p.name, min(threads, p.cores), mem_mb, runtime_min, False)
    p = max(site.partitions, key=lambda q: (q.mem_mb, q.max_runtime_min))
    return Request(
        p.name,
        min(threads, p.cores),
        min(mem_mb, p.mem_mb),
        min(runtime_min, p.max_runtime_min),
        True,
    )
