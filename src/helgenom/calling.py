"""Small-variant calling helpers: chunk BED files and the soft-filter command line."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from helgenom.paths import package_path
from helgenom.reference import balanced_chunks, read_fai, write_bed

# CPU time of the call_chunk command per calling.mode, relative to bcftools alone (the "call"
# estimate of helgenom.resources). Source: scripts/benchmark_calling.py on the GIAB NA12878
# slice, 4 chunks (README.md, "Calling modes"; calling CPU s, median of 3): bcftools 1.8 s,
# bcftools -B (a bcftools setting, covered by 1.0) 1.6 s, freebayes 2.0 s with config.yaml's
# freebayes_extra (2.2 s with freebayes' defaults), bcftools+freebayes 3.2 s: ratios 1.11
# (1.22) and 1.78, rounded to 1.2 and 1.8. The whole command was timed, so a factor scales the
# estimate's fixed minutes too. On a ~1 Mb slice fixed per-process costs weigh more than on a
# genome: the factors may understate freebayes' share at WGS scale (benchmark a larger region).
CALLING_CPU_FACTOR: dict[str, float] = {
    "bcftools": 1.0,
    "freebayes": 1.2,
    "bcftools+freebayes": 1.8,
}


def write_chunk_beds(
    fai: str | Path, beds: Sequence[str | Path], exclude: Sequence[str] = ()
) -> None:
    """Write one BED per chunk; the genome is split into len(beds) length-balanced chunks.

    Contigs named in `exclude` are left out: the mitochondrial contig (config mito.contigs) is
    called apart from the nuclear genome, without a diploid assumption (helgenom.mito)."""
    contigs = [c for c in read_fai(fai) if c.name not in set(exclude)]
    chunks = balanced_chunks(contigs, len(beds))
    if len(chunks) < len(beds):
        raise ValueError(
            f"{fai}: the genome has fewer bases than calling.chunks ({len(beds)}); "
            "lower calling.chunks in config.yaml"
        )
    for intervals, bed in zip(chunks, beds, strict=True):
        write_bed(intervals, bed)


def filter_header_lines(filters: Sequence[Mapping[str, str]]) -> str:
    """##FILTER header lines carrying each filter's documented description."""
    lines = []
    for f in filters:
        description = f["description"].replace('"', "'")
        lines.append(f'##FILTER=<ID={f["name"]},Description="{description} ({f["expression"]})">')
    return "\n".join(lines)


def soft_filter_pipeline(filters: Sequence[Mapping[str, str]]) -> str:
    """Shell pipeline stages (each starting with '| ') applying the soft filters in order.

    The first stage adds the ##FILTER header lines with the documented descriptions (bash
    process substitution). Records are kept; failing ones get the filter's name in FILTER
    (several names are joined with ';', a record failing none stays PASS).
    """
    if not filters:
        return ""
    header = shlex.quote(filter_header_lines(filters))
    stages = [f"| bcftools annotate --header-lines <(printf '%s\\n' {header}) -Ou"]
    for f in filters:
        stages.append(
            "| bcftools filter --mode + --soft-filter "
            f"{shlex.quote(f['name'])} --exclude {shlex.quote(f['expression'])} -Ou"
        )
    return " ".join(stages)


# ---- calling modes -------------------------------------------------------------------------
#: calling.mode -> the callers it runs; the first one's gVCF is the sample's gVCF.
MODES: dict[str, tuple[str, ...]] = {
    "bcftools": ("bcftools",),
    "freebayes": ("freebayes",),
    "bcftools+freebayes": ("bcftools", "freebayes"),
}

#: In bcftools+freebayes mode a freebayes call is added only where no bcftools record lies
#: within this many bp (so one event is never reported twice in two representations).
RESCUE_PAD = 2

#: gVCF records of each caller: the INFO key of a block's minimum depth, a block's ALT.
GVCF_BLOCKS = {"bcftools": ("MinDP", "."), "freebayes": ("MIN_DP", "<*>")}

GAP_FILLER = package_path("scripts", "gvcf_fill_gaps.awk")

_BCFTOOLS = (
    "bcftools mpileup --fasta-ref {input.fa} --regions-file {input.bed}"
    " --annotate FORMAT/AD,FORMAT/DP,FORMAT/SP {params.mpileup} -Ou {input.cram}"
    ' | bcftools call {params.call} --gvcf {params.gvcf_bands} -Ob -o "$tmp/bcftools.bcf"'
)
_FREEBAYES = (
    "freebayes --fasta-reference {input.fa} --targets {input.bed} {params.freebayes}"
    ' {input.cram} | bcftools view -Ob -o "$tmp/freebayes.bcf"'
)
_VARIANTS = "bcftools view --include 'GT=\"alt\"'"


def mode_callers(mode: str) -> tuple[str, ...]:
    """The callers a calling.mode runs (ValueError for an unknown mode)."""
    if mode not in MODES:
        raise ValueError(f"unknown calling.mode {mode!r}; one of {', '.join(MODES)}")
    return MODES[mode]


