"""helgenom.family: the declared pedigree (checked across samples.tsv rows), KING-robust
relatedness from genotypes, and the pedigree check that catches a sample swap in a trio."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from helgenom import family
from helgenom.family import Settings, check_pair, pair_stats, pedigree_problems
from helgenom.samplesheet import SampleSheetError, load_samplesheet

SETTINGS = Settings(min_depth=10, min_sites=100, po_max_ibs0=0.01)


# ---- simulated genotypes -----------------------------------------------------------------------
def _haplotypes(rng: random.Random, n: int, freq: float = 0.3) -> tuple[list[int], list[int]]:
    return (
        [int(rng.random() < freq) for _ in range(n)],
        [int(rng.random() < freq) for _ in range(n)],
    )


def _child(rng: random.Random, father: tuple[list[int], list[int]], mother: tuple) -> tuple:
    """One haplotype from each parent (free recombination between sites)."""
    return (
        [father[rng.randrange(2)][i] for i in range(len(father[0]))],
        [mother[rng.randrange(2)][i] for i in range(len(mother[0]))],
    )


def _gt(haps: tuple[list[int], list[int]]) -> list[int | None]:
    return [a + b for a, b in zip(*haps, strict=True)]


@pytest.fixture(scope="module")
def trio_genotypes() -> dict[str, list[int | None]]:
    rng = random.Random(14)
    n = 4000
    father, mother = _haplotypes(rng, n), _haplotypes(rng, n)
    child, sibling = _child(rng, father, mother), _child(rng, father, mother)
    return {
        "FATHER": _gt(father),
        "MOTHER": _gt(mother),
        "CHILD": _gt(child),
        "SIBLING": _gt(sibling),
        "STRANGER": _gt(_haplotypes(rng, n)),
    }


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("FATHER", "CHILD", "parent-offspring"),
        ("MOTHER", "CHILD", "parent-offspring"),
        ("CHILD", "SIBLING", "full-siblings"),
        ("FATHER", "MOTHER", "unrelated"),
        ("CHILD", "STRANGER", "unrelated"),
        ("CHILD", "CHILD", "duplicate"),
    ],
)
def test_relation_inferred_from_simulated_genotypes(
    trio_genotypes: dict[str, list[int | None]], a: str, b: str, relation: str
) -> None:
    pair = pair_stats(a, b, trio_genotypes[a], trio_genotypes[b], SETTINGS)
    assert pair.relation == relation, pair
    expected_kinship = {"duplicate": 0.5, "parent-offspring": 0.25, "full-siblings": 0.25}
    assert pair.kinship == pytest.approx(expected_kinship.get(relation, 0.0), abs=0.06)


def test_kinship_formula_on_counted_genotypes() -> None:
    # per 6 sites: 2 het/het, 1 opposite homozygote, 2 identical, hets: a 3, b 4 -> 0
    a = [1, 1, 1, 0, 2, 0] * 20
    b = [1, 1, 2, 2, 1, 1] * 20
    pair = pair_stats("a", "b", a, b, SETTINGS)
    assert pair.sites == 120
    assert pair.kinship == pytest.approx((40 - 2 * 20) / (60 + 80))
    assert pair.ibs0 == pytest.approx(20 / 120)
    assert pair.ibs2 == pytest.approx(40 / 120)


def test_missing_genotypes_and_too_few_sites() -> None:
    a = [1, None, 2] * 40
    b = [1, 1, None] * 40
    pair = pair_stats("a", "b", a, b, SETTINGS)
    assert pair.sites == 40 and pair.relation == "unknown" and pair.kinship is None
    assert check_pair(pair, "parent-offspring").status == "not_assessable"


# ---- the pedigree check --------------------------------------------------------------------------
def _pedigree(rows: list[dict[str, str]]) -> family.Pedigree:
    members = {
        r["sample_id"]: family.Member(
            r["sample_id"],
            r.get("family") or None,
            r.get("father") or None,
            r.get("mother") or None,
            r.get("sex", "unknown"),
            r.get("affected", "unknown"),
        )
        for r in rows
    }
    return family.Pedigree(members)


TRIO = [
    {"sample_id": "P1", "family": "F1", "father": "F", "mother": "M", "affected": "affected"},
    {"sample_id": "F", "family": "F1", "sex": "male"},
    {"sample_id": "M", "family": "F1", "sex": "female"},
]


def test_pedigree_declarations() -> None:
    ped = _pedigree([*TRIO, {"sample_id": "S", "family": "F2"}])
    assert ped.families() == {"F1": ["P1", "F", "M"]}
    assert ped.family_of("S") is None
    assert ped.trios() == [family.Trio("P1", "F", "M", "F1")]
    assert ped.expected("P1", "F") == ped.expected("M", "P1") == "parent-offspring"
    assert ped.expected("F", "M") == "unrelated"
    # a CNV panel of normals: the others outside the family (a lone F2 member is unrelated)
    assert ped.unrelated("P1") == ped.unrelated("M") == ["S"]
    assert ped.unrelated("S") == ["P1", "F", "M"]
    assert _pedigree([{"sample_id": "A"}, {"sample_id": "B"}]).unrelated("A") == ["B"]
    assert ped.ped("F1").splitlines() == [
        "F1\tP1\tF\tM\t0\t2",
        "F1\tF\t0\t0\t1\t0",
        "F1\tM\t0\t0\t2\t0",
    ]


def test_a_swapped_parent_fails_the_child_and_the_parent(
    trio_genotypes: dict[str, list[int | None]],
) -> None:
    ped = _pedigree(TRIO)
    # The father's tube holds a stranger's DNA.
    genotypes = {
        "P1": trio_genotypes["CHILD"],
        "F": trio_genotypes["STRANGER"],
        "M": trio_genotypes["MOTHER"],
    }
    checks = family.check_family(ped, family.all_pairs(genotypes, SETTINGS))
    verdicts = {s: family.sample_verdict(s, checks) for s in genotypes}
    assert verdicts["P1"]["pedigree_check"] == "inconsistent"
    assert verdicts["F"]["pedigree_check"] == "inconsistent"
    assert verdicts["M"]["pedigree_check"] == "consistent"
    assert "P1 and F are declared parent-offspring but look unrelated" in verdicts["F"]["reason"]

    genotypes["F"] = trio_genotypes["FATHER"]
    checks = family.check_family(ped, family.all_pairs(genotypes, SETTINGS))
    assert {family.sample_verdict(s, checks)["pedigree_check"] for s in genotypes} == {"consistent"}


def test_child_and_parent_swapped_fails() -> None:
    """Proband and father swapped: the real father (labelled the child) and the mother look
    unrelated, declared parent-offspring: a failure; the real child (labelled the father) and
    the mother look parent-offspring, declared the child's parents: a failure too."""
    rng = random.Random(3)
    father, mother = _haplotypes(rng, 3000), _haplotypes(rng, 3000)
    child = _child(rng, father, mother)
    genotypes = {"P1": _gt(father), "F": _gt(child), "M": _gt(mother)}
    checks = family.check_family(_pedigree(TRIO), family.all_pairs(genotypes, SETTINGS))
    by_pair = {(c.pair.a, c.pair.b): c for c in checks}
    assert by_pair[("P1", "M")].status == "fail"
    assert by_pair[("F", "M")].status == "fail"
    assert by_pair[("P1", "F")].status == "pass"
    assert family.sample_verdict("P1", checks)["pedigree_check"] == "inconsistent"


