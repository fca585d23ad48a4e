"""Families, trios and the relatedness of a run's samples.

samples.tsv may declare families: `family` (an ID shared by the members), `father` and
`mother` (sample IDs of the same sheet and family), `affected` (affected, unaffected, unknown).
This module checks those declarations across rows (helgenom.samplesheet calls
`pedigree_problems`), builds the pedigree the workflow needs (families with two or more
members, trios, PED files), estimates pairwise relatedness from genotypes (KING-robust
kinship and the share of opposite homozygotes, IBS0), infers each pair's degree and checks it
against the declared relations: a parent who is not one, or one sample twice, is a pedigree
failure that fails the QC gate of the samples involved (a sample swap or mix-up in a trio).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from helgenom.fileio import write_mqc_table

AFFECTED = ("affected", "unaffected", "unknown")
FAMILY_COLUMNS = ("family", "father", "mother", "affected")

# KING's kinship bounds of the degrees (Manichaikul et al. 2010): > 2^-1.5 one individual
# twice; > 2^-2.5 first degree; > 2^-3.5 second; > 2^-4.5 third; else unrelated.
DUPLICATE_MIN = 2**-1.5  # 0.354
FIRST_DEGREE_MIN = 2**-2.5  # 0.177
SECOND_DEGREE_MIN = 2**-3.5  # 0.0884
THIRD_DEGREE_MIN = 2**-4.5  # 0.0442

RELATIONS = (
    "duplicate",
    "parent-offspring",
    "full-siblings",
    "second-degree",
    "third-degree",
    "unrelated",
    "unknown",  # too few informative sites
)


# ---- the declared pedigree -------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    sample_id: str
    family: str | None
    father: str | None
    mother: str | None
    sex: str
    affected: str  # affected, unaffected, unknown


@dataclass(frozen=True)
class Trio:
    child: str
    father: str
    mother: str
    family: str


@dataclass(frozen=True)
class Pedigree:
    """The run's samples with their declared family relations."""

    members: Mapping[str, Member]

    def families(self) -> dict[str, list[str]]:
        """Family ID -> its members in the run (sheet order): families of two or more only."""
        families: dict[str, list[str]] = {}
        for member in self.members.values():
            if member.family:
                families.setdefault(member.family, []).append(member.sample_id)
        return {f: ids for f, ids in families.items() if len(ids) > 1}

    def family_of(self, sample_id: str) -> str | None:
        """The sample's family when it has other members in the run, else None."""
        family = self.members[sample_id].family
        return family if family in self.families() else None

    def unrelated(self, sample_id: str) -> list[str]:
        """The run's other samples outside the sample's declared family (sheet order): the
        samples a CNV panel of normals may hold (a CNV inherited by relatives would be
        divided out as normal). Parents share their child's family (pedigree_problems)."""
        family = self.members[sample_id].family
        return [
            other
            for other, member in self.members.items()
            if other != sample_id and not (family and member.family == family)
        ]

    def trios(self) -> list[Trio]:
        """Children whose father and mother are both samples of the run."""
        return [
            Trio(m.sample_id, m.father, m.mother, m.family or "")
            for m in self.members.values()
            if m.father and m.mother
        ]

    def proband_trio(self, sample_id: str) -> Trio | None:
        return next((t for t in self.trios() if t.child == sample_id), None)

    def expected(self, a: str, b: str) -> str | None:
        """The relation the sheet declares between two samples, or None (not declared)."""
        first, second = self.members[a], self.members[b]
        if a in (second.father, second.mother) or b in (first.father, first.mother):
            return "parent-offspring"
        if (
            first.father
            and first.mother
            and (first.father, first.mother) == (second.father, second.mother)
        ):
            return "full-siblings"
        if first.family and first.family == second.family:
            children = [m for m in self.members.values() if m.father and m.mother]
            for child in children:
                if {a, b} == {child.father, child.mother}:
                    return "unrelated"  # the parents of a child (a consanguineous pair warns)
        return None

    def ped(self, family: str) -> str:
        """The family as a PED file (family, sample, father, mother, sex 1/2/0, phenotype)."""
        sex = {"male": "1", "female": "2"}
        phenotype = {"affected": "2", "unaffected": "1"}
        lines = []
        for sample_id in self.families().get(family, []):
            m = self.members[sample_id]
            fields = [
                family,
                sample_id,
                m.father or "0",
                m.mother or "0",
                sex.get(m.sex, "0"),
                phenotype.get(m.affected, "0"),
            ]
            lines.append("\t".join(fields) + "\n")
        return "".join(lines)