def freebayes_arguments(mode: str, gvcf: bool, extra: str) -> str:
    """freebayes' arguments: --gvcf only when its gVCF is the sample's gVCF."""
    return f"--gvcf {extra}".strip() if gvcf and mode_callers(mode)[0] == "freebayes" else extra


def rescue_exclude(filters: Sequence[Mapping[str, str]]) -> str:
    """bcftools view's --exclude for records failing any of the (freebayes) soft filters."""
    expression = " || ".join(f"({f['expression']})" for f in filters)
    return f"--exclude {shlex.quote(expression)}" if expression else ""


def _rescue_commands() -> list[str]:
    """bcftools+freebayes: bcftools' variants plus freebayes calls away from all of them."""
    pad = (
        f'-v pad={RESCUE_PAD} \'BEGIN {{{{OFS = "\\t"}}}}'
        " {{s = $2 - pad; if (s < 0) s = 0; print $1, s, $3 + pad}}'"
    )
    return [
        f'{_VARIANTS} -Ob -o "$tmp/variants.bcf" "$tmp/bcftools.bcf"',
        "bcftools query -f '%CHROM\\t%POS0\\t%END\\n' \"$tmp/variants.bcf\""
        f' | awk {pad} > "$tmp/mask.bed"',
        # bcftools cannot read an empty targets file: no bcftools call, nothing to mask.
        'targets=(); if [ -s "$tmp/mask.bed" ]; then'
        ' targets=(--targets-file "^$tmp/mask.bed" --targets-overlap 1); fi',
        f'{_VARIANTS} -Ou "$tmp/freebayes.bcf"'
        ' | bcftools view {params.rescue_exclude} "${{targets[@]}}" -Ob -o "$tmp/rescued.bcf"',
        'bcftools concat -Ou "$tmp/variants.bcf" "$tmp/rescued.bcf"'
        ' | bcftools sort --temp-dir "$tmp" -Ob -o {output.vcf}',
    ]


def call_chunk_command(mode: str, gvcf: bool) -> str:
    """The shell command of the call_chunk rule (a Snakemake template: {input.*} etc.).

    Every caller of the mode writes into a temporary directory; the chunk's variant records
    go to {output.vcf} and, with `gvcf`, the first caller's gVCF with its coverage gaps filled
    (see workflow/scripts/gvcf_fill_gaps.awk) to {output.gvcf}.
    """
    callers = mode_callers(mode)
    steps = [
        "tmp=$(mktemp -d {resources.tmpdir}/helgenom-call.XXXXXX)",
        "trap 'rm -rf \"$tmp\"' EXIT",
    ]
    steps += [_BCFTOOLS if c == "bcftools" else _FREEBAYES for c in callers]
    primary = callers[0]
    if len(callers) == 1:
        steps.append(f'{_VARIANTS} -Ob -o {{output.vcf}} "$tmp/{primary}.bcf"')
    else:
        steps += _rescue_commands()
    if gvcf:
        min_dp, alt = GVCF_BLOCKS[primary]
        steps.append(
            f'bcftools view "$tmp/{primary}.bcf"'
            f" | awk -v mindp={min_dp} -v alt={shlex.quote(alt)} -f {{params.gap_filler}}"
            " {input.bed} -"
            " | bcftools norm --do-not-normalize --check-ref s --fasta-ref {input.fa}"
            " -Ob -o {output.gvcf}"
        )
    return "(" + "\n".join(steps) + "\n) 2> {log}"


def call_chunk_params(calling: Mapping[str, Any]) -> dict[str, str]:
    """The call_chunk rule's params, from the validated `calling` config section."""
    return {
        "mpileup": calling["mpileup_extra"],
        "call": calling["call_extra"],
        "gvcf_bands": ",".join(map(str, calling["gvcf_dp_bands"])),
        "freebayes": freebayes_arguments(
            calling["mode"], calling["gvcf"], calling["freebayes_extra"]
        ),
        # bcftools+freebayes: freebayes calls failing its soft filters are never added.
        "rescue_exclude": rescue_exclude(calling["freebayes_filters"]),
        "gap_filler": str(GAP_FILLER),
    }


def format_call_chunk(
    calling: Mapping[str, Any],
    *,
    fa: str | Path,
    bed: str | Path,
    cram: str | Path,
    vcf: str | Path,
    gvcf: str | Path,
    tmpdir: str | Path,
    log: str | Path,
) -> str:
    """call_chunk's command with every placeholder filled, to run it outside Snakemake.

    The benchmarks use it to time exactly what the workflow runs.
    """
    return call_chunk_command(calling["mode"], calling["gvcf"]).format(
        input=SimpleNamespace(fa=fa, bed=bed, cram=cram),
        params=SimpleNamespace(**call_chunk_params(calling)),
        output=SimpleNamespace(vcf=vcf, gvcf=gvcf),
        resources=SimpleNamespace(tmpdir=tmpdir),
        log=log,
    )
