"""QC overrides: the operator's file is validated with file, line, column and fix; personal
identifiers are rejected without being echoed; the config's QC keys are checked up front."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from helgenom.config import ConfigError, validate_config
from helgenom.qc.gate import METRICS, check_qc_config
from helgenom.qc.overrides import OverrideError, read_overrides

HEADER = "sample_id\tmetrics\twho\twhy\twhen\n"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SAMPLES = {"S1", "S2"}


def _read(tmp_path: Path, text: str):  # noqa: ANN202
    path = tmp_path / "overrides.tsv"
    path.write_text(text)
    return read_overrides(path, SAMPLES, list(METRICS), now=NOW)


def _problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(OverrideError) as info:
        _read(tmp_path, text)
    return str(info.value)


def test_valid_overrides(tmp_path: Path) -> None:
    overrides = _read(
        tmp_path,
        "# recorded by the lab\n" + HEADER
        + "S1\tmean_coverage, pct_ge_20x\tkbj\tpanel genes fully covered at 20x\t2026-11-25\n"
        + "S2\ttitv\tlab.lead@rh\tknown artefact of the kit, see deviation 12\t"
        "2026-11-26T09:30:00+01:00\n",
    )  # fmt: skip
    assert [o.sample_id for o in overrides] == ["S1", "S2"]
    assert overrides[0].metrics == ("mean_coverage", "pct_ge_20x")
    assert overrides[0].line == 3 and overrides[0].as_dict()["recorded_in"] == "overrides.tsv:3"
    assert overrides[1].who == "lab.lead@rh"


def test_every_problem_with_line_column_and_fix(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        HEADER
        + "S9\tmean_coverage\tkbj\tpanel genes fully covered\t2026-11-25\n"
        + "S1\tcoverage\tkbj\tpanel genes fully covered\t2026-11-25\n"
        + "S1\tmean_coverage\tK B J\twhy not\t25-11-2026\n"
        + "S2\ttitv\tkbj\tartefact of the kit\t2027-01-01\n"
        + "S2\ttitv\tkbj\tartefact of the kit\t2026-11-01\n"
        + "S2\ttitv\t\tartefact of the kit\t2026-11-01\n"
        + "S2\ttitv\tkbj\n",
    )  # fmt: skip
    path = tmp_path / "overrides.tsv"
    assert f"{path}:2: column 'sample_id': sample 'S9' is not in the sample sheet" in text
    assert f"{path}:3: column 'metrics': unknown metric(s) 'coverage'" in text
    assert f"{path}:4: column 'who': 'K B J' is not a staff user ID" in text
    assert f"{path}:4: column 'why': the reason is too short" in text
    assert f"{path}:4: column 'when': '25-11-2026' is not an ISO 8601 date" in text
    assert f"{path}:5: column 'when': 2027-01-01 lies in the future" in text
    assert (
        f"{path}:6: column 'metrics': metric 'titv' of sample 'S2' is already overridden on line 5"
        in text
    )
    assert f"{path}:7: column 'who': the value is empty" in text
    assert f"{path}:8: the row has 3 tab-separated fields but the header has 5" in text
    assert text.count("Fix:") == text.count("\n  - ")


def test_columns_are_fixed(tmp_path: Path) -> None:
    text = _problems(tmp_path, "sample_id\tmetrics\twho\twhy\twhen\tpatient_name\n")
    assert "unexpected column(s) patient_name" in text and "no other, possibly personal" in text
    text = _problems(tmp_path, "sample_id\tmetric\twho\twhy\twhen\n")
    assert "missing column(s) metrics" in text
    assert "the file is empty" in _problems(tmp_path, "# nothing\n")


def test_cpr_numbers_are_rejected_and_never_echoed(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        HEADER + "S1\tmean_coverage\tkbj\tpatient 010190-1234 re-sampled\t2026-11-25\n"
        "S1\tpct_ge_20x\t0101901234\tpanel genes fully covered\t2026-11-25\n",
    )
    assert "column 'why': the value looks like a CPR number" in text
    assert "column 'who': the value looks like a CPR number" in text
    assert "010190" not in text and "1234" not in text


def _config(tmp_path: Path, **qc: object) -> tuple[dict, Path]:
    path = tmp_path / "config.yaml"
    content = {"samples": "s", "units": "u", "reference": {"fasta": "r", "build": "b"}, "qc": qc}
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return validate_config(content, [path]), path


def test_check_qc_config(tmp_path: Path) -> None:
    config, path = _config(tmp_path, analysis="wgs_somatic")
    with pytest.raises(ConfigError) as info:
        check_qc_config(config, SAMPLES, [path])
    assert f"{path}:" in str(info.value)
    assert "'qc.analysis': no threshold set 'wgs_somatic'" in str(info.value)
    config, path = _config(tmp_path, overrides="missing.tsv", coverage_regions="missing.bed")
    with pytest.raises(ConfigError) as info:
        check_qc_config(config, SAMPLES, [path])
    assert "'qc.overrides': file missing.tsv does not exist" in str(info.value)
    assert "'qc.coverage_regions': file missing.bed does not exist" in str(info.value)
    overrides = tmp_path / "o.tsv"
    overrides.write_text(HEADER + "S1\tmean_coverage\tkbj\tpanel genes fully covered\t2026-11-25\n")
    config, path = _config(tmp_path, overrides=str(overrides))
    assert [o.sample_id for o in check_qc_config(config, SAMPLES, [path])] == ["S1"]
    overrides.write_text(HEADER + "S1\tsex_check\tkbj\tpanel genes fully covered\t2999-01-01\n")
    with pytest.raises(OverrideError, match="lies in the future"):
        check_qc_config(config, SAMPLES, [path])
