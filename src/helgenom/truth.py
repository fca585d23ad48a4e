"""Comparing variant calls with a truth set, haplotype-aware (a simplified vcfeval/hap.py).

Two VCFs can describe the same sequence in different ways: an MNP as one record or as
consecutive SNPs, an indel in a repeat shifted left or right, an indel written as a complex
REF/ALT pair, two alleles of a 1/2 site in one record or in two. The comparison therefore
matches haplotypes, not records:

1. **Normalise** both VCFs alike (`NORM_PIPELINE`): `bcftools norm -f ref -m -both -a
   --atom-overlaps .` splits multi-allelic records and atomises MNPs and complex records into
   SNPs and indels, and a second `bcftools norm -f ref -m -both` left-aligns and splits what
   atomising produced. Alleles are upper-cased (soft-masked references give lower-case REFs).
   Only PASS records of the query count; every truth record counts. Records whose genotype
   holds no ALT allele, and star or symbolic alleles, are skipped. Each record becomes one
   `Variant` with `alt_count` 1 (heterozygous) or 2 (homozygous; haploid calls count as 2).
2. **Cluster**: per contig, truth and query variants are sorted together by the reference
   span of their minimal edit (common prefix and suffix of REF and ALT trimmed); a variant
   joins the current cluster when it starts at most `window` bp after the cluster's end.
3. **Match per cluster**: find a subset T' of the truth variants and Q' of the query
   variants, each variant placed on haplotype 1 or 2, such that the two haplotype sequences
   made by applying T' to the cluster's reference window equal (as an unordered pair) those
   made by Q', with |T'| + |Q'| as large as possible. Overlapping variants cannot share a
   haplotype. Each side's placements are enumerated (3 choices per variant: left out,
   haplotype 1, haplotype 2) and indexed by the haplotype pair they make; the two indexes are
   joined on equal pairs. This runs twice:

   * *allele* mode: every variant goes on exactly one haplotype whatever its zygosity. T' are
     the true positives (TP), Q' the query's true positives (`tp_query`), the rest of the
     cluster are false negatives (FN) and false positives (FP).
   * *genotype* mode: a heterozygous variant goes on one haplotype, a homozygous one on both.
     True positives that are also in this match have a matching genotype
     (`genotype_match`); ties in allele mode favour the genotype-matched variants.

   Clusters whose truth and query variants are identical (the vast majority) skip the search.
4. **Count** per type (SNP: one base replaced by one base, indel: everything else, both after
   atomising) only the variants inside `regions_bed` (POS within a BED interval, as for the
   previous exact-allele comparison): truth variants give TP or FN, query variants
   `tp_query` or FP. Recall = TP / (TP + FN), precision = tp_query / (tp_query + FP) (as
   hap.py's TRUTH.TP and QUERY.TP: one complex query record may stand for two truth variants
   or the other way round), F1 their harmonic mean, genotype concordance = genotype_match / TP.
   Matching ignores the regions, so a variant just outside the BED can still complete a
   haplotype inside it.

Limits (documented because validation reports quote them):

* Phasing is ignored: every genotype is treated as unphased, so a call with the right alleles
  in the wrong phase still matches.
* Variants further apart than `window` bp (default 10) are never combined: two
  representations of the same haplotype that spread wider than that do not match.
* A cluster with more than `max_cluster_variants` variants on one side (default 8; the search
  is 3^n per side) falls back to exact matching of the normalised (POS, REF, ALT) with
  genotype = same ALT count; `Comparison.fallback_clusters` counts them.
* Only the first sample of each VCF is read; ploidy above 2 is not supported.
* Precision is meaningful only inside confident regions of the truth set.
"""

from __future__ import annotations

import itertools
import json
import shlex
import subprocess
import tempfile
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam

from helgenom.fileio import write_mqc_table

# Headers written by bcftools 1.16 declare INFO/MQ as Integer; newer htslib warns about it.
pysam.set_verbosity(0)

#: The normalisation both VCFs get before matching ({ref}, {vcf}, {out} filled in). The
#: workflow's validation rule runs the same command (see workflow/rules/validate.smk).
NORM_PIPELINE = (
    "bcftools norm --fasta-ref {ref} --multiallelics -both --atomize --atom-overlaps ."
    " --check-ref e -Ou {vcf}"
    " | bcftools norm --fasta-ref {ref} --multiallelics -both --check-ref e -Ob -o {out}"
)

