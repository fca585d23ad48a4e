from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helgenom.config import ConfigError, validate_config

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
