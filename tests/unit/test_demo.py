"""Tests for the synthetic demo-data generator (helgenom.demo)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pysam
import pytest

from helgenom import cli, demo
from helgenom.demo import DEFAULT_SAMPLES, DemoData, DemoSample, generate_demo
from helgenom.fileio import atomic_paths

SMALL = {"genome_length": 40_000, "coverage": 3.0}


@pytest.fixture(scope="module")
def ref(demo_data: DemoData) -> dict[str, str]:
    """The nuclear contigs (the mitochondrial one has tests of its own)."""
    with pysam.FastaFile(str(demo_data.reference)) as fa:
        return {name: fa.fetch(name) for name in fa.references if name != demo.MITO_CONTIG}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _read_fastq(path: Path) -> Iterator[tuple[str, str, str, str]]:
    with gzip.open(path, "rt") as fh:
        while header := fh.readline().rstrip("\n"):
            seq = fh.readline().rstrip("\n")
            plus = fh.readline().rstrip("\n")
            qual = fh.readline().rstrip("\n")
            assert header.startswith("@") and plus == "+"
            name, comment = header[1:].split(" ", 1)
            yield name, comment, seq, qual


def _bed(path: Path) -> list[tuple[str, int, int]]:
    rows = []
    for line in path.read_text().splitlines():
        chrom, start, end = line.split("\t")[:3]
        rows.append((chrom, int(start), int(end)))
    return rows


def _records(vcf: Path) -> list[tuple[str, int, str, tuple[str, ...], tuple[int | None, ...]]]:
    with pysam.VariantFile(str(vcf)) as fh:
        sample = list(fh.header.samples)[0]
        return [
            (r.chrom, r.pos, r.ref, tuple(r.alts or ()), tuple(r.samples[sample]["GT"])) for r in fh
        ]


# --------------------------------------------------------------------------------------------
# determinism and file handling
# --------------------------------------------------------------------------------------------


def test_deterministic_same_seed_identical_bytes(tmp_path: Path) -> None:
    generate_demo(tmp_path / "a", seed=7, **SMALL)
    generate_demo(tmp_path / "b", seed=7, **SMALL)
    generate_demo(tmp_path / "c", seed=8, **SMALL)
    a, b, c = (_files(tmp_path / x) for x in "abc")
    assert a == b
    assert not any(name.startswith(".") or "/." in name for name in a), "temp files left over"
    assert a.keys() == c.keys()
    for name in ("reference/demo.fa", "truth/DEMO001.truth.vcf.gz"):
        assert a[name] != c[name]
    assert a["fastq/DEMO001_HDEMOXX1.1_R1.fastq.gz"] != c["fastq/DEMO001_HDEMOXX1.1_R1.fastq.gz"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    """The demo data are written through helgenom.fileio.atomic_paths: nothing half-written."""
    target = tmp_path / "sub" / "file.txt"
    with pytest.raises(RuntimeError), atomic_paths(target) as (tmp,):
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list((tmp_path / "sub").iterdir()) == []


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    rc = cli.main(
        ["demo-data", "--outdir", str(out), "--seed", "3", "--genome-length", "40000"]
        + ["--coverage", "1"]
    )
    assert rc == 0
    assert (out / "units.tsv").is_file() and (out / "reference" / "demo.fa.fai").is_file()
    with pytest.raises(SystemExit):
        cli.main(["demo-data", "--outdir", str(out), "--genome-length", "100"])


# --------------------------------------------------------------------------------------------
# reference
# --------------------------------------------------------------------------------------------


def test_reference_fasta(demo_data: DemoData, ref: dict[str, str]) -> None:
    with pysam.FastaFile(str(demo_data.reference)) as fa:
        assert list(fa.references) == ["demo1", "demo2", "chrM"]
        assert fa.get_reference_length("chrM") == demo.MITO_LENGTH
    assert list(ref) == ["demo1", "demo2"]
    assert sum(len(s) for s in ref.values()) == 250_000
    assert len(ref["demo1"]) == 150_000
    assert all(set(s) <= set("ACGT") for s in ref.values())
    lines = demo_data.reference.read_text().splitlines()
    seq_lines = [ln for ln in lines if not ln.startswith(">")]
    assert max(len(ln) for ln in seq_lines) == 60
    assert Path(str(demo_data.reference) + ".fai").is_file()


def test_gc_varies(ref: dict[str, str]) -> None:
    window = 2_000
    gcs = []
    for seq in ref.values():
        for i in range(0, len(seq) - window + 1, window):
            w = seq[i : i + window]
            gcs.append((w.count("G") + w.count("C")) / window)
    assert max(gcs) - min(gcs) >= 0.15
    assert min(gcs) > 0.3 and max(gcs) < 0.65


def test_repeats_planted(demo_data: DemoData, ref: dict[str, str]) -> None:
    # An STR (2-6 bp unit, >= 20 copies) is found directly in the sequence ...
    assert re.search(r"([ACGT]{2,6})\1{19,}", ref["demo1"] + "N" + ref["demo2"])
    # ... and every recorded repeat is what its name says.
    rows = [
        line.split("\t")
        for line in (demo_data.reference.parent / "demo.repeats.bed").read_text().splitlines()
    ]
    strs = [r for r in rows if r[3].startswith("STR:")]
    assert len(strs) >= 4
    for chrom, start, end, name in strs:
        unit, copies = name.removeprefix("STR:").split("x")
        assert 2 <= len(unit) <= 6 and 20 <= int(copies) <= 60
        assert ref[chrom][int(start) : int(end)] == unit * int(copies)
    segdups: dict[str, dict[str, str]] = {}
    for chrom, start, end, name in rows:
        if name.startswith("SEGDUP"):
            key, role = name.split(":")
            segdups.setdefault(key, {})[role] = ref[chrom][int(start) : int(end)]
    assert 2 <= len(segdups) <= 3
    for pair in segdups.values():
        src, copy = pair["source"], pair["copy"]
        assert len(src) == len(copy) and 1_000 <= len(src) <= 2_000
        diverged = sum(x != y for x, y in zip(src, copy, strict=True)) / len(src)
        assert 0.003 < diverged < 0.03


def test_confident_bed(demo_data: DemoData, ref: dict[str, str]) -> None:
    rows = _bed(demo_data.confident_bed)
    assert rows == sorted(rows, key=lambda r: (list(ref).index(r[0]), r[1]))
    repeats = _bed(demo_data.reference.parent / "demo.repeats.bed")
    for chrom, start, end in rows:
        assert 300 <= start < end <= len(ref[chrom]) - 300
        for rchrom, rstart, rend in repeats:
            if rchrom == chrom:
                assert end <= rstart - 150 or start >= rend + 150
    for chrom in ref:
        starts = [r for r in rows if r[0] == chrom]
        assert starts[0][1] == 300 and starts[-1][2] == len(ref[chrom]) - 300
    covered = sum(e - s for _, s, e in rows)
    assert 0.9 * 250_000 < covered < 250_000


# --------------------------------------------------------------------------------------------
# truth variants
# --------------------------------------------------------------------------------------------


def test_truth_vcf_valid(demo_data: DemoData, ref: dict[str, str]) -> None:
    assert set(demo_data.truth) == {"DEMO001", "DEMO002", "DEMO003", "DEMO004"}
    for sample_id, vcf in demo_data.truth.items():
        assert Path(str(vcf) + ".tbi").is_file()
        with pysam.VariantFile(str(vcf)) as fh:
            assert list(fh.header.samples) == [sample_id]
            assert {c: fh.header.contigs[c].length for c in fh.header.contigs} == {  # nuclear
                name: len(seq) for name, seq in ref.items()
            }
            assert "##fileformat=VCFv4.2" in str(fh.header)
            assert list(fh.fetch("demo2", 0, 1_000)) is not None  # tabix index works
        recs = _records(vcf)
        keys = [(list(ref).index(c), p) for c, p, *_ in recs]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        for chrom, pos, ref_allele, alts, _gt in recs:
            assert ref[chrom][pos - 1 : pos - 1 + len(ref_allele)] == ref_allele
            assert len(alts) == 1
            if len(alts[0]) != len(ref_allele):  # indel: REF and ALT share the anchor base
                assert alts[0][0] == ref_allele[0] and min(len(alts[0]), len(ref_allele)) == 1


def test_variant_mix_and_spacing(demo_data: DemoData, ref: dict[str, str]) -> None:
    confident = _bed(demo_data.confident_bed)
    per_sample = {}
    for sample_id, vcf in demo_data.truth.items():
        recs = _records(vcf)
        per_sample[sample_id] = {(c, p, r, a) for c, p, r, a, _ in recs}
        gts = {gt for *_, gt in recs}
        assert gts == {(0, 1), (1, 1)}
        # inside a planted run of homozygosity every variant is hom-alt; outside, a third
        roh = _bed(demo_data.roh[sample_id])
        inside = [r for r in recs if any(c == r[0] and s < r[1] <= e for c, s, e in roh)]
        assert all(gt == (1, 1) for *_, gt in inside)
        assert len(inside) > 30 if sample_id == "DEMO002" else not inside
        outside = [r for r in recs if r not in inside]
        n_hom = sum(gt == (1, 1) for *_, gt in outside)
        assert 0.2 < n_hom / len(outside) < 0.45
        kinds = {"snv": 0, "ins": 0, "del": 0}
        for chrom, pos, r, (a,), _ in recs:
            if len(r) == len(a) == 1:
                kinds["snv"] += 1
            else:
                kind = "ins" if len(a) > len(r) else "del"
                kinds[kind] += 1
                assert 1 <= abs(len(a) - len(r)) <= 10
                # no homopolymer run >= 6 around the indel, before or after
                i = pos - 1
                context = ref[chrom][i - 10 : i + len(r) + 10]
                edited = ref[chrom][i - 10 : i] + a + ref[chrom][i + len(r) : i + len(r) + 10]
                assert not re.search(r"(.)\1{5}", context) and not re.search(r"(.)\1{5}", edited)
        assert 150 < kinds["snv"] < 320
        assert kinds["ins"] >= 3 and kinds["del"] >= 3
        assert 15 < kinds["ins"] + kinds["del"] < 50
        previous: tuple[str, int] | None = None
        for chrom, pos, r, _alts, _gt in recs:
            start, end = pos - 1, pos - 1 + len(r)
            assert any(c == chrom and s <= start and end <= e for c, s, e in confident)
            if previous and previous[0] == chrom:
                assert start - previous[1] >= 30
            previous = (chrom, end)
    # drawn from one population: unrelated samples share common variants but differ
    a, b = per_sample["DEMO002"], per_sample["DEMO003"]
    assert a != b and 0.2 * len(a) < len(a & b) < 0.8 * len(a)


def test_haplotypes_apply_variants(demo_data: DemoData, ref: dict[str, str]) -> None:
    contigs = [demo._encode(s) for s in ref.values()]
    names = list(ref)
    variants = [
        demo._Variant(names.index(c), p - 1, r, a[0], (True, gt == (1, 1)))
        for c, p, r, a, gt in _records(demo_data.truth["DEMO001"])
    ]
    haps = demo._haplotypes(contigs, variants)
    for h in (0, 1):
        for ci, codes in enumerate(contigs):
            delta = sum(len(v.alt) - len(v.ref) for v in variants if v.contig == ci and v.haps[h])
            assert len(haps[h][ci]) == len(codes) + delta
    # a hom-alt SNV is present on both haplotypes at its (shifted) position
    snv = next(v for v in variants if v.genotype == "1/1" and v.kind == "snv" and v.contig == 0)
    for h in (0, 1):
        shift = sum(
            len(v.alt) - len(v.ref)
            for v in variants
            if v.contig == 0 and v.haps[h] and v.pos0 < snv.pos0
        )
        assert demo._decode(haps[h][0][snv.pos0 + shift : snv.pos0 + shift + 1]) == snv.alt


# --------------------------------------------------------------------------------------------
# reads
# --------------------------------------------------------------------------------------------


def test_sample_and_unit_sheets(demo_data: DemoData) -> None:
    samples = [ln.split("\t") for ln in demo_data.samples_tsv.read_text().splitlines()]
    assert samples[0] == [
        "sample_id",
        "sex",
        "priority",
        "indication",
        "family",
        "father",
        "mother",
        "affected",
    ]
    assert samples[1:] == [
        [s.sample_id, s.sex, s.priority, s.indication, s.family, s.father, s.mother, s.affected]
        for s in DEFAULT_SAMPLES
    ]
    assert samples[1][4:] == ["DEMOFAM1", "DEMO003", "DEMO004", "affected"]
    units = [ln.split("\t") for ln in demo_data.units_tsv.read_text().splitlines()]
    assert units[0] == ["sample_id", "unit_id", "fq1", "fq2", "platform", "library"]
    assert [(u[0], u[1]) for u in units[1:]] == [
        ("DEMO001", "HDEMOXX1.1"),
        ("DEMO001", "HDEMOXX1.2"),
        ("DEMO002", "HDEMOXX1.1"),
        ("DEMO003", "HDEMOXX1.1"),
        ("DEMO004", "HDEMOXX1.1"),
    ]
    for sample_id, unit_id, fq1, fq2, platform, library in units[1:]:
        assert fq1 == f"fastq/{sample_id}_{unit_id}_R1.fastq.gz"
        assert fq2 == f"fastq/{sample_id}_{unit_id}_R2.fastq.gz"
        assert (demo_data.units_tsv.parent / fq1).is_file() and (
            demo_data.units_tsv.parent / fq2
        ).is_file()
        assert platform == "ILLUMINA" and library == f"{sample_id}-LIB1"


def test_fastq_pairs_and_coverage(demo_data: DemoData) -> None:
    units = [ln.split("\t") for ln in demo_data.units_tsv.read_text().splitlines()[1:]]
    bases: dict[str, int] = {}
    all_names: set[str] = set()
    for sample_id, unit_id, fq1, fq2, *_ in units:
        r1 = list(_read_fastq(demo_data.outdir / fq1))
        r2 = list(_read_fastq(demo_data.outdir / fq2))
        assert len(r1) == len(r2) > 0
        lane = unit_id.split(".")[1]
        for (n1, c1, s1, q1), (n2, c2, s2, q2) in zip(r1, r2, strict=True):
            assert n1 == n2
            assert c1 == "1:N:0:1" and c2 == "2:N:0:1"
            assert len(s1) == len(q1) == len(s2) == len(q2) == 150
        assert r1[0][0] == f"{sample_id}:HDEMOXX1:{lane}:1"
        names = {r[0] for r in r1}
        assert len(names) == len(r1) and not names & all_names
        all_names |= names
        bases[sample_id] = bases.get(sample_id, 0) + sum(len(r[2]) * 2 for r in r1)
        quals = np.frombuffer("".join(r[3] for r in r1[:2000]).encode(), dtype=np.uint8) - 33
        assert quals.min() >= 2 and quals.max() <= 41 and np.median(quals) >= 30
    for sample_id, total in bases.items():
        # the nuclear genome at 30x, and chrM's reads at 20x that depth appended
        mito = 30.0 * demo.MITO_DEPTH_FACTOR * demo.MITO_LENGTH
        assert abs((total - mito) / 250_000 - 30.0) <= 3.0, sample_id


def test_mito_truth_and_heteroplasmic_reads(demo_data: DemoData) -> None:
    """Each sample's planted chrM SNVs (10, 50, 100% of the molecules) are in its truth TSV,
    on the reference base, and the reads that came from chrM carry them at that fraction."""
    with pysam.FastaFile(str(demo_data.reference)) as fa:
        mito = fa.fetch("chrM")
    positions = []
    for sample in DEFAULT_SAMPLES:
        planted = demo.read_mito_truth(demo_data.mito[sample.sample_id])
        assert sorted(af for *_, af in planted) == [0.1, 0.5, 1.0]
        for contig, pos, ref_base, alt, _ in planted:
            assert contig == "chrM" and mito[pos - 1] == ref_base != alt
            assert demo.MITO_END_MARGIN <= pos <= demo.MITO_LENGTH - demo.MITO_END_MARGIN
        positions.append({pos for _, pos, *_ in planted})
        molecules = demo._mito_molecules(
            demo._encode(mito), [demo.MitoVariant(p, r, a, af) for _, p, r, a, af in planted]
        )
        for _, pos, _, alt, af in planted:
            carried = sum(demo._decode(m[0][pos - 1 : pos]) == alt for m in molecules)
            assert carried / demo.MITO_MOLECULES == af
    assert not positions[0] & positions[1]  # each sample's own


def test_read_simulation_error_profile() -> None:
    rng = np.random.default_rng(1)
    genome = [
        [rng.integers(0, 4, 60_000).astype(np.uint8), rng.integers(0, 4, 40_000).astype(np.uint8)]
    ]
    haps = [genome[0], [c.copy() for c in genome[0]]]
    haps[1][0][100] = (haps[1][0][100] + 1) % 4
    n, length = 40_000, 150
    pairs = demo._simulate_pairs(np.random.default_rng(2), haps, n, length)
    assert 0.45 < pairs.swapped.mean() < 0.55 and 0.45 < pairs.hap.mean() < 0.55
    assert pairs.frag_len.min() >= 250 and pairs.frag_len.max() <= 700
    assert abs(pairs.frag_len.mean() - 400) < 5 and abs(pairs.frag_len.std() - 60) < 5

    # Rebuild the error-free reads from the recorded origin; errors are exactly the mismatches.
    cols = np.arange(length)
    fwd = np.empty((n, length), dtype=np.uint8)
    rev = np.empty((n, length), dtype=np.uint8)
    for i in range(n):
        seq = haps[pairs.hap[i]][pairs.contig[i]]
        start, frag = pairs.start[i], pairs.frag_len[i]
        fwd[i] = seq[start + cols]
        rev[i] = 3 - seq[start + frag - 1 - cols]
    true1 = np.where(pairs.swapped[:, None], rev, fwd)
    true2 = np.where(pairs.swapped[:, None], fwd, rev)
    assert np.array_equal(pairs.seq1 != true1, pairs.err1)
    assert np.array_equal(pairs.seq2 != true2, pairs.err2)

    err = np.concatenate([pairs.err1, pairs.err2])
    qual = np.concatenate([pairs.qual1, pairs.qual2])
    tail = qual[:, -1] <= 15
    assert 0.01 < tail.mean() < 0.1  # a few low-quality tails
    clean = err[~tail]
    assert clean[:, :10].mean() < 0.002  # ~0.1% at the start
    assert 0.006 < clean[:, -10:].mean() < 0.014  # ~1% at the end
    assert 0.002 < err.mean() < 0.01
    assert qual[err].max() <= 15  # errors always get low qualities
    assert np.median(qual[~err]) >= 30


def test_custom_samples_and_validation(tmp_path: Path) -> None:
    one = (DemoSample("X1", "routine", "unknown", "demo", 3, 9),)
    out = generate_demo(tmp_path / "x", samples=one, read_length=100, **SMALL)
    units = out.units_tsv.read_text().splitlines()[1:]
    assert [u.split("\t")[1] for u in units] == ["HDEMOXX1.1", "HDEMOXX1.2", "HDEMOXX1.3"]
    r1 = list(_read_fastq(out.outdir / "fastq" / "X1_HDEMOXX1.3_R1.fastq.gz"))
    assert {len(r[2]) for r in r1} == {100}
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "y", genome_length=1_000)
    with pytest.raises(ValueError):
        generate_demo(tmp_path / "y", samples=one + one, **SMALL)


def test_trio_truth_follows_the_parents(demo_data: DemoData) -> None:
    """DEMO001 is DEMO003 x DEMO004's child: each allele it carries comes from a parent who
    carries it, except the planted de novo SNVs (one in DEMOB); DEMOA holds a compound
    heterozygote (one paternal, one maternal allele)."""
    gts = {
        s: {(c, p, r, a[0]): sum(g) for c, p, r, a, g in _records(demo_data.truth[s])}
        for s in ("DEMO001", "DEMO003", "DEMO004")
    }
    lines = demo_data.trio["DEMOFAM1"].read_text().splitlines()
    assert lines[0].split("\t") == [
        "chrom",
        "pos",
        "ref",
        "alt",
        "child",
        "father",
        "mother",
        "pattern",
        "gene",
    ]
    rows = [ln.split("\t") for ln in lines[1:]]
    assert {(c, int(p), r, a) for c, p, r, a, *_ in rows} == set(gts["DEMO001"])
    patterns: dict[str, list[list[str]]] = {}
    for row in rows:
        key = (row[0], int(row[1]), row[2], row[3])
        child, father, mother = (int(x) for x in row[4:7])
        assert child == gts["DEMO001"][key]
        assert (father, mother) == (gts["DEMO003"].get(key, 0), gts["DEMO004"].get(key, 0))
        patterns.setdefault(row[7], []).append(row)
        if row[7] != "de_novo":  # an allele from each parent that carries one
            assert child <= (father > 0) + (mother > 0)
    assert [r[8] for r in patterns["de_novo"]].count("DEMOB") == 1
    assert len(patterns["de_novo"]) == 2
    assert all(r[5] == r[6] == "0" for r in patterns["de_novo"])
    compound = patterns["compound_heterozygous"]
    assert {r[8] for r in compound} == {"DEMOA"} and len(compound) >= 2
    assert {(r[5] != "0", r[6] != "0") for r in compound} == {(True, False), (False, True)}
    assert {"paternal", "maternal", "both_parents"} <= set(patterns)
