"""The failover drill on the two-site test bed (two real Slurm clusters on one host,
scripts/slurm/twosite.sh): the GIAB run with an acute and a routine sample starts on the
primary (Computerome) under `helgenom run`; the primary's slurmctld, slurmd and slurmdbd (and
its job processes, as in a node outage) are killed by pid while a job writes; the watchdog
ends the run naming the site; the run is failed over from replicas of its run directory (with
and without .snakemake/) to the passive site (GenomeDK) and completes there with the results
of an uninterrupted run, the acute sample first, each sample deposited once; the primary,
back up, can no longer write into the run.
Failing back: tests/slurm/test_failback.py."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pysam
import pytest
import yaml

from genomedb.context import Context
from genomedb.service import embedded_database
from helgenom import failover, rundir
from helgenom.runs import snakemake_command
from helgenom.testing import GIAB_UNIT, write_run_dir
from slurm_helpers import (  # noqa: F401 (two_sites: the fixture)
    ACCOUNTS,
    FAST_POLLING,
    WATCHDOG_ARGS,
    BedSite,
    helgenom_process,
    site_env,
    two_sites,
    vcf_records,
)
from workflow_helpers import snakemake

# One worker runs the tests on the two-site test bed (scripts/slurm/twosite.sh) one by one:
# they share its queues and accounting, and some take a site down.
XDIST_GROUP = "slurm-twosite"

ACUTE, ROUTINE = "GIAB-A", "GIAB-R"


def _write_run(run_dir: Path, giab: Path, overrides: Path | None = None) -> None:
    """The GIAB reads as two samples: an acute newborn and a routine case (each with its own
    copy of the FASTQs next to the run directory: a FASTQ belongs to one unit)."""
    samples, units = [], []
    for sample, priority in ((ROUTINE, "routine"), (ACUTE, "acute")):
        reads = run_dir.parent / "reads" / sample
        if not reads.is_dir():
            reads.mkdir(parents=True)
            for name in ("NA12878_chr20_10mb_R1.fastq.gz", "NA12878_chr20_10mb_R2.fastq.gz"):
                shutil.copy2(giab / "reads" / name, reads / name)
        samples.append({
            "sample_id": sample, "sex": "female", "priority": priority,
            "indication": "validation: GIAB reference material",
        })  # fmt: skip
        units.append({
            "sample_id": sample, "unit_id": GIAB_UNIT,
            "fq1": str(reads / "NA12878_chr20_10mb_R1.fastq.gz"),
            "fq2": str(reads / "NA12878_chr20_10mb_R2.fastq.gz"),
            "platform": "ILLUMINA", "library": f"{sample}-PG",
        })  # fmt: skip
    extra: dict[str, Any] = {"qc": {"overrides": str(overrides)}} if overrides else {}
    write_run_dir(
        run_dir,
        samples=samples,
        units=units,
        reference=giab / "slice" / "chr20_9995001_11095000.fa",
        build="giab-slice",
        extra_config=extra,
    )


@pytest.fixture(scope="module")
def baseline(giab: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run (local), with QC overrides for the slice's coverage failures."""
    run_dir = tmp_path_factory.mktemp("baseline")
    _write_run(run_dir, giab)
    snakemake(run_dir)
    failed = json.loads((run_dir / f"results/qc/gate/{ACUTE}.json").read_text())["failed"]
    overrides = run_dir.parent / "overrides.tsv"
    overrides.write_text(
        "sample_id\tmetrics\twho\twhy\twhen\n"
        + "".join(
            f"{s}\t{','.join(failed)}\tvalidation.lead\tGIAB slice covers 100 kb\t2026-11-01\n"
            for s in (ACUTE, ROUTINE)
        )
    )
    _write_run(run_dir, giab, overrides)
    snakemake(run_dir)
    return run_dir


def _cram_content(run_dir: Path, sample: str) -> str:
    """SHA-256 over the CRAM's records (the content; the header's @PG lines name threads)."""
    digest = hashlib.sha256()
    reference = run_dir / "reference" / "giab-slice.fa"
    with pysam.AlignmentFile(
        str(run_dir / "results" / "cram" / f"{sample}.cram"), reference_filename=str(reference)
    ) as cram:
        for record in cram.fetch(until_eof=True):
            digest.update(record.to_string().encode() + b"\n")
    return digest.hexdigest()


def _report_content(run_dir: Path, sample: str) -> dict[str, Any]:
    report = json.loads((run_dir / "results" / "report" / f"{sample}.json").read_text())
    # Not compared: ids and times, the sample's received time (the run's start) and the
    # method (its parameters name the site).
    return {k: report[k] for k in ("answer", "qc", "panel", "variants", "variants_withheld")}


