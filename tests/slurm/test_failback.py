"""Failing back, the runbook's drill on small data, on the second two-site bed
(scripts/slurm/twosite.sh with HELGENOM_TWOSITE_BED=b): it runs at the same time as the
killed-primary drill of tests/slurm/test_failover.py on the first bed."""

from __future__ import annotations

from pathlib import Path

from helgenom import rundir
from helgenom.testing import write_run_dir
from slurm_helpers import (  # noqa: F401 (two_sites: the fixture)
    FAST_POLLING,
    WATCHDOG_ARGS,
    BedSite,
    helgenom_process,
    site_env,
    stop_when,
    two_sites,
    vcf_records,
)
from workflow_helpers import snakemake

# The second bed, on a worker of its own: its tests run one after the other (the watchdog's
# take sites down), next to the first bed's.
TWOSITE_BED = "b"
XDIST_GROUP = "slurm-twosite-b"


def test_failing_back_mid_run_completes_on_the_primary(
    two_sites: dict[str, BedSite],  # noqa: F811
    tmp_path: Path,
) -> None:
    """The runbook's "Failing back" as a drill on small data: the run moves from the primary
    to the passive site, is stopped there mid-run, is replicated back over the primary's
    fenced copy and failed back; it completes on the primary with the results of an
    uninterrupted run, and the passive site's copy is fenced."""
    from helgenom.demo import generate_demo

    primary, passive = two_sites["computerome"], two_sites["genomedk"]
    if not primary.health().healthy:
        primary.restart()
    data = generate_demo(tmp_path / "demo", genome_length=60_000, coverage=8)
    fastq = data.outdir / "fastq"
    samples, units = [], []
    for sample, priority, demo in (("ROUT1", "routine", "DEMO002"), ("ACUTE1", "acute", "DEMO001")):
        samples.append(
            {"sample_id": sample, "sex": "female", "priority": priority, "indication": "x"}
        )
        units.append(
            {
                "sample_id": sample,
                "unit_id": "FC1.1",
                "platform": "ILLUMINA",
                "library": f"L-{sample}",
                "fq1": str(fastq / f"{demo}_HDEMOXX1.1_R1.fastq.gz"),
                "fq2": str(fastq / f"{demo}_HDEMOXX1.1_R2.fastq.gz"),
            }
        )
    runs = {}
    for name in ("baseline", "primary"):
        runs[name] = tmp_path / name
        write_run_dir(
            runs[name], samples=samples, units=units, reference=data.reference, build="demo"
        )
    snakemake(runs["baseline"])
    run_dir, copy = runs["primary"], tmp_path / "passive"
    db = "http://127.0.0.1:9"  # no export in this drill
    slow = ["--", *FAST_POLLING, "--jobs", "1"]

    # 1. The run starts on the primary; moved to the passive site after the first CRAM.
    first = helgenom_process(
        "run",
        "--site",
        "computerome",
        "--directory",
        str(run_dir),
        *WATCHDOG_ARGS,
        *slow,
        env=site_env(primary, db),
    )
    stop_when(first, run_dir / "results" / "qc" / "samtools" / "ACUTE1.stats.txt", "CRAM")
    rep = helgenom_process(
        "replicate", "--directory", str(run_dir), "--to", str(copy), env=site_env(primary, db)
    )
    assert rep.wait(timeout=300) == 0, rep.communicate()
    second = helgenom_process(
        "failover",
        "--to",
        "genomedk",
        "--directory",
        str(copy),
        "--primary-directory",
        str(run_dir),
        *WATCHDOG_ARGS,
        *slow,
        env=site_env(passive, db),
    )
    # 2. Failing back: stopped on the passive site mid-run (runbook step 1) ...
    stop_when(second, copy / "results" / "vcf" / "ACUTE1.vcf.gz.tbi", "acute VCF")
    assert not (copy / "results" / "vcf" / "ROUT1.vcf.gz.tbi").exists()
    lease = rundir.read_lease(copy)
    assert lease is not None and lease.token == "genomedk:2"
    # ... replicated from the passive site over the primary's fenced copy (step 2) ...
    rep = helgenom_process(
        "replicate", "--directory", str(copy), "--to", str(run_dir), env=site_env(passive, db)
    )
    out, err = rep.communicate(timeout=300)
    assert rep.returncode == 0, out + err
    # ... and failed over to the primary (step 3): it completes there.
    back = helgenom_process(
        "failover",
        "--to",
        "computerome",
        "--directory",
        str(run_dir),
        "--primary-directory",
        str(copy),
        *WATCHDOG_ARGS,
        *slow,
        env=site_env(primary, db),
    )
    out, err = back.communicate(timeout=1200)
    assert back.returncode == 0, err[-6000:]
    assert "lease: computerome:3 (was genomedk:2)" in err
    assert "fence written into the primary's run directory" in err
    assert "clinical scheduler failed" not in out + err

    for sample in ("ACUTE1", "ROUT1"):
        assert vcf_records(run_dir / f"results/vcf/{sample}.vcf.gz") == vcf_records(
            runs["baseline"] / f"results/vcf/{sample}.vcf.gz"
        )
    lease = rundir.read_lease(run_dir)
    assert lease is not None and lease.token == "computerome:3" and not lease.fenced
    fenced = rundir.read_lease(copy)
    assert fenced is not None and fenced.fenced and fenced.token == "computerome:3"
    # The passive site's copy, fenced now, runs nothing.
    again = helgenom_process(
        "run", "--site", "genomedk", "--directory", str(copy), env=site_env(passive, db)
    )
    _, err = again.communicate(timeout=300)
    assert again.returncode == 3 and "was fenced" in err