def _cell(extra: Mapping[str, str], column: str) -> str | None:
    value = extra.get(column, "").strip()
    return value or None


def pedigree(samples: Mapping[str, Any]) -> Pedigree:
    """The pedigree of loaded samples (helgenom.samplesheet.Sample: family columns in extra)."""
    members = {}
    for sample_id, sample in samples.items():
        extra = sample.extra
        members[sample_id] = Member(
            sample_id=sample_id,
            family=_cell(extra, "family"),
            father=_cell(extra, "father"),
            mother=_cell(extra, "mother"),
            sex=sample.sex,
            affected=_cell(extra, "affected") or "unknown",
        )
    return Pedigree(members)


@dataclass(frozen=True)
class RowProblem:
    """A problem in one samples.tsv row (helgenom.samplesheet turns it into a Problem)."""

    line: int
    column: str
    message: str
    fix: str


def pedigree_problems(rows: Sequence[tuple[int, Mapping[str, str]]]) -> list[RowProblem]:
    """Cross-row checks of the family columns: (line, cells) per samples.tsv row.

    A parent must be another sample of the sheet, of the same family, of the matching sex
    (or unknown), and not a descendant of the child.
    """
    problems: list[RowProblem] = []
    by_id = {cells.get("sample_id", ""): (line, cells) for line, cells in rows}
    for line, cells in rows:
        sid = cells.get("sample_id", "")
        family = cells.get("family", "").strip()
        for column, sex in (("father", "male"), ("mother", "female")):
            parent = cells.get(column, "").strip()
            if not parent:
                continue
            if parent == sid:
                problems.append(
                    RowProblem(
                        line,
                        column,
                        f"sample {sid!r} is named as its own {column}",
                        f"Write the {column}'s sample_id, or leave the cell empty.",
                    )
                )
                continue
            if parent not in by_id:
                problems.append(
                    RowProblem(
                        line,
                        column,
                        f"{column} {parent!r} of {sid!r} is not a sample of this sheet",
                        f"Add the {column} as a row of samples.tsv (with its own units), correct "
                        "the ID, or leave the cell empty when the parent is not sequenced.",
                    )
                )
                continue
            parent_line, parent_cells = by_id[parent]
            if not family:
                problems.append(
                    RowProblem(
                        line,
                        "family",
                        f"{sid!r} names a {column} but no family",
                        f"Write the family ID of {sid!r} and its {column} {parent!r} in "
                        "the family column of both rows.",
                    )
                )
            elif parent_cells.get("family", "").strip() != family:
                problems.append(
                    RowProblem(
                        line,
                        column,
                        f"{column} {parent!r} (line {parent_line}) is not in family {family!r} "
                        f"of {sid!r}",
                        f"Write {family!r} in the family column of line {parent_line}, or "
                        "correct the parent's ID.",
                    )
                )
            parent_sex = parent_cells.get("sex", "")
            if parent_sex not in (sex, "unknown", ""):
                problems.append(
                    RowProblem(
                        line,
                        column,
                        f"{column} {parent!r} is declared {parent_sex} on line {parent_line}",
                        f"Correct the {column}/{'mother' if column == 'father' else 'father'} "
                        f"columns of {sid!r} or the sex of {parent!r}.",
                    )
                )
        father, mother = cells.get("father", "").strip(), cells.get("mother", "").strip()
        if father and father == mother:
            problems.append(
                RowProblem(
                    line,
                    "mother",
                    f"{sid!r} has {father!r} as both father and mother",
                    "Name two different samples, or leave one cell empty.",
                )
            )
    # A sample may not be its own ancestor.
    parents = {
        sid: [
            p
            for p in (cells.get("father", "").strip(), cells.get("mother", "").strip())
            if p in by_id and p != sid
        ]
        for sid, (_, cells) in by_id.items()
    }
    for sid, (line, _) in by_id.items():
        seen: set[str] = set()
        todo = list(parents.get(sid, []))
        while todo:
            ancestor = todo.pop()
            if ancestor == sid:
                problems.append(
                    RowProblem(
                        line,
                        "father",
                        f"{sid!r} is its own ancestor through the father/mother columns",
                        "Correct the parent columns: a child cannot be a parent of its parent.",
                    )
                )
                break
            if ancestor not in seen:
                seen.add(ancestor)
                todo.extend(parents.get(ancestor, []))
    return problems


