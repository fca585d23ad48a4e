"""helgenom.aligned and the aligned units of the sample sheet: real small BAM/CRAM files made
with pysam (headers, reference matching, read groups, the checks before any job, the input
record)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aligned_helpers import write_aligned, write_dict, write_fasta

from helgenom.aligned import (
    AlignedError,
    RefContig,
    aligned_unit_record,
    check_aligned_units,
    compare_contigs,
    contigs_from_dict,
    describe_input,
    input_record,
    read_aligned_header,
    read_group_ids,
    reference_contigs,
    reuse_header,
    write_input_mqc,
)
from helgenom.capacity.measure import read_sizes
from helgenom.samplesheet import SampleSheetError, load_samplesheet, read_group_fields

SAMPLES_TSV = "sample_id\tsex\tpriority\tindication\nS1\tfemale\troutine\tx\n"


@pytest.fixture
def ref(tmp_path: Path) -> Path:
    return write_fasta(tmp_path / "ref.fa", {"c1": 2000, "c2": 1500})


@pytest.fixture
def other_ref(tmp_path: Path) -> Path:
    """Another build: same names, c1 of another length."""
    return write_fasta(tmp_path / "other.fa", {"c1": 2100, "c2": 1500}, seed=2)


def _sheet(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[Path, Path]:
    header = list(rows[0])
    units = tmp_path / "units.tsv"
    units.write_text(
        "\n".join(["\t".join(header)] + ["\t".join(r[h] for h in header) for r in rows]) + "\n"
    )
    samples = tmp_path / "samples.tsv"
    samples.write_text(SAMPLES_TSV)
    return samples, units


def _unit(aligned: str, **extra: str) -> dict[str, str]:
    row = {"sample_id": "S1", "unit_id": "U1", "fq1": "", "fq2": "", "aligned": aligned,
           "platform": "ILLUMINA", "library": "L1", "aligned_reference": "",
           "aligned_sample": ""}  # fmt: skip
    return row | extra


def _config(ref: Path, tmp_path: Path, mode: str = "realign") -> dict[str, Any]:
    return {
        "reference": {"fasta": str(ref), "build": "b", "prep_dir": str(tmp_path / "prep")},
        "reanalysis": {"mode": mode},
    }


# ---- headers and references ----------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".bam", ".cram"])
def test_header_of_bam_and_cram(tmp_path: Path, ref: Path, suffix: str) -> None:
    path = write_aligned(
        tmp_path / f"x{suffix}", ref, {"rg1": "OLD1", "rg2": "OLD1", "rg3": "OLD2"}
    )
    header = read_aligned_header(path)
    assert header.format == suffix[1:].upper()
    assert [c.name for c in header.contigs] == ["c1", "c2"]
    assert header.contigs == tuple(contigs_from_dict(write_dict(ref)))  # names, lengths, M5
    assert header.samples == ["OLD1", "OLD2"]
    assert read_group_ids(header, "OLD1") == ["rg1", "rg2"]
    assert read_group_ids(header, None) == []
    assert header.programs == ("bwa",)


def test_truncated_and_foreign_files_are_refused(tmp_path: Path, ref: Path) -> None:
    bam = write_aligned(tmp_path / "x.bam", ref, {"rg1": "S"})
    cut = tmp_path / "cut.bam"
    cut.write_bytes(bam.read_bytes()[:-28])  # without the BGZF end-of-file block
    with pytest.raises(ValueError, match="cannot be read"):
        read_aligned_header(cut)
    text = tmp_path / "x.cram"
    text.write_text("@r1\nACGT\n+\nIIII\n")
    with pytest.raises(ValueError, match="not a CRAM or BAM"):
        read_aligned_header(text)


def test_reference_contigs_from_fasta_equal_samtools_dict(tmp_path: Path, ref: Path) -> None:
    from_fasta = reference_contigs(ref, tmp_path / "missing.dict")
    # samtools dict's M5: the MD5 of the upper-case sequence (the dict is now beside the FASTA)
    assert from_fasta == contigs_from_dict(write_dict(ref))
    assert reference_contigs(ref) == from_fasta


def test_compare_contigs_names_the_differences() -> None:
    ref = [RefContig("c1", 100, "a" * 32), RefContig("c2", 50, "b" * 32)]
    assert compare_contigs(ref, ref) == []
    assert compare_contigs([RefContig("c1", 100), RefContig("c2", 50)], ref) == []  # no M5
    assert compare_contigs([RefContig("c1", 101, None), ref[1]], ref) == [
        "c1 is 101 bp long, in the reference 100"
    ]
    assert "has M5" in compare_contigs([RefContig("c1", 100, "c" * 32), ref[1]], ref)[0]
    assert compare_contigs([ref[1], ref[0]], ref)[0] == (
        "@SQ 1 is 'c2', the reference's contig 1 is 'c1'"
    )
    assert compare_contigs(ref[:1], ref) == ["1 @SQ lines, the reference has 2 contigs"]


# ---- the sample sheet ----------------------------------------------------------------------
def test_sample_sheet_with_aligned_and_fastq_units(tmp_path: Path, ref: Path) -> None:
    cram = write_aligned(tmp_path / "old.cram", ref, {"rg1": "OLD"})
    fq = tmp_path / "r1.fq"
    fq2 = tmp_path / "r2.fq"
    fq.write_text("@a\nACGT\n+\nIIII\n")
    fq2.write_text("@a\nACGT\n+\nIIII\n")
    rows = [_unit("old.cram", aligned_sample="OLD"),
            _unit("", unit_id="U2", fq1="r1.fq", fq2="r2.fq")]  # fmt: skip
    samples = load_samplesheet(*_sheet(tmp_path, rows))
    aligned, fastq = samples["S1"].units
    assert aligned.aligned == cram and aligned.fq1 is None and aligned.aligned_sample == "OLD"
    assert fastq.aligned is None and fastq.fq1 == fq and fastq.aligned_sample is None


def test_an_aligned_only_sheet_needs_no_fastq_columns(tmp_path: Path, ref: Path) -> None:
    write_aligned(tmp_path / "old.bam", ref)
    row = {k: v for k, v in _unit("old.bam").items() if not k.startswith(("fq", "aligned_"))}
    samples = load_samplesheet(*_sheet(tmp_path, [row]))
    assert samples["S1"].units[0].aligned == tmp_path / "old.bam"


def test_sample_sheet_problems_of_aligned_units(tmp_path: Path, ref: Path) -> None:
    write_aligned(tmp_path / "ok.cram", ref)
    write_aligned(tmp_path / "noindex.bam", ref)
    (tmp_path / "noindex.bam.bai").unlink()
    (tmp_path / "ref2.fa").write_text(">c1\nACGT\n")
    rows = [
        _unit("ok.cram", fq1="a.fq"),  # line 2: both
        _unit("", unit_id="U2"),  # line 3: neither
        _unit("noindex.bam", unit_id="U3"),  # line 4
        _unit("missing.cram", unit_id="U4"),  # line 5
        _unit("reads.fastq.gz", unit_id="U5"),  # line 6
        _unit("ok.cram", unit_id="U6", aligned_reference="ref2.fa"),  # line 7: no .fai
        _unit("", unit_id="U7", fq1="a.fq", fq2="b.fq", aligned_sample="X"),  # line 8
        _unit("ok.cram", unit_id="U8", aligned_sample="bad name"),  # line 9
    ]
    with pytest.raises(SampleSheetError) as error:
        load_samplesheet(*_sheet(tmp_path, rows))
    found = {(p.line, p.column): f"{p.message}. Fix: {p.fix}" for p in error.value.problems}
    assert "both FASTQ files and an aligned file" in found[(2, "fq1")]
    assert "fq1 is empty and the unit has no aligned file" in found[(3, "fq1")]
    assert "no BAI/CSI (.bai/.csi) index" in found[(4, "aligned")]
    assert "samtools index" in found[(4, "aligned")]
    assert "missing.cram not found" in found[(5, "aligned")]
    assert (6, "aligned") in found
    assert "has no .fai index" in found[(7, "aligned_reference")]
    assert "only goes with an aligned CRAM/BAM" in found[(8, "aligned_sample")]
    assert (9, "aligned_sample") in found
    assert all(str(p).startswith(f"{tmp_path / 'units.tsv'}:") for p in error.value.problems)


# ---- the checks against the run ------------------------------------------------------------
def _samples(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[dict, Path]:
    samples_tsv, units_tsv = _sheet(tmp_path, rows)
    return load_samplesheet(samples_tsv, units_tsv), units_tsv


def test_reuse_needs_the_runs_reference(tmp_path: Path, ref: Path, other_ref: Path) -> None:
    write_aligned(tmp_path / "same.cram", ref)
    write_aligned(tmp_path / "other.bam", other_ref)
    samples, units_tsv = _samples(tmp_path, [_unit("same.cram"), _unit("other.bam", unit_id="U2")])
    with pytest.raises(AlignedError) as error:
        check_aligned_units(_config(ref, tmp_path, "reuse"), samples, units_tsv)
    (problem,) = error.value.problems
    assert problem.startswith(f"{units_tsv}:3: column 'aligned': ")
    assert "c1 is 2,100 bp long, in the reference 2,000" in problem
    assert "reanalysis.mode: realign" in problem
    # realign: a BAM of another build is fine (no reference needed to read it)
    headers = check_aligned_units(_config(ref, tmp_path), samples, units_tsv)
    assert set(headers) == {("S1", "U1"), ("S1", "U2")}


def test_a_cram_of_another_reference_needs_its_fasta(
    tmp_path: Path, ref: Path, other_ref: Path
) -> None:
    write_aligned(tmp_path / "other.cram", other_ref)
    samples, units_tsv = _samples(tmp_path, [_unit("other.cram")])
    with pytest.raises(AlignedError, match="column 'aligned_reference': the CRAM"):
        check_aligned_units(_config(ref, tmp_path), samples, units_tsv)
    samples, units_tsv = _samples(tmp_path, [_unit("other.cram", aligned_reference="other.fa")])
    assert check_aligned_units(_config(ref, tmp_path), samples, units_tsv)
    # the M5 tells builds apart when names and lengths agree
    same_shape = write_fasta(tmp_path / "shape.fa", {"c1": 2000, "c2": 1500}, seed=3)
    write_aligned(tmp_path / "shape.cram", same_shape)
    samples, units_tsv = _samples(tmp_path, [_unit("shape.cram")])
    with pytest.raises(AlignedError, match="c1 has M5"):
        check_aligned_units(_config(ref, tmp_path, "reuse"), samples, units_tsv)


def test_the_sample_of_a_multi_sample_file(tmp_path: Path, ref: Path) -> None:
    write_aligned(tmp_path / "two.bam", ref, {"a": "OLD1", "b": "OLD2"})
    samples, units_tsv = _samples(tmp_path, [_unit("two.bam")])
    with pytest.raises(AlignedError, match=r"reads of 2 samples \(OLD1, OLD2\)"):
        check_aligned_units(_config(ref, tmp_path), samples, units_tsv)
    samples, units_tsv = _samples(tmp_path, [_unit("two.bam", aligned_sample="OLD3")])
    with pytest.raises(AlignedError, match="no reads of sample 'OLD3'"):
        check_aligned_units(_config(ref, tmp_path), samples, units_tsv)
    samples, units_tsv = _samples(tmp_path, [_unit("two.bam", aligned_sample="OLD2")])
    headers = check_aligned_units(_config(ref, tmp_path), samples, units_tsv)
    assert read_group_ids(headers[("S1", "U1")], "OLD2") == ["b"]
    write_aligned(tmp_path / "quoted.bam", ref, {'a"b': "OLD1", "c": "OLD2"})
    samples, units_tsv = _samples(tmp_path, [_unit("quoted.bam", aligned_sample="OLD1")])
    with pytest.raises(AlignedError, match="cannot be selected safely"):
        check_aligned_units(_config(ref, tmp_path), samples, units_tsv)


def test_reuse_without_read_groups(tmp_path: Path, ref: Path) -> None:
    write_aligned(tmp_path / "norg.cram", ref, None)
    samples, units_tsv = _samples(tmp_path, [_unit("norg.cram")])
    assert check_aligned_units(_config(ref, tmp_path, "reuse"), samples, units_tsv)


# ---- the reused unit's header and the input record -----------------------------------------
def test_reuse_header_has_the_runs_sequences_and_one_read_group(tmp_path: Path, ref: Path) -> None:
    write_aligned(tmp_path / "x.bam", ref, {"old": "OLD"})
    samples, _ = _samples(tmp_path, [_unit("x.bam")])
    unit = samples["S1"].units[0]
    text = reuse_header(write_dict(ref), read_group_fields(unit))
    lines = text.splitlines()
    assert lines[0] == "@HD\tVN:1.6\tSO:coordinate"
    assert [line.split("\t")[1] for line in lines[1:3]] == ["SN:c1", "SN:c2"]
    assert lines[3] == "@RG\tID:S1.U1\tSM:S1\tPU:U1\tLB:L1\tPL:ILLUMINA"
    assert len(lines) == 4 and "OLD" not in text


def test_input_record_and_multiqc_table(tmp_path: Path, ref: Path) -> None:
    cram = write_aligned(tmp_path / "old.cram", ref, {"old": "OLD"})
    fq = tmp_path / "a.fq"
    fq.write_text("@a\nACGT\n+\nIIII\n")
    rows = [_unit("old.cram"), _unit("", unit_id="U2", fq1="a.fq", fq2="a2.fq")]
    (tmp_path / "a2.fq").write_text("@a\nACGT\n+\nIIII\n")
    samples, _ = _samples(tmp_path, rows)
    units = samples["S1"].units
    leftover = tmp_path / "singletons.fastq"
    leftover.write_text("@x\nAC\n+\nII\n@y\nAC\n+\nII\n")
    unit_record = aligned_unit_record(units[0], "realign", write_dict(ref), [leftover])
    assert unit_record["sha256"] == hashlib.sha256(cram.read_bytes()).hexdigest()
    assert unit_record["reference_match"] is True and unit_record["format"] == "CRAM"
    assert unit_record["previous_samples"] == ["OLD"] and unit_record["file"] == "old.cram"
    assert unit_record["unpaired_reads_dropped"] == 2
    record = input_record("S1", units, "realign", {"U1": unit_record})
    assert record["source"] == "mixed" and record["mode"] == "realign"
    assert record["units"][1] == {"unit_id": "U2", "source": "fastq", "fq1": "a.fq",
                                  "fq2": "a2.fq"}  # fmt: skip
    assert str(tmp_path) not in json.dumps(record)  # file names only, no site's folders
    assert describe_input(record).startswith("U1: CRAM old.cram (sha256 ")
    out = tmp_path / "input_mqc.tsv"
    write_input_mqc([record], out)
    assert out.read_text().splitlines()[-1] == "S1\tmixed\trealign\t2\t1\tyes\t2"
    header = yaml.safe_load("\n".join(line[2:] for line in out.read_text().splitlines()[:4]))
    assert header["id"] == "helgenom_input" and header["plot_type"] == "table"  # MultiQC reads it


def test_capacity_sizes_a_reused_sample_from_samtools_stats(tmp_path: Path) -> None:
    qc = tmp_path / "results" / "qc"
    (qc / "input").mkdir(parents=True)
    (qc / "samtools").mkdir()
    unit = {"unit_id": "U1", "source": "aligned", "mode": "reuse"}
    (qc / "input" / "S1.json").write_text(json.dumps({"units": [unit]}))
    (qc / "input" / "S2.json").write_text(json.dumps({"units": [{"source": "fastq"}]}))
    (qc / "samtools" / "S1.stats.txt").write_text(
        "SN\traw total sequences:\t1000\t# excluding supplementary and secondary reads\n"
        "SN\ttotal length:\t150000\t# ignores clipping\n"
    )
    (sizes,) = read_sizes(tmp_path).values()
    assert (sizes.sample, sizes.bases, sizes.read_pairs, sizes.units) == ("S1", 150000, 500, 1)
