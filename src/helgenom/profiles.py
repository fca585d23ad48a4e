"""The Slurm site profiles (profiles/genomedk, profiles/computerome, profiles/abacus), generated.

Snakemake profiles cannot include one another, so the keys the three site profiles share are
defined once here (`SHARED`, `THREADS`, `GROUPS`, the account and QoS in `default-resources`)
and each profile file is written from them, from the site's facts in helgenom.sites (title,
sources, partitions, notes) and from the site's own choices in `SITE_PROFILES` (account hint,
default partition, threads of the aligners). The files keep their comments: an operator reads
them. Regenerate them with

    .venv/bin/python scripts/make_profiles.py

and tests/unit/test_profiles_generated.py fails while a committed profile differs from what
`render_profile` makes.

profiles/local and profiles/clinical-priority stay hand-written: the local profile shares only
a few keys with the site profiles, with other values (local executor, short latency-wait, stop
at the first failure), and the clinical-priority profile, used on top of a site profile, must
set no key a site profile sets (Snakemake replaces such a key, it does not merge it).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from helgenom.sites import DAY, Site, get_site

REGENERATE = ".venv/bin/python scripts/make_profiles.py"
PROFILE_FILE = "config.v8+.yaml"
WIDTH = 92  # comment lines are wrapped to this many characters

Scalar = str | int | float | bool


@dataclass(frozen=True)
class Entry:
    """One key of a profile, with the comment above it (paragraphs split by newlines)."""

    key: str
    value: Scalar | tuple[Entry, ...]
    comment: str = ""


@dataclass(frozen=True)
class SiteProfile:
    """What a site's profile sets on its own (its facts are in helgenom.sites)."""

    site: str
    account: str  # what the Slurm account is at this site (comment)
    default_partition: str  # for jobs of rules without a fitted partition
    aligner_threads: int  # set-threads of the aligners (the rules THREADS leaves None)
    threads_note: str  # why those thread counts (comment)
    tmpdir: str = (
        "Temporary files (samtools sort/markdup -T) go to $TMPDIR (Snakemake's default tmpdir)."
    )
    notes: tuple[str, ...] = field(default=())  # more about the site (comment)
    threads: Mapping[str, int] = field(default_factory=dict)  # THREADS this site sets otherwise


# ---- what every site profile sets the same way -------------------------------------------

# From `jobs` to `slurm-logdir`, in this order, after `executor` and `config`.
SHARED: tuple[Entry, ...] = (
    Entry("jobs", 100, "At most 100 jobs queued or running at once."),
    Entry(
        "retries",
        2,
        "Jobs retry twice; memory grows by half and walltime doubles with every attempt\n"
        "(src/helgenom/resources.py), within the partition's limits.",
    ),
    Entry(
        "latency-wait",
        60,
        "Seconds to wait for a finished job's outputs to appear on the shared file system.",
    ),
    Entry(
        "rerun-incomplete",
        True,
        "Running the same command again resumes a run: finished outputs are kept, those of "
        "interrupted jobs are redone.",
    ),
    Entry("keep-going", True, "After a failed job, go on with the jobs that do not need it."),
    Entry("printshellcmds", True, "Print each job's shell command."),
    Entry("show-failed-logs", True, "Print a failed job's log."),
    Entry(
        "max-status-checks-per-second",
        0.03,
        "Status polling: one sacct call for all the run's jobs, not one per job, and at most "
        "0.03 calls a second (3 in 100 seconds). The Slurm plugin waits 40 seconds after a "
        "submission, then 40 seconds between calls, 10 more each time no job has finished (up "
        "to 180).",
    ),
    Entry("slurm-init-seconds-before-status-checks", 40),
    Entry("slurm-logdir", "logs/slurm", "Slurm logs: logs/slurm/<rule>/.../<jobid>.log."),
)

# default-resources: the account comes from the environment, never written into a profile.
ACCOUNT = Entry("slurm_account", '"$HELGENOM_SLURM_ACCOUNT"')
QOS = Entry(
    "qos",
    '"normal"',
    "QoS of jobs without a sample class (helgenom's rules submit with their sample's: "
    "config.yaml `priorities`).",
)

# set-threads: threads per rule at every site (SiteProfile.threads may set one otherwise);
# None: the aligners, the site's SiteProfile.aligner_threads.
THREADS: dict[str, int | None] = {
    "fastp": 8,
    "aligned_fastq": 8,
    "aligned_reuse": 8,
    "align_bwa": None,
    "align_minimap2": None,
    "markdup_cram": 8,
    "reference_bwa_index": 1,
    "reference_minimap2_index": 8,
    "samtools_stats": 4,
    "samtools_flagstat": 4,
    "mosdepth": 4,
}

