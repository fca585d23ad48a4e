"""The sample's variants inside its gene panel, with genotype, depth, allele fraction, quality
and (when the panel VCF went through `bcftools csq`) the predicted consequences."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helgenom.report.panels import PanelInterval

BCSQ_FIELDS = (
    "consequence",
    "gene",
    "transcript",
    "biotype",
    "strand",
    "protein_change",
    "dna_change",
)


def parse_bcsq(value: str | None) -> list[dict[str, str]]:
    """INFO/BCSQ of bcftools csq ('csq|gene|transcript|biotype|strand|aa|dna', comma-separated;
    '@POS' entries point at a combined consequence reported at another record)."""
    if not value:
        return []
    out = []
    for entry in value.split(","):
        if entry.startswith("@"):
            out.append({"consequence": f"see the record at position {entry[1:]}"})
            continue
        fields = entry.split("|")
        out.append({k: v for k, v in zip(BCSQ_FIELDS, fields, strict=False) if v})
    return out


def zygosity(alleles: Sequence[int]) -> str | None:
    """heterozygous / homozygous / hemizygous for the called alleles (None: no ALT allele)."""
    called = [a for a in alleles if a is not None and a >= 0]
    alt = [a for a in called if a > 0]
    if not alt:
        return None
    if len(called) == 1:
        return "hemizygous"
    return "homozygous" if len(alt) == len(called) else "heterozygous"


def _genes_at(chrom: str, start: int, end: int, intervals: Sequence[PanelInterval]) -> list[str]:
    genes = [
        i.gene
        for i in intervals
        if i.contig == chrom and i.start < max(end, start + 1) and start < i.end
    ]
    return list(dict.fromkeys(genes))


def read_panel_variants(
    vcf: str | Path, intervals: Sequence[PanelInterval]
) -> list[dict[str, Any]]:
    """Variant records (a called ALT allele) of the first sample overlapping the panel."""
    from cyvcf2 import VCF

    reader = VCF(str(vcf))
    try:
        formats = {h.info().get("ID") for h in reader.header_iter() if h.type == "FORMAT"}
        infos = {h.info().get("ID") for h in reader.header_iter() if h.type == "INFO"}
        annotated = "BCSQ" in infos
        seen = set()
        out = []
        for record in reader:
            key = (record.CHROM, record.POS, record.REF, tuple(record.ALT))
            if key in seen:
                continue
            seen.add(key)
            start = record.POS - 1
            genes = _genes_at(record.CHROM, start, start + len(record.REF), intervals)
            if not genes:
                continue
            gt = record.genotypes[0]
            alleles = [a for a in gt[:-1]]
            zyg = zygosity(alleles)
            if zyg is None:
                continue
            ad = record.format("AD")[0].tolist() if "AD" in formats else None
            ad = [max(int(x), 0) for x in ad] if ad is not None else None
            dp = None
            if "DP" in formats and record.format("DP") is not None:
                dp = int(record.format("DP")[0][0])
            if (dp is None or dp < 0) and ad is not None:
                dp = sum(ad)
            alt_reads = sum(ad[1:]) if ad else None
            fraction = round(alt_reads / sum(ad), 4) if ad and sum(ad) else None
            gt_text = ("|" if gt[-1] else "/").join(
                "." if a is None or a < 0 else str(a) for a in alleles
            )
            out.append(
                {
                    "chrom": record.CHROM,
                    "pos": record.POS,
                    "ref": record.REF.upper(),  # soft-masked references give lower case
                    "alt": ",".join(record.ALT).upper(),
                    "genes": genes,
                    "genotype": gt_text,
                    "zygosity": zyg,
                    "depth": dp,
                    "ref_reads": ad[0] if ad else None,
                    "alt_reads": alt_reads,
                    "allele_fraction": fraction,
                    "quality": None if record.QUAL is None else round(float(record.QUAL), 1),
                    "filter": "PASS" if record.FILTER is None else record.FILTER,
                    "type": _variant_type(record.REF.upper(), record.ALT[0].upper()),
                    "consequences": parse_bcsq(record.INFO.get("BCSQ")) if annotated else None,
                }
            )
        return out
    finally:
        reader.close()


def _variant_type(ref: str, alt: str) -> str:
    if len(ref) == len(alt) == 1:
        return "SNV"
    if len(ref) == len(alt):
        return "MNV"
    if len(ref) < len(alt) and alt.startswith(ref[0]) and len(ref) == 1:
        return "insertion"
    if len(ref) > len(alt) and ref.startswith(alt[0]) and len(alt) == 1:
        return "deletion"
    return "delins"


def vcf_is_annotated(vcf: str | Path) -> bool:
    from cyvcf2 import VCF

    reader = VCF(str(vcf))
    try:
        return any(h.type == "INFO" and h.info().get("ID") == "BCSQ" for h in reader.header_iter())
    finally:
        reader.close()