# ---- relatedness from genotypes --------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """config `identity`: which genotypes count and when a pair has enough of them."""

    min_depth: int = 10
    min_sites: int = 100
    po_max_ibs0: float = 0.01  # parent-offspring share no opposite homozygote (errors aside)


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    sites: int  # sites with a genotype in both samples
    kinship: float | None  # KING-robust
    ibs0: float | None  # share of the sites with opposite homozygotes
    ibs2: float | None  # share with identical genotypes
    relation: str  # inferred (RELATIONS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "sites": self.sites,
            "kinship": None if self.kinship is None else round(self.kinship, 4),
            "ibs0": None if self.ibs0 is None else round(self.ibs0, 4),
            "ibs2": None if self.ibs2 is None else round(self.ibs2, 4),
            "relation": self.relation,
        }


def infer_relation(kinship: float | None, ibs0: float | None, settings: Settings) -> str:
    """The degree of a pair from its kinship (KING's bounds), parent-offspring by IBS0."""
    if kinship is None or ibs0 is None:
        return "unknown"
    if kinship > DUPLICATE_MIN:
        return "duplicate"
    if kinship > FIRST_DEGREE_MIN:
        return "parent-offspring" if ibs0 <= settings.po_max_ibs0 else "full-siblings"
    if kinship > SECOND_DEGREE_MIN:
        return "second-degree"
    if kinship > THIRD_DEGREE_MIN:
        return "third-degree"
    return "unrelated"


def pair_stats(
    a: str,
    b: str,
    genotypes_a: Sequence[int | None],
    genotypes_b: Sequence[int | None],
    settings: Settings,
) -> Pair:
    """KING-robust kinship of two samples from alt-allele counts (0, 1, 2; None: no call).

    phi = (N_het,het - 2 N_opposite-hom) / (N_het(a) + N_het(b)), over the sites where both
    have a genotype (Manichaikul et al. 2010, eq. 11: robust to the population's structure, and
    needs no allele frequencies, so it works on a run's own sites).
    """
    both = [
        (x, y)
        for x, y in zip(genotypes_a, genotypes_b, strict=True)
        if x is not None and y is not None
    ]
    sites = len(both)
    het_het = sum(1 for x, y in both if x == 1 and y == 1)
    opposite = sum(1 for x, y in both if {x, y} == {0, 2})
    same = sum(1 for x, y in both if x == y)
    het_a = sum(1 for x, _ in both if x == 1)
    het_b = sum(1 for _, y in both if y == 1)
    if sites < settings.min_sites or het_a + het_b == 0:
        return Pair(a, b, sites, None, None, None, "unknown")
    kinship = (het_het - 2 * opposite) / (het_a + het_b)
    ibs0, ibs2 = opposite / sites, same / sites
    return Pair(a, b, sites, kinship, ibs0, ibs2, infer_relation(kinship, ibs0, settings))


def all_pairs(genotypes: Mapping[str, Sequence[int | None]], settings: Settings) -> list[Pair]:
    """Every pair of samples (in the order given)."""
    return [
        pair_stats(a, b, genotypes[a], genotypes[b], settings)
        for a, b in combinations(list(genotypes), 2)
    ]


def _has_format(reader: Any, tag: str) -> bool:
    """Whether a cyvcf2 reader's header declares FORMAT/`tag`."""
    return any(h.type == "FORMAT" and h.info().get("ID") == tag for h in reader.header_iter())


def read_genotypes(vcf: str | Path, settings: Settings) -> dict[str, list[int | None]]:
    """Alt-allele counts per sample at the biallelic SNVs of a multi-sample VCF.

    A genotype counts when it is called (no '.') and its FORMAT/DP is at least
    `settings.min_depth` (a missing DP counts as too shallow).
    """
    from cyvcf2 import VCF

    reader = VCF(str(vcf))
    samples = list(reader.samples)
    genotypes: dict[str, list[int | None]] = {s: [] for s in samples}
    has_dp = _has_format(reader, "DP")
    for record in reader:
        if len(record.ALT) != 1 or len(record.REF) != 1 or len(record.ALT[0]) != 1:
            continue
        if record.ALT[0] in ("*", "<*>", "."):
            continue
        depths = record.format("DP") if has_dp else None
        for index, (sample, gt_type) in enumerate(zip(samples, record.gt_types, strict=True)):
            depth = None if depths is None else int(depths[index][0])
            if gt_type == 2 or depth is None or depth < settings.min_depth or depth < 0:
                genotypes[sample].append(None)
            else:
                genotypes[sample].append({0: 0, 1: 1, 3: 2}[int(gt_type)])
    reader.close()
    return genotypes