DEFAULT_WINDOW = 10
DEFAULT_MAX_CLUSTER_VARIANTS = 8
KINDS = ("snp", "indel")

Edit = tuple[int, int, str]  # 0-based half-open reference span and the bases replacing it
Regions = dict[str, list[tuple[int, int]]]


@dataclass(frozen=True)
class Variant:
    contig: str
    pos: int  # 1-based
    ref: str
    alt: str
    alt_count: int  # 1 (heterozygous) or 2 (homozygous) copies of ALT in the genotype

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.contig, self.pos, self.ref, self.alt)

    @property
    def kind(self) -> str:
        return "snp" if len(self.ref) == 1 and len(self.alt) == 1 else "indel"

    @property
    def edit(self) -> Edit:
        """The minimal edit: REF and ALT without their common prefix and suffix."""
        ref, alt = self.ref, self.alt
        prefix = 0
        while prefix < min(len(ref), len(alt)) and ref[prefix] == alt[prefix]:
            prefix += 1
        suffix = 0
        while (
            suffix < min(len(ref), len(alt)) - prefix
            and ref[len(ref) - 1 - suffix] == alt[len(alt) - 1 - suffix]
        ):
            suffix += 1
        start = self.pos - 1 + prefix
        return start, self.pos - 1 + len(ref) - suffix, alt[prefix : len(alt) - suffix]

    def __str__(self) -> str:
        gt = "1/1" if self.alt_count == 2 else "0/1"
        return f"{self.contig}:{self.pos}:{self.ref}>{self.alt}:{gt}"


@dataclass
class Counts:
    tp: int = 0  # truth variants matched by the query (TRUTH.TP)
    fp: int = 0  # query variants matching no truth variant
    fn: int = 0  # truth variants the query misses
    genotype_match: int = 0  # true positives whose genotype also matches
    tp_query: int = 0  # query variants matching truth variants (QUERY.TP)

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp_query / (self.tp_query + self.fp) if self.tp_query + self.fp else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def genotype_concordance(self) -> float:
        return self.genotype_match / self.tp if self.tp else 1.0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.genotype_match += other.genotype_match
        self.tp_query += other.tp_query

    def as_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "truth_total": self.tp + self.fn,
            "query_total": self.tp_query + self.fp,
            "recall": self.recall,
            "precision": self.precision,
            "f1": self.f1,
            "genotype_concordance": self.genotype_concordance,
        }


TSV_COLUMNS = (
    "type", "truth_total", "tp", "fn", "query_total", "tp_query", "fp",
    "recall", "precision", "f1", "genotype_match", "genotype_concordance",
)  # fmt: skip


@dataclass
class Comparison:
    counts: dict[str, Counts] = field(default_factory=lambda: {k: Counts() for k in KINDS})
    false_negatives: list[Variant] = field(default_factory=list)
    false_positives: list[Variant] = field(default_factory=list)
    genotype_mismatches: list[tuple[Variant, Variant]] = field(default_factory=list)
    fallback_clusters: int = 0  # clusters too large for haplotype matching (exact alleles)

    def total(self) -> Counts:
        out = Counts()
        for c in self.counts.values():
            out.add(c)
        return out

    def table(self) -> dict[str, dict[str, float | int]]:
        """{type: counts and metrics} for snp, indel and all."""
        return {kind: c.as_dict() for kind, c in {**self.counts, "all": self.total()}.items()}

    def to_json(self) -> str:
        out = {
            "counts": self.table(),
            "false_negatives": [str(v) for v in self.false_negatives],
            "false_positives": [str(v) for v in self.false_positives],
            "genotype_mismatches": [
                {"truth": str(t), "query": str(q)} for t, q in self.genotype_mismatches
            ],
            "fallback_clusters": self.fallback_clusters,
        }
        return json.dumps(out, indent=2, sort_keys=True)

    def tsv_rows(self) -> list[list[str]]:
        rows = []
        for kind, values in self.table().items():
            rows.append([kind] + [_fmt(values[c]) for c in TSV_COLUMNS[1:]])
        return rows

    def to_tsv(self) -> str:
        lines = ["\t".join(TSV_COLUMNS)] + ["\t".join(r) for r in self.tsv_rows()]
        return "\n".join(lines) + "\n"


