from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helgenom.config import ConfigError, check_validation, validate_config

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_is_valid() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    checked = validate_config(config, [REPO / "config.yaml"])
    assert checked["alignment"]["aligner"] == "bwa"
    assert checked["calling"]["chunks"] >= 1


def test_defaults_are_filled() -> None:
    checked = validate_config(
        {"samples": "s.tsv", "units": "u.tsv", "reference": {"fasta": "r.fa", "build": "GRCh38"}}
    )
    assert checked["alignment"]["aligner"] == "bwa"
    assert checked["reference"]["prep_dir"] == "reference"
    assert checked["qc"]["coverage_thresholds"] == [10, 20, 30]


def test_errors_name_file_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "samples: s.tsv\n"
        "units: u.tsv\n"
        "reference:\n"
        "  fasta: r.fa\n"
        "  build: GRCh38\n"
        "alignment:\n"
        "  aligner: bowtie\n"
        "calling:\n"
        "  chunk: 4\n"
    )
    with pytest.raises(ConfigError) as info:
        validate_config(yaml.safe_load(path.read_text()), [path])
    text = str(info.value)
    assert "2 problem(s)" in text
    assert f"{path}:7: 'alignment.aligner': 'bowtie' is not one of ['bwa', 'minimap2']" in text
    assert f"{path}:8:" in text and "'chunk' was unexpected" in text
    assert "allowed keys here: call_extra, chunks" in text
    assert text.count("Fix:") == 2


def test_missing_required_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("samples: s.tsv\nunits: u.tsv\n")
    with pytest.raises(ConfigError, match=r"required key 'reference' is missing\. Fix: add it"):
        validate_config(yaml.safe_load(path.read_text()), [path])


def test_wrong_type(tmp_path: Path) -> None:
    config = {
        "samples": "s.tsv",
        "units": "u.tsv",
        "reference": {"fasta": "r.fa", "build": "GRCh38"},
        "calling": {"chunks": 0},
    }
    with pytest.raises(ConfigError, match=r"'calling.chunks': 0 is less than the minimum of 1"):
        validate_config(config)


def test_shipped_config_defaults_match_the_schema() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    shipped = validate_config(config)["calling"]
    defaults = validate_config(
        {"samples": "s", "units": "u", "reference": {"fasta": "r", "build": "b"}}
    )["calling"]
    assert shipped == defaults
    assert defaults["mode"] == "bcftools+freebayes" and defaults["gvcf"] is True


@pytest.mark.parametrize("extra", ["-m --variants-only", "-mv", "-m -g 10", "--gvcf 0,10"])
def test_call_extra_must_leave_variants_only_and_gvcf_to_the_workflow(extra: str) -> None:
    config = {
        "samples": "s",
        "units": "u",
        "reference": {"fasta": "r", "build": "b"},
        "calling": {"call_extra": extra},
    }
    with pytest.raises(ConfigError, match=r"'calling.call_extra': .* is not allowed here\. Fix:"):
        validate_config(config)


def _validation_config(tmp_path: Path, entry: dict[str, str]) -> tuple[dict, Path]:
    path = tmp_path / "config.yaml"
    config = {
        "samples": "samples.tsv",
        "units": "u.tsv",
        "reference": {"fasta": "r.fa", "build": "b"},
        "validation": {"NA12878": entry},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return validate_config(config, [path]), path


def test_validation_files_are_checked_with_the_config_key(tmp_path: Path) -> None:
    vcf, bed = tmp_path / "truth.vcf", tmp_path / "conf.bed"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    bed.write_text("chr1\t0\t100\n")
    checked, path = _validation_config(tmp_path, {"truth_vcf": str(vcf), "confident_bed": "x"})
    with pytest.raises(ConfigError) as info:
        check_validation(checked, {"S1"}, [path])
    text = str(info.value)
    assert "3 problem(s)" in text
    assert f"{path}:7: 'validation.NA12878': sample 'NA12878' is not in samples.tsv" in text
    assert f"{path}:8: 'validation.NA12878.truth_vcf': {vcf} has no sample column" in text
    assert f"{path}:9: 'validation.NA12878.confident_bed': file x does not exist" in text
    assert text.count("Fix:") == 3


def test_valid_truth_set_passes(tmp_path: Path, giab: Path) -> None:
    entry = {
        "truth_vcf": str(giab / "slice" / "truth_shifted.vcf.gz"),
        "confident_bed": str(giab / "slice" / "confident_shifted.bed"),
    }
    checked, path = _validation_config(tmp_path, entry)
    check_validation(checked, {"NA12878"}, [path])
    bad_bed = tmp_path / "bad.bed"
    bad_bed.write_text("chr1 0 100\n")
    checked, path = _validation_config(tmp_path, {**entry, "confident_bed": str(bad_bed)})
    with pytest.raises(ConfigError, match=r"line 1 is not 'contig<TAB>start<TAB>end'"):
        check_validation(checked, {"NA12878"}, [path])