# ---- the pedigree check ----------------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """One pair's inferred relation against the declared one."""

    pair: Pair
    expected: str | None  # None: not declared
    status: str  # pass, warn, fail, not_assessable
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.pair.as_dict(),
            "expected": self.expected,
            "status": self.status,
            "message": self.message,
        }


def check_pair(pair: Pair, expected: str | None) -> Check:
    """pass / warn / fail of a pair: a declared parent-offspring or sibling pair that is not
    one fails; one individual as two samples fails; the parents of a child who look first
    degree fail (a swap is likelier than that), who look second or third degree warn
    (consanguinity is a clinical finding, not an error)."""
    inferred = pair.relation
    names = f"{pair.a} and {pair.b}"
    if inferred == "unknown":
        return Check(pair, expected, "not_assessable", f"{names}: too few shared genotyped sites")
    if inferred == "duplicate":
        return Check(
            pair,
            expected,
            "fail",
            f"{names} are one individual (kinship {pair.kinship:.3f}): a sample swap or the "
            "same sample twice",
        )
    if expected in ("parent-offspring", "full-siblings"):
        if inferred == expected:
            return Check(pair, expected, "pass", f"{names}: {expected}, as declared")
        return Check(
            pair,
            expected,
            "fail",
            f"{names} are declared {expected} but look {inferred} (kinship "
            f"{pair.kinship:.3f}, IBS0 {pair.ibs0:.3f}): check for a sample swap",
        )
    if expected == "unrelated" and inferred in ("parent-offspring", "full-siblings"):
        return Check(
            pair,
            expected,
            "fail",
            f"{names}, the parents of a child, look {inferred} (kinship {pair.kinship:.3f}): "
            "check for a sample swap",
        )
    if expected == "unrelated" and inferred != "unrelated":
        return Check(
            pair,
            expected,
            "warn",
            f"{names}, the parents of a child, look {inferred} (kinship {pair.kinship:.3f}): "
            "consanguinity?",
        )
    return Check(pair, expected, "pass", f"{names}: {inferred}")


def check_family(pedigree: Pedigree, pairs: Iterable[Pair]) -> list[Check]:
    return [check_pair(p, pedigree.expected(p.a, p.b)) for p in pairs]


def sample_verdict(sample_id: str, checks: Sequence[Check]) -> dict[str, Any]:
    """A sample's identity result (results/identity/<sample>.json, read by the QC gate):
    `pedigree_check` is "consistent", "inconsistent" or None (nothing to check)."""
    own = [c for c in checks if sample_id in (c.pair.a, c.pair.b)]
    assessed = [c for c in own if c.status != "not_assessable"]
    failed = [c for c in assessed if c.status == "fail"]
    value = None if not assessed else "inconsistent" if failed else "consistent"
    return {
        "sample_id": sample_id,
        "pedigree_check": value,
        "reason": "; ".join(c.message for c in (failed or own)) or "no relative in the run",
        "pairs": [c.as_dict() for c in own],
    }


# ---- trios: Mendelian errors, de novo candidates, inheritance ---------------------------------
@dataclass(frozen=True)
class TrioSettings:
    """config `family`."""

    min_depth: int = 10
    denovo_min_vaf: float = 0.25
    denovo_min_qual: float = 30.0


def read_mendelian(path: str | Path) -> dict[str, dict[str, Any]]:
    """bcftools +mendelian -m c counts per trio, by child: ok, errors, skipped, error rate."""
    trios: dict[str, dict[str, Any]] = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        ok, bad, skipped = (int(x) for x in fields[:3])
        mother, father, child = fields[3].split(",")
        trios[child] = {
            "father": father,
            "mother": mother,
            "consistent_sites": ok,
            "mendelian_errors": bad,
            "skipped_sites": skipped,
            "mendelian_error_pct": round(100 * bad / (ok + bad), 3) if ok + bad else None,
        }
    return trios