# groups: no tiny jobs (rule -> group).
GROUPS: tuple[Entry, ...] = (
    *(
        Entry(rule, "reference")
        for rule in (
            "reference_fasta",
            "reference_faidx",
            "reference_dict",
            "reference_bwa_index",
            "reference_minimap2_index",
        )
    ),
    *(
        Entry(rule, "align")
        for rule in ("aligned_fastq", "aligned_record", "fastp", "align_bwa", "align_minimap2")
    ),
    Entry("aligned_reuse", "cram"),
    *(
        Entry(rule, "cram")
        for rule in ("markdup_cram", "samtools_stats", "samtools_flagstat", "mosdepth")
    ),
    Entry("gather_calls", "vcf"),
    Entry("bcftools_stats", "vcf"),
    Entry(
        "qc_metrics",
        "vcf",
        "the QC gate's metrics and the panel's variants ride with the VCF steps, the coverage\n"
        "regions (a pass over the reference) with the reference preparation",
    ),
    Entry("panel_variants", "vcf"),
    Entry("roh", "vcf"),
    Entry("mito_pileup", "cram"),
    Entry("coverage_regions", "reference"),
    Entry(
        "cnv_access",
        "reference",
        "the CNV bins' accessible regions: a pass over the reference; the CNV coverage (mosdepth\n"
        "over the bins) with the CRAM QC; the CNV reference and segments are jobs of their own",
    ),
    Entry("cnv_coverage", "cram"),
)


# ---- what each site sets on its own --------------------------------------------------------


def whole_node(site: str) -> int:
    """The cores of one node of the site's first (smallest) partition."""
    return get_site(site).partitions[0].cores


SITE_PROFILES: dict[str, SiteProfile] = {
    p.site: p
    for p in (
        SiteProfile(
            site="genomedk",
            account="The project name is the account: export HELGENOM_SLURM_ACCOUNT=<project> "
            "(never hard-coded).",
            default_partition="normal",
            aligner_threads=32,
            threads_note=f"the aligners take 32 of a node's {whole_node('genomedk')} cores.",
            tmpdir="Temporary files (samtools sort/markdup -T) go to the job's node-local "
            "$TMPDIR\n(/tmp/$SLURM_JOB_ID on GenomeDK): Snakemake's default tmpdir resource "
            "reads $TMPDIR.",
        ),
        SiteProfile(
            site="computerome",
            account="The Computerome project/group account: "
            "export HELGENOM_SLURM_ACCOUNT=<account>.",
            default_partition="thinnode",
            aligner_threads=whole_node("computerome"),
            threads_note=f"the aligners take a whole thin node ({whole_node('computerome')} "
            "cores).",
        ),
        SiteProfile(
            site="abacus",
            account="The DeiC project account (sacctmgr/abc-quota show it): "
            "export HELGENOM_SLURM_ACCOUNT=<account>.",
            default_partition="slim",
            aligner_threads=whole_node("abacus"),
            threads={"markdup_cram": 12},
            threads_note=f"billed per node-hour, the aligners take a whole slim node "
            f"({whole_node('abacus')} cores) and markdup_cram half of one.",
            notes=(
                "The 24-hour cap: calling is scattered (calling.chunks), alignment runs per "
                "unit (lane).",
            ),
        ),
    )
}


# ---- the profile ----------------------------------------------------------------------------


def _short_title(site: Site) -> str:
    return site.title.split(" (")[0]


def _walltime(minutes: int) -> str:
    if minutes % DAY == 0 and minutes > DAY:
        return f"{minutes // DAY} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _threads(profile: SiteProfile) -> dict[str, int]:
    unknown = set(profile.threads) - set(THREADS)
    if unknown:
        raise ValueError(f"{profile.site}: threads for rules not in THREADS: {sorted(unknown)}")
    threads = {
        rule: profile.threads.get(rule, profile.aligner_threads if shared is None else shared)
        for rule, shared in THREADS.items()
    }
    cores = max(p.cores for p in get_site(profile.site).partitions)
    too_many = {rule: n for rule, n in threads.items() if n > cores}
    if too_many:
        raise ValueError(f"{profile.site}: more threads than a node's {cores} cores: {too_many}")
    return threads


def _header(profile: SiteProfile) -> str:
    site = get_site(profile.site)
    partitions = "\n".join(
        f"  {p.name}: {p.cores} cores, {p.mem_mb} MB, {_walltime(p.max_runtime_min)}"
        for p in site.partitions
    )
    return "\n".join(
        (
            f"Generated: do not edit. Regenerate: {REGENERATE}",
            "Source: src/helgenom/profiles.py (the keys all three site profiles share, and this "
            "site's own choices) and src/helgenom/sites.py (the site's facts).",
            "",
            f"{site.title}: snakemake --profile profiles/{site.name}",
            "Site facts (src/helgenom/sites.py), from:",
            *(f"  - {source}" for source in site.sources),
            "Partitions, smallest first (cores, memory a job may ask for, walltime cap):",
            partitions,
            *((site.notes,) if site.notes else ()),
            *profile.notes,
        )
    )