def _fmt(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4f}"


# ---- regions -------------------------------------------------------------------------------
def read_bed(path: str | Path) -> Regions:
    """BED intervals per contig, sorted and merged (0-based, half-open)."""
    raw: Regions = {}
    with Path(path).open() as handle:
        for line in handle:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            contig, start, end = line.rstrip("\n").split("\t")[:3]
            raw.setdefault(contig, []).append((int(start), int(end)))
    regions: Regions = {}
    for contig, intervals in raw.items():
        merged: list[tuple[int, int]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        regions[contig] = merged
    return regions


def in_regions(regions: Regions, contig: str, pos: int) -> bool:
    """Whether the 1-based position lies in one of the 0-based half-open BED intervals."""
    intervals = regions.get(contig, [])
    index = bisect_left(intervals, (pos,)) - 1  # the last interval starting before pos
    return index >= 0 and intervals[index][1] >= pos


# ---- reading -------------------------------------------------------------------------------
def normalise(vcf: str | Path, reference: str | Path, out: str | Path) -> None:
    """Write `vcf` normalised with NORM_PIPELINE to the BCF `out`."""
    command = NORM_PIPELINE.format(ref=_q(reference), vcf=_q(vcf), out=_q(out))
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ValueError(f"{vcf}: bcftools norm failed: {proc.stderr.strip()[-500:]}")


def _q(path: str | Path) -> str:
    return shlex.quote(str(path))


def _alt_count(gt: Sequence[int | None]) -> int:
    alts = sum(1 for allele in gt if allele == 1)
    return 2 if len(gt) == 1 and alts else alts


def read_variants(vcf: str | Path, *, pass_only: bool) -> Iterator[Variant]:
    """Variants of the first sample of an already normalised VCF/BCF (see module doc)."""
    with pysam.VariantFile(str(vcf)) as handle:
        has_sample = len(handle.header.samples) > 0
        for rec in handle:
            if pass_only and rec.filter.keys() not in ([], ["PASS"]):
                continue
            alt = rec.alts[0] if rec.alts else None
            if alt is None or alt == "*" or alt.startswith("<") or len(rec.alts) > 1:
                continue
            gt = rec.samples[0]["GT"] if has_sample else (None, None)
            count = _alt_count(gt or (None,))
            if count == 0:
                continue  # a reference or missing genotype is not a variant call
            yield Variant(rec.contig, rec.pos, rec.ref.upper(), alt.upper(), min(count, 2))


def normalised_variants(
    vcf: str | Path, reference: str | Path, *, pass_only: bool = True
) -> Iterator[Variant]:
    """Variants of the first sample after NORM_PIPELINE (split, atomised, left-aligned)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "norm.bcf"
        normalise(vcf, reference, out)
        yield from read_variants(out, pass_only=pass_only)


# ---- haplotypes ----------------------------------------------------------------------------
def apply_edits(ref: str, offset: int, edits: Iterable[Edit]) -> str | None:
    """`ref` (starting at 0-based `offset`) with the edits applied; None if two overlap."""
    out: list[str] = []
    cursor = offset
    last_insertion = -1
    for start, end, seq in sorted(edits):
        if start < cursor or (start == end and start == last_insertion):
            return None
        out.append(ref[cursor - offset : start - offset])
        out.append(seq)
        if start == end:
            last_insertion = start
        cursor = end
    out.append(ref[cursor - offset :])
    return "".join(out)


HapPair = tuple[str, str]
Choice = tuple[int, int, frozenset[int]]  # (variants used, preferred variants used, indices)


def _placements(
    variants: Sequence[Variant], genotype_mode: bool
) -> Iterator[tuple[tuple[int, ...], list[Edit], list[Edit]]]:
    """Every placement of the variants: per variant 0 = left out, 1/2 = haplotype, 3 = both."""
    options = [(0, 3) if genotype_mode and v.alt_count == 2 else (0, 1, 2) for v in variants]
    edits = [v.edit for v in variants]
    for placement in itertools.product(*options):
        hap1 = [e for e, p in zip(edits, placement, strict=True) if p in (1, 3)]
        hap2 = [e for e, p in zip(edits, placement, strict=True) if p in (2, 3)]
        yield placement, hap1, hap2


def _haplotype_index(
    variants: Sequence[Variant],
    ref: str,
    offset: int,
    genotype_mode: bool,
    preferred: frozenset[int],
) -> dict[HapPair, Choice]:
    """{unordered haplotype pair: the largest subset of `variants` that makes it}."""
    index: dict[HapPair, Choice] = {}
    for placement, hap1, hap2 in _placements(variants, genotype_mode):
        seq1 = apply_edits(ref, offset, hap1)
        seq2 = apply_edits(ref, offset, hap2)
        if seq1 is None or seq2 is None:
            continue
        used = frozenset(i for i, p in enumerate(placement) if p)
        choice = (len(used), len(used & preferred), used)
        key = (seq1, seq2) if seq1 <= seq2 else (seq2, seq1)
        if key not in index or choice[:2] > index[key][:2]:
            index[key] = choice
    return index


def match_haplotypes(
    truth: Sequence[Variant],
    query: Sequence[Variant],
    ref: str,
    offset: int,
    *,
    genotype_mode: bool,
    preferred_truth: frozenset[int] = frozenset(),
    preferred_query: frozenset[int] = frozenset(),
) -> tuple[frozenset[int], frozenset[int]]:
    """Indices of the largest truth and query subsets that make the same haplotypes.

    `ref` is the reference sequence from 0-based `offset`, covering every variant.
    """
    t_index = _haplotype_index(truth, ref, offset, genotype_mode, preferred_truth)
    q_index = _haplotype_index(query, ref, offset, genotype_mode, preferred_query)
    best: tuple[int, int] = (0, 0)
    chosen: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
    for key, (t_used, t_pref, t_set) in t_index.items():
        other = q_index.get(key)
        if other is None:
            continue
        score = (t_used + other[0], t_pref + other[1])
        if score > best:
            best, chosen = score, (t_set, other[2])
    return chosen


# ---- clusters ------------------------------------------------------------------------------
@dataclass
class Cluster:
    contig: str
    start: int  # 0-based, the smallest edit start
    end: int  # the largest edit end
    truth: list[Variant] = field(default_factory=list)
    query: list[Variant] = field(default_factory=list)


def clusters(
    truth: Iterable[Variant], query: Iterable[Variant], window: int = DEFAULT_WINDOW
) -> Iterator[Cluster]:
    """Truth and query variants grouped by proximity (see the module docstring)."""
    tagged = [(v.contig, *v.edit[:2], 0, v) for v in truth]
    tagged += [(v.contig, *v.edit[:2], 1, v) for v in query]
    tagged.sort(key=lambda t: (t[0], t[1], t[2], t[3], t[4].key))
    current: Cluster | None = None
    for contig, start, end, side, variant in tagged:
        if current is None or contig != current.contig or start > current.end + window:
            if current is not None:
                yield current
            current = Cluster(contig, start, end)
        current.end = max(current.end, end)
        (current.query if side else current.truth).append(variant)
    if current is not None:
        yield current


@dataclass
class ClusterMatch:
    truth_tp: frozenset[int]
    query_tp: frozenset[int]
    truth_gt: frozenset[int]  # truth variants whose genotype matches too
    fallback: bool = False


def _signature(variants: Sequence[Variant]) -> list[tuple[tuple[str, int, str, str], int]]:
    return sorted((v.key, v.alt_count) for v in variants)


def _exact_match(cluster: Cluster) -> ClusterMatch:
    query = {v.key: v for v in cluster.query}
    truth_tp = frozenset(i for i, v in enumerate(cluster.truth) if v.key in query)
    truth_keys = {v.key for v in cluster.truth}
    query_tp = frozenset(i for i, v in enumerate(cluster.query) if v.key in truth_keys)
    truth_gt = frozenset(
        i for i in truth_tp if query[cluster.truth[i].key].alt_count == cluster.truth[i].alt_count
    )
    return ClusterMatch(truth_tp, query_tp, truth_gt, fallback=True)


def match_cluster(
    cluster: Cluster, fasta: pysam.FastaFile, max_variants: int = DEFAULT_MAX_CLUSTER_VARIANTS
) -> ClusterMatch:
    """Which truth and query variants of the cluster match (allele and genotype level)."""
    truth, query = cluster.truth, cluster.query
    if not truth or not query:
        return ClusterMatch(frozenset(), frozenset(), frozenset())
    if _signature(truth) == _signature(query):
        every = frozenset(range(len(truth)))
        return ClusterMatch(every, frozenset(range(len(query))), every)
    if max(len(truth), len(query)) > max_variants:
        return _exact_match(cluster)
    ref = fasta.fetch(cluster.contig, cluster.start, cluster.end).upper()
    gt_truth, gt_query = match_haplotypes(truth, query, ref, cluster.start, genotype_mode=True)
    truth_tp, query_tp = match_haplotypes(
        truth,
        query,
        ref,
        cluster.start,
        genotype_mode=False,
        preferred_truth=gt_truth,
        preferred_query=gt_query,
    )
    return ClusterMatch(truth_tp, query_tp, gt_truth & truth_tp)


# ---- comparison ----------------------------------------------------------------------------
def _nearest(variant: Variant, candidates: Sequence[Variant]) -> Variant:
    same = [c for c in candidates if c.key == variant.key]
    return same[0] if same else min(candidates, key=lambda c: abs(c.pos - variant.pos))


def _count_cluster(
    result: Comparison, cluster: Cluster, match: ClusterMatch, regions: Regions | None
) -> None:
    def inside(v: Variant) -> bool:
        return regions is None or in_regions(regions, v.contig, v.pos)

    matched_query = [cluster.query[i] for i in sorted(match.query_tp)]
    for i, t in enumerate(cluster.truth):
        if not inside(t):
            continue
        counts = result.counts[t.kind]
        if i not in match.truth_tp:
            counts.fn += 1
            result.false_negatives.append(t)
            continue
        counts.tp += 1
        if i in match.truth_gt:
            counts.genotype_match += 1
        else:
            result.genotype_mismatches.append((t, _nearest(t, matched_query)))
    for i, q in enumerate(cluster.query):
        if not inside(q):
            continue
        if i in match.query_tp:
            result.counts[q.kind].tp_query += 1
        else:
            result.counts[q.kind].fp += 1
            result.false_positives.append(q)


def compare_variants(
    query: Iterable[Variant],
    truth: Iterable[Variant],
    reference: str | Path,
    regions: Regions | None = None,
    *,
    window: int = DEFAULT_WINDOW,
    max_cluster_variants: int = DEFAULT_MAX_CLUSTER_VARIANTS,
) -> Comparison:
    """Haplotype-aware comparison of normalised variants (see the module docstring)."""
    result = Comparison()
    with pysam.FastaFile(str(reference)) as fasta:
        for cluster in clusters(truth, query, window):
            if regions is not None and not any(
                in_regions(regions, v.contig, v.pos) for v in cluster.truth + cluster.query
            ):
                continue
            match = match_cluster(cluster, fasta, max_cluster_variants)
            result.fallback_clusters += match.fallback
            _count_cluster(result, cluster, match, regions)
    return result


def compare(
    query_vcf: str | Path,
    truth_vcf: str | Path,
    reference: str | Path,
    regions_bed: str | Path | None = None,
    *,
    normalised: bool = False,
    window: int = DEFAULT_WINDOW,
    max_cluster_variants: int = DEFAULT_MAX_CLUSTER_VARIANTS,
) -> Comparison:
    """Count TP/FP/FN per type (SNP, indel), optionally only inside `regions_bed`.

    Both VCFs are normalised with NORM_PIPELINE first, unless `normalised` says the caller
    did that already (the workflow runs bcftools in its own rule).
    """
    regions = read_bed(regions_bed) if regions_bed else None
    if normalised:
        query = list(read_variants(query_vcf, pass_only=True))
        truth = list(read_variants(truth_vcf, pass_only=False))
    else:
        query = list(normalised_variants(query_vcf, reference, pass_only=True))
        truth = list(normalised_variants(truth_vcf, reference, pass_only=False))
    return compare_variants(
        query,
        truth,
        reference,
        regions,
        window=window,
        max_cluster_variants=max_cluster_variants,
    )


# ---- reports -------------------------------------------------------------------------------
def write_report(
    comparisons: Mapping[str, Comparison], sample: str, tsv: str | Path, json_path: str | Path
) -> None:
    """The validation report of one sample: a TSV (one row per scope and type) and a JSON."""
    header = ["sample", "scope", *TSV_COLUMNS]
    lines = ["\t".join(header)]
    for scope, comparison in comparisons.items():
        lines += ["\t".join([sample, scope, *row]) for row in comparison.tsv_rows()]
    Path(tsv).write_text("\n".join(lines) + "\n")
    data = {scope: json.loads(c.to_json()) for scope, c in comparisons.items()}
    Path(json_path).write_text(json.dumps({"sample": sample, **data}, indent=2) + "\n")


def truth_span(variants: Iterable[Variant]) -> Regions:
    """Per contig, the interval from the first to the last truth variant (BED coordinates)."""
    bounds: dict[str, tuple[int, int]] = {}
    for v in variants:
        low, high = bounds.get(v.contig, (v.pos, v.pos))
        bounds[v.contig] = (min(low, v.pos), max(high, v.pos))
    return {contig: [(low - 1, high)] for contig, (low, high) in bounds.items()}


#: Scopes of a validation report: inside the truth set's confident regions (recall and
#: precision), and over the span of the truth set (recall only: calls outside the truth set
#: there are not known to be false).
SCOPES = ("confident", "truth_span")


def validation_report(
    sample: str,
    calls: str | Path,
    truth: str | Path,
    reference: str | Path,
    confident_bed: str | Path,
    tsv: str | Path,
    json_path: str | Path,
    log: str | Path | None = None,
) -> dict[str, Comparison]:
    """Compare a sample's normalised calls with its normalised truth set; write the report."""
    query = list(read_variants(calls, pass_only=True))
    truth_variants = list(read_variants(truth, pass_only=False))
    regions = {"confident": read_bed(confident_bed), "truth_span": truth_span(truth_variants)}
    comparisons = {
        scope: compare_variants(query, truth_variants, reference, regions[scope])
        for scope in SCOPES
    }
    write_report(comparisons, sample, tsv, json_path)
    if log is not None:
        lines = [f"{sample}: {len(query)} PASS calls, {len(truth_variants)} truth variants"]
        for scope, c in comparisons.items():
            t = c.total()
            lines.append(
                f"{scope}: TP {t.tp} FN {t.fn} FP {t.fp} genotype match {t.genotype_match}, "
                f"{c.fallback_clusters} cluster(s) matched exactly (too large)"
            )
        Path(log).write_text("\n".join(lines) + "\n")
    return comparisons


MQC_COLUMNS = (
    ("snp_recall", "confident", "snp", "recall"),
    ("snp_precision", "confident", "snp", "precision"),
    ("snp_f1", "confident", "snp", "f1"),
    ("indel_recall", "confident", "indel", "recall"),
    ("indel_precision", "confident", "indel", "precision"),
    ("indel_f1", "confident", "indel", "f1"),
    ("genotype_concordance", "confident", "all", "genotype_concordance"),
    ("tp", "confident", "all", "tp"),
    ("fp", "confident", "all", "fp"),
    ("fn", "confident", "all", "fn"),
    ("span_snp_recall", "truth_span", "snp", "recall"),
    ("span_indel_recall", "truth_span", "indel", "recall"),
)


def write_validation_mqc(reports: Iterable[str | Path], out: str | Path) -> None:
    """A MultiQC custom-content table of the validation reports (one row per sample)."""

    def row(path: str | Path) -> list[str]:
        report = json.loads(Path(path).read_text())
        return [report["sample"]] + [
            _fmt(report[scope]["counts"][kind][metric]) for _, scope, kind, metric in MQC_COLUMNS
        ]

    write_mqc_table(
        out,
        table_id="helgenom_validation",
        section_name="Truth comparison (helgenom)",
        description="Calls compared with the sample's truth set (haplotype-aware, "
        "helgenom.truth): recall, precision and F1 per type inside the confident regions, "
        "recall over the whole truth span.",
        columns=["Sample"] + [name for name, *_ in MQC_COLUMNS],
        rows=(row(path) for path in reports),
    )