@dataclass(frozen=True)
class TrioVariant:
    """A variant the child carries, with the parents' genotypes and how it was inherited."""

    chrom: str
    pos: int
    ref: str
    alt: str
    genotypes: tuple[str, str, str]  # child, father, mother ("0/1", "./.", ...)
    child_vaf: float | None
    qual: float | None
    pattern: str  # de_novo, paternal, maternal, both_parents, homozygous,
    #               mendelian_error, unknown; compound_heterozygous is set per gene later
    gene: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": f"{self.chrom}:{self.pos} {self.ref}>{self.alt}",
            "chrom": self.chrom,
            "pos": self.pos,
            "ref": self.ref,
            "alt": self.alt,
            "child": self.genotypes[0],
            "father": self.genotypes[1],
            "mother": self.genotypes[2],
            "child_vaf": None if self.child_vaf is None else round(self.child_vaf, 3),
            "qual": None if self.qual is None else round(self.qual, 1),
            "pattern": self.pattern,
            "gene": self.gene,
        }


def _alt_count(gt: Sequence[int | bool]) -> int | None:
    alleles = [a for a in gt[:-1] if a is not None]  # cyvcf2: [a, b, phased]
    if len(alleles) < 2 or any(a < 0 for a in alleles):
        return None
    return sum(1 for a in alleles if a > 0)


def inheritance_pattern(child: int, father: int | None, mother: int | None) -> str:
    """How a child's alt allele count (1 or 2) came about from the parents' (None: no call)."""
    if father is None or mother is None:
        return "unknown"
    if child == 1:
        if father == 0 and mother == 0:
            return "de_novo"
        if father > 0 and mother == 0:
            return "paternal"
        if mother > 0 and father == 0:
            return "maternal"
        if father == 2 and mother == 2:
            return "mendelian_error"
        return "both_parents"
    if father > 0 and mother > 0:
        return "homozygous"  # an allele from each parent (as in a recessive condition)
    return "mendelian_error"  # hom-alt with a hom-ref parent: a deletion, UPD or error


def trio_variants(
    vcf: str | Path,
    trio: Trio,
    settings: TrioSettings,
    genes: Sequence[tuple[str, int, int, str]] = (),
) -> list[TrioVariant]:
    """The child's variants (alt allele called, depth >= min_depth in all three) with their
    inheritance; de novo needs both parents hom-ref at depth, QUAL and the child's allele
    fraction at least the settings'. `genes`: (contig, start0, end, gene) to name each
    variant's gene; a gene with a paternal and a maternal heterozygous variant makes both
    compound_heterozygous."""
    from cyvcf2 import VCF

    reader = VCF(str(vcf))
    index = {s: i for i, s in enumerate(reader.samples)}
    ci, fi, mi = index[trio.child], index[trio.father], index[trio.mother]
    has_ad = _has_format(reader, "AD")
    found: list[TrioVariant] = []
    for record in reader:
        if len(record.ALT) != 1 or record.ALT[0] in (".", "<*>", "*"):
            continue
        gts = record.genotypes
        child = _alt_count(gts[ci])
        if not child:
            continue
        depths = record.format("DP")
        if depths is None or min(int(depths[i][0]) for i in (ci, fi, mi)) < settings.min_depth:
            continue
        father, mother = _alt_count(gts[fi]), _alt_count(gts[mi])
        vaf = None
        if has_ad:
            ad = record.format("AD")
            if ad is not None and len(ad[ci]) >= 2 and ad[ci][0] >= 0 and ad[ci][1] >= 0:
                total = int(ad[ci][0]) + int(ad[ci][1])
                vaf = int(ad[ci][1]) / total if total else None
        qual = None if record.QUAL is None else float(record.QUAL)
        pattern = inheritance_pattern(child, father, mother)
        if pattern == "de_novo" and (
            (qual is not None and qual < settings.denovo_min_qual)
            or vaf is None
            or vaf < settings.denovo_min_vaf
        ):
            pattern = "unknown"  # a low-quality de novo call: not reported as one
        gene = next(
            (
                g
                for contig, start, end, g in genes
                if contig == record.CHROM and start < record.POS <= end
            ),
            None,
        )
        found.append(
            TrioVariant(
                record.CHROM,
                record.POS,
                record.REF,
                record.ALT[0],
                tuple(_gt_text(gts[i]) for i in (ci, fi, mi)),
                vaf,
                qual,
                pattern,
                gene,
            )
        )
    reader.close()
    return _compound_heterozygous(found)


