"""Comparing variant calls with a truth set (exact alleles after normalisation).

Both VCFs are normalised the same way as the pipeline's output (`bcftools norm -f ref -m
-both`: left-aligned, multi-allelic records split), then matched on (contig, position, REF,
ALT). Only PASS calls of the query count. Inside confident regions (a BED) precision is
meaningful; outside them only recall is.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysam

# Headers written by bcftools 1.16 declare INFO/MQ as Integer; newer htslib warns about it.
pysam.set_verbosity(0)


@dataclass(frozen=True)
class Variant:
    contig: str
    pos: int  # 1-based
    ref: str
    alt: str
    alt_count: int  # 0, 1 or 2 copies of ALT in the genotype (None/missing -> 0)

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.contig, self.pos, self.ref, self.alt)

    @property
    def kind(self) -> str:
        return "snp" if len(self.ref) == 1 and len(self.alt) == 1 else "indel"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    genotype_match: int = 0  # true positives whose genotype also matches

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Comparison:
    counts: dict[str, Counts] = field(default_factory=lambda: {"snp": Counts(), "indel": Counts()})
    false_negatives: list[Variant] = field(default_factory=list)
    false_positives: list[Variant] = field(default_factory=list)
    genotype_mismatches: list[tuple[Variant, Variant]] = field(default_factory=list)

    def total(self) -> Counts:
        out = Counts()
        for c in self.counts.values():
            out.tp += c.tp
            out.fp += c.fp
            out.fn += c.fn
            out.genotype_match += c.genotype_match
        return out

    def to_json(self) -> str:
        table = {
            kind: {**asdict(c), "recall": c.recall, "precision": c.precision, "f1": c.f1}
            for kind, c in {**self.counts, "all": self.total()}.items()
        }
        return json.dumps(table, indent=2, sort_keys=True)


def read_bed(path: str | Path) -> dict[str, list[tuple[int, int]]]:
    regions: dict[str, list[tuple[int, int]]] = {}
    with Path(path).open() as handle:
        for line in handle:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            contig, start, end = line.split("\t")[:3]
            regions.setdefault(contig, []).append((int(start), int(end)))
    for intervals in regions.values():
        intervals.sort()
    return regions


def in_regions(regions: dict[str, list[tuple[int, int]]], contig: str, pos: int) -> bool:
    """Whether the 1-based position lies in one of the 0-based half-open BED intervals."""
    return any(start < pos <= end for start, end in regions.get(contig, ()))


def normalised_variants(
    vcf: str | Path, reference: str | Path, *, pass_only: bool = True
) -> Iterator[Variant]:
    """Variants of the first sample after `bcftools norm -m -both -f reference`."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "norm.vcf"
        proc = subprocess.run(
            [
                "bcftools",
                "norm",
                "--multiallelics",
                "-both",
                "--fasta-ref",
                str(reference),
                "--check-ref",
                "e",
                "-Ov",
                "-o",
                str(out),
                str(vcf),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ValueError(f"{vcf}: bcftools norm failed: {proc.stderr.strip()[-500:]}")
        with pysam.VariantFile(str(out)) as handle:
            for rec in handle:
                if pass_only and rec.filter.keys() not in ([], ["PASS"]):
                    continue
                alt = rec.alts[0] if rec.alts else None
                if alt is None or alt == "*" or alt.startswith("<"):
                    continue
                gt = rec.samples[0]["GT"] if len(rec.samples) else (None, None)
                count = sum(1 for allele in gt if allele == 1)
                if count == 0:
                    continue  # a reference or missing genotype is not a variant call
                yield Variant(rec.contig, rec.pos, rec.ref, alt, count)


def compare(
    query_vcf: str | Path,
    truth_vcf: str | Path,
    reference: str | Path,
    regions_bed: str | Path | None = None,
) -> Comparison:
    """Count TP/FP/FN per type (SNP, indel), optionally only inside `regions_bed`."""
    regions = read_bed(regions_bed) if regions_bed else None

    def keep(v: Variant) -> bool:
        return regions is None or in_regions(regions, v.contig, v.pos)

    truth = {
        v.key: v for v in normalised_variants(truth_vcf, reference, pass_only=False) if keep(v)
    }
    query = {v.key: v for v in normalised_variants(query_vcf, reference) if keep(v)}
    result = Comparison()
    for key, t in truth.items():
        counts = result.counts[t.kind]
        q = query.get(key)
        if q is None:
            counts.fn += 1
            result.false_negatives.append(t)
            continue
        counts.tp += 1
        if q.alt_count == t.alt_count:
            counts.genotype_match += 1
        else:
            result.genotype_mismatches.append((t, q))
    for key, q in query.items():
        if key not in truth:
            result.counts[q.kind].fp += 1
            result.false_positives.append(q)
    return result