def _kill_site(site: BedSite) -> None:
    """A site outage: the site's job processes (slurmstepd and what it runs, as when the
    nodes die) and its slurmctld, slurmd and slurmdbd, killed by pid."""
    job_ids = _site_job_ids(site)
    markers = [f"SLURM_JOB_ID={i}".encode() for i in job_ids]
    victims = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        stepd = cmdline.startswith(b"slurmstepd:") and any(
            f"[{i}.".encode() in cmdline for i in job_ids
        )
        if stepd or any(m in environ for m in markers):
            victims.append(int(proc.name))
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    site.kill("slurmctld", "slurmd", "slurmdbd")


def _site_job_ids(site: BedSite) -> list[int]:
    out = site.run("squeue", "-h", "-o", "%i", check=False).stdout.split()
    return [int(x) for x in out if x.isdigit()]


def _deposits(home: Path) -> dict[str, int]:
    """Committed deposits per sample in the genome database."""
    from sqlalchemy import select

    from genomedb.catalog import deposits, samples

    ctx = Context.open(home)
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(samples.c.sample_id, deposits.c.version)
            .join(deposits, deposits.c.accession == samples.c.accession)
            .where(deposits.c.status == "committed")
        ).all()
    ctx.engine.dispose()
    counts: dict[str, int] = {}
    for sample_id, _ in rows:
        counts[sample_id] = counts.get(sample_id, 0) + 1
    return counts


@pytest.fixture(scope="module")
def killed_primary(
    baseline: Path,
    giab: Path,
    two_sites: dict[str, BedSite],  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Any]]:
    """The run started on the primary, the primary killed while a job writes, and two
    replicas of the run directory taken then (with and without .snakemake/)."""
    primary = two_sites["computerome"]
    root = tmp_path_factory.mktemp("failover")
    run_dir = root / "primary"
    _write_run(run_dir, giab, baseline.parent / "overrides.tsv")
    db_home = root / "genomedb"
    with embedded_database(db_home, department="giab-lab") as db:
        export = {
            "enabled": True,
            "token_file": str(db.token_file),
            "db_public_key": str(db.public_key),
            "register_sample": True,
        }
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        config["export"] = export
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        env = site_env(primary, db.url)
        run = helgenom_process(
            "run", "--site", "computerome", "--directory", str(run_dir), *WATCHDOG_ARGS,
            "--", *FAST_POLLING, "--jobs", "4", env=env,
        )  # fmt: skip
        try:
            # Wait for the first CRAM being written (it exists, Snakemake has not recorded it).
            deadline = time.monotonic() + 900
            crams = [run_dir / "results" / "cram" / f"{s}.cram" for s in (ACUTE, ROUTINE)]
            while not any(c.exists() and c.stat().st_size > 0 for c in crams):
                assert run.poll() is None, run.communicate()
                assert time.monotonic() < deadline, "no CRAM written on the primary"
                time.sleep(0.05)
            _kill_site(primary)
            killed_at = time.monotonic()
            _, stderr = run.communicate(timeout=300)
            waited = time.monotonic() - killed_at
        finally:
            if run.poll() is None:
                run.kill()
        replicas = {}
        for name, with_metadata in (("replica", True), ("replica-no-snakemake", False)):
            args = ["--directory", str(run_dir), "--to", str(root / name)]
            if not with_metadata:
                args.append("--without-snakemake-metadata")
            rep = helgenom_process("replicate", *args, env=env)
            out, err = rep.communicate(timeout=300)
            assert rep.returncode == 0, out + err
            replicas[name] = root / name
    deposited = _deposits(db_home)
    yield {
        "run_dir": run_dir,
        "returncode": run.returncode,
        "stderr": stderr,
        "waited": waited,
        "replicas": replicas,
        "db_home": db_home,
        "deposited_before": deposited,
        "root": root,
    }
    if not primary.health().healthy:  # the later tests need the bed up, whatever failed here
        primary.restart()


def test_watchdog_ends_the_primary_run_naming_the_site(killed_primary: dict[str, Any]) -> None:
    assert killed_primary["returncode"] == 75, killed_primary["stderr"][-3000:]
    stderr = killed_primary["stderr"]
    assert "computerome" in stderr and "helgenom failover --to genomedk" in stderr
    assert killed_primary["waited"] < 120
    # The first CRAM was not complete when the site died (no manifest entry).
    entries = rundir.read_outputs(killed_primary["run_dir"])
    assert not all(f"results/cram/{s}.cram" in entries for s in (ACUTE, ROUTINE))