def _gt_text(gt: Sequence[int | bool]) -> str:
    alleles = ["." if a is None or a < 0 else str(a) for a in gt[:-1]]
    return ("|" if gt[-1] else "/").join(alleles)


def _compound_heterozygous(variants: list[TrioVariant]) -> list[TrioVariant]:
    by_gene: dict[str, set[str]] = {}
    for v in variants:
        if v.gene and v.genotypes[0] in ("0/1", "1/0", "0|1", "1|0"):
            by_gene.setdefault(v.gene, set()).add(v.pattern)
    compound = {g for g, patterns in by_gene.items() if {"paternal", "maternal"} <= patterns}
    return [
        TrioVariant(**{**v.__dict__, "pattern": "compound_heterozygous"})
        if v.gene in compound and v.pattern in ("paternal", "maternal")
        else v
        for v in variants
    ]


def trio_summary(
    trio: Trio,
    variants: Sequence[TrioVariant],
    mendelian: Mapping[str, Any] | None,
    dnm_flagged: Iterable[tuple[str, int]] = (),
) -> dict[str, Any]:
    """A trio's results for the family JSON and the proband's report: Mendelian errors, de
    novo candidates (both helgenom's filters and bcftools +trio-dnm2 agree), the variants in
    panel genes with their inheritance."""
    flagged = set(dnm_flagged)
    de_novo = [v for v in variants if v.pattern == "de_novo" and (v.chrom, v.pos) in flagged]
    counts: dict[str, int] = {}
    for v in variants:
        counts[v.pattern] = counts.get(v.pattern, 0) + 1
    return {
        "child": trio.child,
        "father": trio.father,
        "mother": trio.mother,
        "mendelian": dict(mendelian) if mendelian else None,
        "de_novo": [v.as_dict() for v in de_novo],
        "panel_variants": [v.as_dict() for v in variants if v.gene],
        "pattern_counts": dict(sorted(counts.items())),
    }


def read_dnm_flags(vcf: str | Path, child: str) -> list[tuple[str, int]]:
    """Sites bcftools +trio-dnm2 (--use-NAIVE, flag tag DNM) marks de novo in `child`."""
    from cyvcf2 import VCF

    reader = VCF(str(vcf))
    if child not in reader.samples:
        reader.close()
        return []
    index = reader.samples.index(child)
    flags = []
    for record in reader:
        values = record.format("DNM")
        if values is not None and int(values[index][0]) == 1:
            flags.append((record.CHROM, record.POS))
    reader.close()
    return flags


# ---- outputs --------------------------------------------------------------------------------
RELATEDNESS_COLUMNS = (
    "a", "b", "sites", "kinship", "ibs0", "ibs2", "relation", "expected", "status", "message",
)  # fmt: skip


def write_relatedness(checks: Sequence[Check], tsv: str | Path, mqc: str | Path) -> None:
    """The run's pairs as a TSV, and the same as a MultiQC custom-content table."""
    rows = [c.as_dict() for c in checks]

    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    Path(tsv).write_text(
        "\t".join(RELATEDNESS_COLUMNS)
        + "\n"
        + "".join("\t".join(cell(r[k]) for k in RELATEDNESS_COLUMNS) + "\n" for r in rows)
    )
    columns = ("sites", "kinship", "ibs0", "relation", "expected", "status")
    write_mqc_table(
        mqc,
        table_id="helgenom_relatedness",
        section_name="Relatedness",
        description="KING-robust kinship of every pair of samples from their merged gVCFs (0.5 "
        "one individual, 0.25 first degree, 0.125 second, ~0 unrelated), the share of opposite "
        "homozygotes (IBS0: ~0 for parent and child), the relation inferred and the one "
        "declared in samples.tsv (helgenom.family)",
        columns=("pair", *columns),
        rows=([f"{r['a']} - {r['b']}", *(r[k] for k in columns)] for r in rows),
    )