def profile_entries(site_name: str) -> tuple[Entry, ...]:
    """The keys of a site's profile, with their comments, in file order."""
    profile = SITE_PROFILES[site_name]
    site = get_site(site_name)
    site.partition(profile.default_partition)  # KeyError unless the site has it
    return (
        Entry("executor", "slurm", "Every job but the localrules is a Slurm job."),
        Entry(
            "config",
            (Entry("site", site.name),),
            f"Fit every request to {_short_title(site)}'s partitions (partition, memory and "
            "walltime caps).",
        ),
        *SHARED,
        Entry(
            "default-resources",
            (
                Entry(ACCOUNT.key, ACCOUNT.value, profile.account),
                QOS,
                Entry(
                    "slurm_partition",
                    f'"{profile.default_partition}"',
                    "Jobs of rules without a fitted partition (helgenom's rules all have one).",
                ),
            ),
        ),
        Entry(
            "set-threads",
            tuple(Entry(rule, n) for rule, n in _threads(profile).items()),
            f"{profile.tmpdir}\nThreads per rule (the others use their rule's default): "
            f"{profile.threads_note}",
        ),
        Entry(
            "groups",
            GROUPS,
            "No tiny jobs: short steps ride along with the job before them (one job per unit "
            "for trimming + alignment, per sample for markdup + CRAM QC, per sample for the VCF "
            "steps).",
        ),
    )


def _data(entries: tuple[Entry, ...]) -> dict[str, object]:
    return {e.key: _data(e.value) if isinstance(e.value, tuple) else e.value for e in entries}


def profile_data(site_name: str) -> dict[str, object]:
    """The profile as Snakemake reads it (its YAML, parsed)."""
    return _data(profile_entries(site_name))


def _comment(text: str, indent: str) -> list[str]:
    lines = []
    for paragraph in text.split("\n"):
        if not paragraph:
            lines.append(indent + "#")
            continue
        prefix = indent + "#" + " " * (len(paragraph) - len(paragraph.lstrip()) + 1)
        bullet = "  " if paragraph.lstrip().startswith("- ") else ""
        lines += textwrap.wrap(
            paragraph.strip(),
            WIDTH,
            initial_indent=prefix,
            subsequent_indent=prefix + bullet,
            break_on_hyphens=False,
            break_long_words=False,
        )
    return lines


def _lines(entries: tuple[Entry, ...], indent: str = "") -> list[str]:
    lines = []
    for e in entries:
        if e.comment:
            lines += _comment(e.comment, indent)
        if isinstance(e.value, tuple):
            lines += [f"{indent}{e.key}:", *_lines(e.value, indent + "  ")]
        else:
            dumped = yaml.safe_dump({e.key: e.value}, default_flow_style=False, width=1000)
            lines.append(indent + dumped.rstrip("\n"))
    return lines


def render_profile(site_name: str) -> str:
    """The text of profiles/<site>/config.v8+.yaml."""
    entries = profile_entries(site_name)
    header = _comment(_header(SITE_PROFILES[site_name]), "")
    text = "\n".join([*header, "", *_lines(entries)]) + "\n"
    parsed = yaml.safe_load(text)
    if parsed != _data(entries):  # the comments or the quoting broke a value
        raise RuntimeError(f"{site_name}: the rendered profile does not parse back")
    return text


def profile_path(root: Path, site_name: str) -> Path:
    return root / "profiles" / site_name / PROFILE_FILE


def first_difference(committed: str, generated: str) -> str | None:
    """Where two texts first differ ('line N: committed ..., generated ...'), or None."""
    if committed == generated:
        return None
    old, new = committed.splitlines(), generated.splitlines()
    for number, (a, b) in enumerate(zip(old, new, strict=False), 1):
        if a != b:
            return f"line {number}: committed {a!r}, generated {b!r}"
    number = min(len(old), len(new)) + 1
    if len(old) == len(new):  # only the line ends differ
        return "the line ends differ"
    rest = "committed" if len(old) > len(new) else "generated"
    extra = (old if len(old) > len(new) else new)[number - 1]
    return f"line {number}: only the {rest} text goes on, with {extra!r}"


def stale_profiles(root: Path) -> list[str]:
    """One message per generated profile under `root` that differs from what is generated."""
    stale = []
    for site_name in SITE_PROFILES:
        path = profile_path(root, site_name)
        if not path.is_file():
            stale.append(f"{path.relative_to(root)}: missing")
        elif difference := first_difference(path.read_text(), render_profile(site_name)):
            stale.append(f"{path.relative_to(root)}: {difference}")
    return stale
