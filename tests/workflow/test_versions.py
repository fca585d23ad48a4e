from __future__ import annotations

from pathlib import Path

import pytest

from helgenom.versions import env_pins, parse_version, tools_in_command, write_versions


@pytest.mark.parametrize(
    ("tool", "text", "version"),
    [
        ("bwa", "\nProgram: bwa\nVersion: 0.7.17-r1188\n", "0.7.17"),
        ("samtools", "samtools 1.16.1\nUsing htslib 1.16\n", "1.16.1"),
        ("bcftools", "bcftools 1.16\nUsing htslib 1.16\n", "1.16"),
        ("tabix", "tabix (htslib) 1.16\n", "1.16"),
        ("fastp", "fastp 0.23.2\n", "0.23.2"),
        ("mosdepth", "mosdepth 0.3.3\n", "0.3.3"),
        ("multiqc", "multiqc, version 1.14\n", "1.14"),
        ("multiqc", '{"config_version": "1.14", "x": 1}', "1.14"),
        ("minimap2", "2.24-r1122\n", "2.24"),
        ("delly", "Delly version: v1.1.6\n using Boost: v1.74.0\n", "1.1.6"),
        ("tiddit", "usage: tiddit-3.5.2 [--sv] [--cov]\n", "3.5.2"),
        (
            "survivor",
            "\nProgram: SURVIVOR (Tools for Structural Variations)\nVersion: 1.0.7\n",
            "1.0.7",
        ),
    ],
)
def test_parse_version(tool: str, text: str, version: str) -> None:
    assert parse_version(tool, text) == version


def test_tools_in_command() -> None:
    cmd = "(bwa mem -t 2 ref r1 r2 | samtools fixmate -m - - | samtools sort -o x) 2> log"
    assert tools_in_command(cmd) == {"bwa", "samtools"}
    assert tools_in_command("echo bwa.log > samtools_stats.txt") == set()


def test_env_pins(tmp_path: Path) -> None:
    env = tmp_path / "e.yaml"
    env.write_text(
        "channels: [bioconda]\ndependencies:\n  - bioconda::bwa=0.7.17\n  - htslib==1.16\n"
    )
    assert env_pins(env) == {"bwa": "0.7.17", "htslib": "1.16"}


def test_write_versions_names_unparseable_file(tmp_path: Path) -> None:
    good = tmp_path / "bwa.txt"
    good.write_text("Version: 0.7.17-r1188\n")
    bad = tmp_path / "fastp.txt"
    bad.write_text("command not found\n")
    out = tmp_path / "versions.yaml"
    assert write_versions({"bwa": good}, out) == {"bwa": "0.7.17"}
    with pytest.raises(ValueError, match="fastp.txt: cannot find the version of fastp"):
        write_versions({"bwa": good, "fastp": bad}, out)