def family_summary(
    pedigree: Pedigree,
    family: str,
    *,
    vcf: str | Path,
    pedigree_json: str | Path,
    mendelian_txt: str | Path | None,
    dnm_vcf: str | Path | None,
    panels: Mapping[str, Any],
    settings: TrioSettings,
) -> dict[str, Any]:
    """results/family/<family>.json: members, the pedigree check and each trio's results
    (the trio files are None for a family without a trio; `panels`: sample -> gene panel)."""
    from helgenom.fileio import read_json

    checked = read_json(pedigree_json)
    mendelian = read_mendelian(mendelian_txt) if mendelian_txt else {}
    trios = []
    for trio in pedigree.trios():
        if trio.family != family:
            continue
        panel = panels.get(trio.child)
        genes = [(i.contig, i.start, i.end, i.gene) for i in panel.intervals()] if panel else []
        variants = trio_variants(vcf, trio, settings, genes)
        flags = read_dnm_flags(dnm_vcf, trio.child) if dnm_vcf else []
        trios.append(trio_summary(trio, variants, mendelian.get(trio.child), flags))
    members = [
        {
            "sample_id": s,
            "father": pedigree.members[s].father,
            "mother": pedigree.members[s].mother,
            "sex": pedigree.members[s].sex,
            "affected": pedigree.members[s].affected,
            "pedigree_check": checked["verdicts"][s]["pedigree_check"],
        }
        for s in checked["members"]
    ]
    return {"family": family, "members": members, "pairs": checked["pairs"], "trios": trios}


def family_log(summary: Mapping[str, Any]) -> str:
    """One line per trio for the family_summary job's log."""
    return (
        "".join(
            f"{t['child']}: {len(t['de_novo'])} de novo candidates, Mendelian errors "
            f"{(t['mendelian'] or {}).get('mendelian_error_pct')} %\n"
            for t in summary["trios"]
        )
        or f"{summary['family']}: no trio\n"
    )


def write_family_mqc(summaries: Sequence[Mapping[str, Any]], out: str | Path) -> None:
    """MultiQC custom content: per trio the Mendelian error rate and de novo candidates."""
    columns = (
        "family", "father", "mother", "mendelian_error_pct", "mendelian_errors",
        "de_novo", "compound_heterozygous", "pedigree_check",
    )  # fmt: skip
    rows = []
    for summary in summaries:
        checks = {m["sample_id"]: m["pedigree_check"] for m in summary["members"]}
        for trio in summary["trios"]:
            mendel = trio["mendelian"] or {}
            rows.append(
                [
                    trio["child"],
                    summary["family"],
                    trio["father"],
                    trio["mother"],
                    mendel.get("mendelian_error_pct"),
                    mendel.get("mendelian_errors"),
                    len(trio["de_novo"]),
                    trio["pattern_counts"].get("compound_heterozygous", 0),
                    checks.get(trio["child"]),
                ]
            )
    write_mqc_table(
        out,
        table_id="helgenom_family",
        section_name="Families",
        description="Per trio (samples.tsv father/mother): Mendelian errors over the sites "
        "every member covers (bcftools +mendelian), de novo candidates (bcftools +trio-dnm2 with "
        "helgenom.family filters), compound heterozygous variants in the panel genes, and the "
        "pedigree check",
        columns=("child", *columns),
        rows=rows,
    )