@pytest.mark.parametrize("replica", ["replica", "replica-no-snakemake"])
def test_failover_completes_on_the_passive_site_like_an_uninterrupted_run(
    killed_primary: dict[str, Any],
    baseline: Path,
    two_sites: dict[str, BedSite],  # noqa: F811
    replica: str,
) -> None:
    passive = two_sites["genomedk"]
    run_dir = killed_primary["replicas"][replica]
    manifest = rundir.read_outputs(run_dir)
    unproven = [
        p.relative_to(run_dir).as_posix()
        for p in (run_dir / "results" / "cram").glob("*.cram")
        if p.relative_to(run_dir).as_posix() not in manifest
    ]
    assert unproven, "the replica should hold the CRAM being written when the primary died"

    # The primary died before its first export: each scenario deposits into a database of
    # its own (the deposit cut off by a failure: tests/test_failover.py).
    assert killed_primary["deposited_before"] == {}
    db_home = killed_primary["root"] / f"genomedb-{replica}"
    with embedded_database(db_home, department="giab-lab") as db:
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        config["export"]["token_file"] = str(db.token_file)
        config["export"]["db_public_key"] = str(db.public_key)
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        proc = helgenom_process(
            "failover", "--to", "genomedk", "--directory", str(run_dir),
            "--primary-directory", str(killed_primary["run_dir"]), *WATCHDOG_ARGS,
            "--", *FAST_POLLING, "--jobs", "1", env=site_env(passive, db.url),
        )  # fmt: skip
        out, err = proc.communicate(timeout=2400)
    assert proc.returncode == 0, err[-6000:]
    assert "clinical scheduler failed" not in out + err  # acute first by the scheduler
    assert "fence written into the primary's run directory" in err
    for path in unproven:
        assert f"not proven complete, made again: {path}" in err
        assert (run_dir / rundir.QUARANTINE / "2" / path).exists()  # kept aside
    lease = rundir.read_lease(run_dir)
    assert lease is not None and lease.token == "genomedk:2"
    status = subprocess.run(
        [sys.executable, "-m", "helgenom", "status", "--directory", str(run_dir)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "HELGENOM_GENOMEDB_URL": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert "site: genomedk since" in status.stdout, status.stderr
    assert "(fencing epoch 2; failed over from computerome)" in status.stdout

    # The results of an uninterrupted run.
    for sample in (ACUTE, ROUTINE):
        assert vcf_records(run_dir / f"results/vcf/{sample}.vcf.gz") == vcf_records(
            baseline / f"results/vcf/{sample}.vcf.gz"
        )
        assert _cram_content(run_dir, sample) == _cram_content(baseline, sample)
        assert _report_content(run_dir, sample) == _report_content(baseline, sample)

    # The acute sample first: its last output (the receipt) before the routine sample's.
    receipts = {s: run_dir / "results" / "export" / f"{s}.receipt.json" for s in (ACUTE, ROUTINE)}
    assert receipts[ACUTE].stat().st_mtime < receipts[ROUTINE].stat().st_mtime
    # The jobs ran on the passive site's cluster, with its account.
    jobs = passive.run("sacct", "-n", "-X", "-P", "-a", "-o", "JobID,Account", "-S", "now-1hours")
    assert ACCOUNTS["genomedk"] in jobs.stdout

    # Each sample is in the genome database once.
    assert _deposits(db_home) == {ACUTE: 1, ROUTINE: 1}
    for sample in (ACUTE, ROUTINE):
        receipt = json.loads(receipts[sample].read_text())
        assert receipt["version"] == 1


def test_a_primary_that_comes_back_cannot_write_into_the_run(
    killed_primary: dict[str, Any],
    two_sites: dict[str, BedSite],  # noqa: F811
) -> None:
    primary = two_sites["computerome"]
    primary.restart()
    run_dir = killed_primary["run_dir"]
    replica = killed_primary["replicas"]["replica"]
    # The operator's failover fenced the primary's run directory too.
    lease = failover.take_over(replica, "genomedk", "test")
    assert failover.fence(run_dir, lease)
    before = {p: p.stat().st_mtime_ns for p in (replica / "results").rglob("*") if p.is_file()}
    env = site_env(primary, "http://127.0.0.1:9")

    run = helgenom_process("run", "--site", "computerome", "--directory", str(run_dir), env=env)
    _, err = run.communicate(timeout=300)
    fenced = "was fenced when the run was failed over to genomedk"
    assert run.returncode == 3 and fenced in err

    # Snakemake started by hand with the primary's profile refuses too, before any job.
    cmd = snakemake_command(run_dir, *FAST_POLLING, cores=None, profile="profiles/computerome")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert fenced in proc.stdout + proc.stderr
    assert not _site_job_ids(primary)

    # Its replication job may not copy over the failed-over run.
    rep = helgenom_process("replicate", "--directory", str(run_dir), "--to", str(replica), env=env)
    _, err = rep.communicate(timeout=300)
    assert rep.returncode == 3 and fenced in err
    after = {p: p.stat().st_mtime_ns for p in (replica / "results").rglob("*") if p.is_file()}
    assert after == before
