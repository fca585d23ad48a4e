"""helgenom.rundir: the files of a run directory's state keep the formats earlier versions
wrote (golden texts below), so run directories replicated from an older site keep working."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from helgenom import rundir
from helgenom.rundir import Lease, OutputEntry

LEASE_JSON = """\
{
  "site": "computerome",
  "epoch": 2,
  "since": "2026-11-01T08:00:00Z",
  "history": [
    {
      "site": "genomedk",
      "epoch": 1,
      "since": "2026-10-30T08:00:00Z",
      "ended": "2026-11-01T08:00:00Z",
      "reason": "failover to computerome"
    }
  ],
  "fenced": true
}
"""
SHA_A, SHA_B = "a" * 64, "b" * 64
OUTPUTS_TSV = (
    "path\tsize\tmtime_ns\tsha256\trecorded\n"
    f"results/a.txt\t3\t100\t{SHA_A}\t2026-11-01T08:00:00Z\n"
    f"results/b.txt\t4\t200\t{SHA_B}\t2026-11-01T08:00:30Z\n"
    f"results/a.txt\t5\t300\t{SHA_B}\t2026-11-01T08:01:00Z\n"
    "results/b.txt\t4\t2"  # torn by a crash while appending
)
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_lease_file_format(tmp_path: Path) -> None:
    (tmp_path / ".helgenom").mkdir()
    (tmp_path / rundir.LEASE).write_text(LEASE_JSON)
    lease = rundir.read_lease(tmp_path)
    assert lease is not None and lease.token == "computerome:2" and lease.fenced
    assert lease.history[0]["reason"] == "failover to computerome"
    rundir.write_lease(tmp_path / "copy", lease)
    assert (tmp_path / "copy" / rundir.LEASE).read_text() == LEASE_JSON


def test_lease_without_fenced_field_is_not_fenced(tmp_path: Path) -> None:
    (tmp_path / ".helgenom").mkdir()
    older = '{"site": "genomedk", "epoch": 1, "since": "2026-10-30T08:00:00Z"}\n'
    (tmp_path / rundir.LEASE).write_text(older)
    assert rundir.read_lease(tmp_path) == Lease("genomedk", 1, "2026-10-30T08:00:00Z")
    assert rundir.read_lease(tmp_path / "elsewhere") is None


def test_run_start_and_id_file_format(tmp_path: Path) -> None:
    started = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    assert rundir.run_start(tmp_path, now=started) == started
    text = '{"started": "2026-11-01T08:00:00+00:00"}\n'
    assert (tmp_path / rundir.RUN_STATE).read_text() == text
    assert rundir.run_identifier(started) == "run-20261101T080000Z-79731b52"


def test_outputs_manifest_format(tmp_path: Path) -> None:
    (tmp_path / ".helgenom").mkdir()
    (tmp_path / rundir.OUTPUTS).write_text(OUTPUTS_TSV)
    assert rundir.read_outputs(tmp_path) == {  # the last entry of each path
        "results/a.txt": OutputEntry("results/a.txt", 5, 300, SHA_B),
        "results/b.txt": OutputEntry("results/b.txt", 4, 200, SHA_B),
    }
    fresh = tmp_path / "fresh"
    assert rundir.append_outputs(fresh, []) == 0
    assert not (fresh / rundir.OUTPUTS).exists()
    assert rundir.append_outputs(fresh, [OutputEntry("results/a.txt", 3, 100, SHA_A)]) == 1
    assert rundir.append_outputs(fresh, [OutputEntry("results/b.txt", 4, 200, SHA_B)]) == 1
    lines = (fresh / rundir.OUTPUTS).read_text().splitlines(keepends=True)
    assert lines[0] == "path\tsize\tmtime_ns\tsha256\trecorded\n"
    assert re.fullmatch(f"results/a.txt\t3\t100\t{SHA_A}\t{STAMP}\n", lines[1])
    assert re.fullmatch(f"results/b.txt\t4\t200\t{SHA_B}\t{STAMP}\n", lines[2])


def test_record_files_takes_known_digests_of_files_of_that_size(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.txt").write_text("abc")
    (tmp_path / "results" / "b.txt").write_text("changed")
    digests = {tmp_path / "results" / "a.txt": (3, SHA_A), "results/b.txt": (4, SHA_B)}
    assert rundir.record_files(tmp_path, digests) == 1  # b.txt is not the size given
    mtime = (tmp_path / "results" / "a.txt").stat().st_mtime_ns
    assert rundir.read_outputs(tmp_path) == {
        "results/a.txt": OutputEntry("results/a.txt", 3, mtime, SHA_A)
    }


def test_process_record_and_quarantine(tmp_path: Path) -> None:
    assert rundir.read_process(tmp_path) is None
    rundir.record_process(tmp_path, "computerome", 12, 34)
    record = rundir.read_process(tmp_path)
    assert record is not None
    assert set(record) == {"site", "host", "pid", "started", "snakemake_pgid"}
    assert (record["site"], record["pid"], record["snakemake_pgid"]) == ("computerome", 12, 34)
    assert not rundir.has_state(tmp_path / "results")
    assert rundir.has_state(tmp_path)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x.vcf.gz").write_bytes(b"half")
    target = rundir.quarantine(tmp_path, 2, "results/x.vcf.gz")
    assert target == tmp_path / ".helgenom" / "quarantine" / "2" / "results" / "x.vcf.gz"
    assert target.read_bytes() == b"half" and not (tmp_path / "results" / "x.vcf.gz").exists()