def compare_trio(truth_tsv: str | Path, trio: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Planted (the demo's truth/<family>.trio.tsv) against found (a trio of the family JSON):
    per pattern (de_novo, compound_heterozygous) planted, found, and found but not planted."""
    lines = Path(truth_tsv).read_text().splitlines()
    header = lines[0].split("\t")
    planted: dict[str, set[tuple[str, int]]] = {"de_novo": set(), "compound_heterozygous": set()}
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=True))
        if row["pattern"] in planted:
            planted[row["pattern"]].add((row["chrom"], int(row["pos"])))
    found = {
        "de_novo": {(v["chrom"], v["pos"]) for v in trio["de_novo"]},
        "compound_heterozygous": {
            (v["chrom"], v["pos"])
            for v in trio["panel_variants"]
            if v["pattern"] == "compound_heterozygous"
        },
    }
    return {
        pattern: {
            "planted": len(planted[pattern]),
            "found": len(planted[pattern] & found[pattern]),
            "extra": len(found[pattern] - planted[pattern]),
        }
        for pattern in planted
    }


# ---- the report's family section --------------------------------------------------------------
def family_section(summary: Mapping[str, Any] | None, sample_id: str) -> dict[str, Any]:
    """The clinical report's `family` section for `sample_id` from its family JSON (None: no
    relative in the run). A trio's child gets the trio's results: Mendelian errors, the de
    novo candidates and the inheritance of its variants in the panel's genes (de novo
    candidates outside the panel are counted, not listed: the report is panel-scoped)."""
    if summary is None:
        return {
            "family": None,
            "role": None,
            "members": [],
            "pedigree_check": None,
            "pedigree_reason": "no relative in the run",
            "trio": None,
            "interpretation": "Not assessed: no relative of the sample is in this run",
        }
    members = summary["members"]
    me = next(m for m in members if m["sample_id"] == sample_id)
    parent_of = {m["sample_id"]: m for m in members if sample_id in (m["father"], m["mother"])}
    if me["father"] or me["mother"]:
        role = "child"
    elif parent_of:
        role = {"male": "father", "female": "mother"}.get(me["sex"], "parent")
    else:
        role = "member"
    own_pairs = [p for p in summary["pairs"] if sample_id in (p["a"], p["b"])]
    failed = [p["message"] for p in own_pairs if p["status"] == "fail"]
    reason = "; ".join(failed) or "; ".join(p["message"] for p in own_pairs)
    trio = next((t for t in summary["trios"] if t["child"] == sample_id), None)
    section: dict[str, Any] = {
        "family": summary["family"],
        "role": role,
        "members": [
            {k: m[k] for k in ("sample_id", "father", "mother", "sex", "affected")} for m in members
        ],
        "pedigree_check": me["pedigree_check"],
        "pedigree_reason": reason or "no relative assessed",
        "trio": None,
    }
    if me["pedigree_check"] == "inconsistent":
        section["interpretation"] = (
            "The genotypes contradict the declared relations (a sample swap?): family results "
            "are withheld until the identity of the samples is resolved"
        )
        return section
    if trio is None:
        section["interpretation"] = (
            "Relations consistent with the genotypes"
            if me["pedigree_check"] == "consistent"
            else "Relations not assessable (too few shared genotyped sites)"
        )
        return section
    de_novo_panel = [v for v in trio["de_novo"] if v["gene"]]
    compound = [v for v in trio["panel_variants"] if v["pattern"] == "compound_heterozygous"]
    mendel = trio["mendelian"] or {}
    section["trio"] = {
        "father": trio["father"],
        "mother": trio["mother"],
        "mendelian_error_pct": mendel.get("mendelian_error_pct"),
        "mendelian_errors": mendel.get("mendelian_errors"),
        "consistent_sites": mendel.get("consistent_sites"),
        "de_novo_total": len(trio["de_novo"]),
        "de_novo": de_novo_panel,
        "compound_heterozygous_genes": sorted({v["gene"] for v in compound}),
        "panel_variants": trio["panel_variants"],
    }
    parts = [
        "Relations consistent with the genotypes"
        if me["pedigree_check"] == "consistent"
        else "Relations not assessable",
        f"{len(trio['de_novo'])} de novo candidate(s) genome-wide, "
        f"{len(de_novo_panel)} in the panel's genes",
    ]
    if section["trio"]["compound_heterozygous_genes"]:
        genes = ", ".join(section["trio"]["compound_heterozygous_genes"])
        parts.append(f"compound heterozygous in {genes}")
    if mendel.get("mendelian_error_pct") is not None:
        parts.append(f"Mendelian errors {mendel['mendelian_error_pct']:.2f} %")
    section["interpretation"] = "; ".join(parts)
    return section


INHERITANCE_LABELS = {
    "de_novo": "de novo",
    "paternal": "paternal",
    "maternal": "maternal",
    "compound_heterozygous": "compound heterozygous",
    "compound_heterozygous:paternal": "compound heterozygous (paternal)",
    "compound_heterozygous:maternal": "compound heterozygous (maternal)",
    "both_parents": "both parents carry it",
    "homozygous": "one allele from each parent",
    "mendelian_error": "Mendelian error",
    "unknown": "unknown",
}


def inheritance_of(section: Mapping[str, Any] | None) -> dict[tuple[str, int, str, str], str]:
    """(chrom, pos, ref, alt) -> inheritance pattern of the child's panel variants (the keys
    of INHERITANCE_LABELS), and for a compound heterozygous one its parent's side:
    "compound_heterozygous:paternal" or ":maternal"."""
    trio = (section or {}).get("trio")
    if not trio:
        return {}
    out = {}
    for v in trio["panel_variants"]:
        pattern = v["pattern"]
        if pattern == "compound_heterozygous":
            side = "paternal" if v["father"] not in ("0/0", "0|0") else "maternal"
            pattern = f"{pattern}:{side}"
        out[(v["chrom"], v["pos"], v["ref"], v["alt"])] = pattern
    return out
