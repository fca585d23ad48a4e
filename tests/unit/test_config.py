from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helgenom.config import ConfigError, check_validation, validate_config

REPO = Path(__file__).resolve().parents[2]


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


def _export_config(tmp_path: Path, export: str) -> tuple[dict, Path]:
    path = tmp_path / "config.yaml"
    path.write_text(
        "samples: s.tsv\nunits: u.tsv\nreference:\n  fasta: r.fa\n  build: GRCh38\n"
        "export:\n" + export
    )
    return validate_config(yaml.safe_load(path.read_text()), [path]), path


def test_export_settings_are_checked_before_any_job(tmp_path: Path) -> None:
    from helgenom.config import check_export

    # Disabled (the default): nothing to check.
    config, path = _export_config(tmp_path, "  enabled: false\n")
    check_export(config, [path], environ={})
    assert config["export"]["on_qc_fail"] == "skip"

    config, path = _export_config(
        tmp_path, "  enabled: true\n  token_file: nope.token\n  db_public_key: db.pub\n"
    )
    with pytest.raises(ConfigError) as error:
        check_export(config, [path], environ={})
    text = str(error.value)
    assert f"{path}:6: 'export.url': the export is enabled but no database URL" in text
    assert f"{path}:8: 'export.token_file': file nope.token does not exist" in text
    assert f"{path}:9: 'export.db_public_key': file db.pub does not exist" in text

    # An empty token file, a key file that is no crypt4gh key.
    token, key = tmp_path / "empty.token", tmp_path / "not.pub"
    token.write_text("\n")
    key.write_text("ssh-rsa AAAA nothing\n")
    config, path = _export_config(
        tmp_path,
        f"  enabled: true\n  url: https://genomedb.example\n  token_file: {token}\n"
        f"  db_public_key: {key}\n",
    )
    with pytest.raises(ConfigError) as error:
        check_export(config, [path], environ={})
    text = str(error.value)
    assert f"{token} is empty. Fix: put the token in it" in text
    assert "not a crypt4gh public key" in text and "Fix: give the database's crypt4gh" in text

    # Everything from the environment (the token itself never enters a file or argv).
    from genomedb_contract.crypto import generate_keypair

    generate_keypair(tmp_path / "db.sec", tmp_path / "db.pub", None)
    config, path = _export_config(tmp_path, "  enabled: true\n")
    check_export(
        config,
        [path],
        environ={
            "HELGENOM_GENOMEDB_URL": "https://genomedb.example",
            "HELGENOM_GENOMEDB_TOKEN": "secret",
            "HELGENOM_GENOMEDB_PUBLIC_KEY": str(tmp_path / "db.pub"),
        },
    )


def test_export_url_must_be_http(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="export.url"):
        _export_config(tmp_path, "  enabled: true\n  url: genomedb.example/api\n")
