"""helgenom.fileio: atomic writes leave either the old or the complete new file, never a
part, and no temporary file; the mode is applied."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from helgenom import fileio
from helgenom.fileio import atomic_paths, atomic_write_bytes, atomic_write_text


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_writes_text_and_bytes_creating_the_folder(tmp_path: Path) -> None:
    text = atomic_write_text(tmp_path / "a" / "b" / "x.json", '{"ü": 1}\n')
    assert text == tmp_path / "a" / "b" / "x.json"
    assert text.read_bytes() == '{"ü": 1}\n'.encode()
    data = atomic_write_bytes(tmp_path / "y.bin", b"\x00\x01\xff")
    assert data.read_bytes() == b"\x00\x01\xff"
    assert atomic_write_text(tmp_path / "z.txt", "æ", encoding="latin-1").read_bytes() == b"\xe6"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "y.bin", "z.txt"]
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["x.json"]


def test_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "lease.json"
    target.write_text("old content, longer than the new\n")
    atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["lease.json"]


@pytest.mark.parametrize("failing", ["replace", "fsync", "write"])
def test_a_failure_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "run.json"
    target.write_text("old\n")
    seen: list[Path] = []

    def fail(*args: object, **kwargs: object) -> None:
        seen.extend(p for p in tmp_path.iterdir() if p != target)  # the temporary, written
        raise OSError(f"simulated {failing} failure")

    if failing == "write":  # the temporary file is open when writing fails
        monkeypatch.setattr(fileio.os, "fchmod", fail)
    else:
        monkeypatch.setattr(fileio.os, failing, fail)
    with pytest.raises(OSError, match=f"simulated {failing} failure"):
        atomic_write_text(target, "new\n", mode=0o644)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]
    assert len(seen) == 1 and seen[0].name.startswith(".run.json.")  # beside the target


def test_an_interrupt_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fileio.os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "new.bin", b"data")
    assert list(tmp_path.iterdir()) == []


def test_mode_is_applied_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        shared = atomic_write_text(tmp_path / "shared.txt", "x", mode=0o644)
        private = atomic_write_bytes(tmp_path / "private.key", b"k", mode=0o600)
    finally:
        os.umask(old)
    assert _mode(shared) == 0o644
    assert _mode(private) == 0o600
    target = tmp_path / "again.txt"
    target.write_text("old")
    target.chmod(0o644)
    assert _mode(atomic_write_text(target, "new", mode=0o400)) == 0o400


def test_without_mode_a_new_file_follows_the_umask(tmp_path: Path, umask_022: None) -> None:
    assert _mode(atomic_write_text(tmp_path / "a.txt", "x")) == 0o644
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(atomic_write_bytes(tmp_path / "b.bin", b"x")) == _mode(plain)


def test_atomic_paths_renames_every_file_on_success(tmp_path: Path) -> None:
    fasta, fai = tmp_path / "ref" / "demo.fa", tmp_path / "ref" / "demo.fa.fai"
    fasta.parent.mkdir()
    fasta.write_text("old")
    with atomic_paths(fasta, fai) as (tmp_fasta, tmp_fai):
        assert tmp_fasta.parent == fasta.parent and tmp_fasta != fasta
        tmp_fasta.write_text(">c\nACGT\n")
        tmp_fai.write_text("c\t4\t3\t4\t5\n")
        assert fasta.read_text() == "old"  # not yet
    assert fasta.read_text() == ">c\nACGT\n" and fai.read_text() == "c\t4\t3\t4\t5\n"
    assert sorted(p.name for p in fasta.parent.iterdir()) == ["demo.fa", "demo.fa.fai"]


def test_atomic_paths_renames_nothing_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "file.txt"
    with pytest.raises(RuntimeError), atomic_paths(target) as (tmp,):
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list((tmp_path / "sub").iterdir()) == []


def test_atomic_paths_renames_nothing_when_a_file_was_not_written(tmp_path: Path) -> None:
    first, second = tmp_path / "a.vcf.gz", tmp_path / "a.vcf.gz.tbi"
    with pytest.raises(FileNotFoundError), atomic_paths(first, second) as (tmp_first, _):
        tmp_first.write_text("written")
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_differ(tmp_path: Path) -> None:
    with atomic_paths(tmp_path / "x", tmp_path / "x") as (one, two):
        assert one != two
        one.write_text("1")
        two.write_text("2")
    assert (tmp_path / "x").read_text() == "2"


def test_write_mqc_table(tmp_path: Path) -> None:
    """MultiQC custom content: the YAML header (quotes doubled inside single quotes), the
    column names, one row per line, None as an empty cell; MultiQC's YAML reads the header."""
    import yaml

    from helgenom.fileio import write_mqc_table

    out = tmp_path / "x_mqc.tsv"
    write_mqc_table(
        out,
        table_id="helgenom_x",
        section_name="X (helgenom)",
        description="the sample's values",
        columns=["Sample", "a", "b"],
        rows=iter([["S1", 1, None], ["S2", "2.50", "no"]]),
    )
    text = out.read_text()
    header = yaml.safe_load("\n".join(ln[2:] for ln in text.splitlines() if ln.startswith("# ")))
    assert header == {
        "id": "helgenom_x",
        "section_name": "X (helgenom)",
        "description": "the sample's values",
        "plot_type": "table",
    }
    assert text.endswith("Sample\ta\tb\nS1\t1\t\nS2\t2.50\tno\n")
    assert not list(tmp_path.glob(".*")), "temporary file left over"