def test_related_parents_warn() -> None:
    pair = family.Pair("F", "M", 500, 0.07, 0.02, 0.6, "third-degree")
    check = check_pair(pair, "unrelated")
    assert check.status == "warn" and "consanguinity" in check.message


def test_one_individual_twice_fails_both(trio_genotypes: dict[str, list[int | None]]) -> None:
    pair = pair_stats("A", "B", trio_genotypes["CHILD"], trio_genotypes["CHILD"], SETTINGS)
    check = check_pair(pair, None)
    assert check.status == "fail" and "one individual" in check.message


def test_no_relative_in_the_run_is_not_assessable() -> None:
    verdict = family.sample_verdict("S", [])
    assert verdict["pedigree_check"] is None and verdict["reason"] == "no relative in the run"


# ---- the sample sheet's family columns -------------------------------------------------------
def _cells(**kw: str) -> dict[str, str]:
    return {"sex": "unknown", "family": "", "father": "", "mother": "", **kw}


@pytest.mark.parametrize(
    ("rows", "line", "column", "text"),
    [
        ([_cells(sample_id="C", family="F1", father="X")], 2, "father", "not a sample"),
        ([_cells(sample_id="C", family="F1", mother="C")], 2, "mother", "its own mother"),
        (
            [_cells(sample_id="C", father="D"), _cells(sample_id="D", sex="male")],
            2,
            "family",
            "names a father but no family",
        ),
        (
            [
                _cells(sample_id="C", family="F1", father="D"),
                _cells(sample_id="D", family="F2", sex="male"),
            ],
            2,
            "father",
            "is not in family 'F1'",
        ),
        (
            [
                _cells(sample_id="C", family="F1", mother="D"),
                _cells(sample_id="D", family="F1", sex="male"),
            ],
            2,
            "mother",
            "is declared male",
        ),
        (
            [
                _cells(sample_id="C", family="F1", father="D"),
                _cells(sample_id="D", family="F1", sex="male", father="C"),
            ],
            2,
            "father",
            "its own ancestor",
        ),
    ],
)
def test_pedigree_problems(rows: list[dict[str, str]], line: int, column: str, text: str) -> None:
    numbered = [(index + 2, cells) for index, cells in enumerate(rows)]
    problems = pedigree_problems(numbered)
    assert any(p.line == line and p.column == column and text in p.message for p in problems), (
        problems
    )


def test_a_good_trio_has_no_problems() -> None:
    rows = [
        _cells(sample_id="P1", family="F1", father="F", mother="M"),
        _cells(sample_id="F", family="F1", sex="male"),
        _cells(sample_id="M", family="F1", sex="female"),
    ]
    assert pedigree_problems([(i + 2, c) for i, c in enumerate(rows)]) == []


def test_sample_sheet_reports_family_problems_with_file_and_line(tmp_path: Path) -> None:
    samples = tmp_path / "samples.tsv"
    samples.write_text(
        "sample_id\tsex\tpriority\tindication\tfamily\tfather\tmother\taffected\n"
        "P1\tfemale\tacute\tepilepsy\tF1\tFA\tMO\taffected\n"
        "FA\tmale\tacute\tparent\tF1\t\t\tunaffected\n"
        "MO\tmale\tacute\tparent\tF1\t\t\tsick\n"
    )
    units = tmp_path / "units.tsv"
    units.write_text(
        "sample_id\tunit_id\tfq1\tfq2\tplatform\tlibrary\n"
        + "".join(
            f"{s}\tU1\t{s}_1.fq.gz\t{s}_2.fq.gz\tILLUMINA\tL{s}\n" for s in ("P1", "FA", "MO")
        )
    )
    with pytest.raises(SampleSheetError) as error:
        load_samplesheet(samples, units, check_fastq=False)
    text = str(error.value)
    assert f"{samples}:2: column 'mother': mother 'MO' is declared male on line 4" in text
    assert f"{samples}:4: column 'affected'" in text


def test_sample_sheet_family_columns_load(tmp_path: Path) -> None:
    samples = tmp_path / "samples.tsv"
    samples.write_text(
        "sample_id\tsex\tpriority\tindication\tfamily\tfather\tmother\taffected\n"
        "P1\tfemale\tacute\tepilepsy\tF1\tFA\tMO\taffected\n"
        "FA\tmale\tacute\tparent\tF1\t\t\tunaffected\n"
        "MO\tfemale\tacute\tparent\tF1\t\t\t\n"
        "S9\tmale\troutine\tataxia\t\t\t\t\n"
    )
    units = tmp_path / "units.tsv"
    units.write_text(
        "sample_id\tunit_id\tfq1\tfq2\tplatform\tlibrary\n"
        + "".join(
            f"{s}\tU1\t{s}_1.fq.gz\t{s}_2.fq.gz\tILLUMINA\tL{s}\n" for s in ("P1", "FA", "MO", "S9")
        )
    )
    ped = family.pedigree(load_samplesheet(samples, units, check_fastq=False))
    assert ped.trios() == [family.Trio("P1", "FA", "MO", "F1")]
    assert ped.members["MO"].affected == "unknown"
    assert ped.family_of("S9") is None
