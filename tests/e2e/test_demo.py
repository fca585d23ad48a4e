"""End to end on the synthetic demo data: the README quick start, checked against its truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helgenom.demo import DEFAULT_SAMPLES, demo_paths
from helgenom.truth import compare

# The samples with a clinical report: DEMO003 and DEMO004, the parents of DEMO001, are sequenced
# for the trio analysis only (no gene panel for their indication: QC gate, no report).
REPORTED = ("DEMO001", "DEMO002")
PARENTS = ("DEMO003", "DEMO004")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "helgenom", "demo", "--directory", str(run_dir)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return run_dir, proc.stdout


@pytest.mark.parametrize("sample", [s.sample_id for s in DEFAULT_SAMPLES])
def test_demo_calls_match_planted_truth(demo_run: tuple[Path, str], sample: str) -> None:
    run_dir, _ = demo_run
    data = demo_paths(run_dir / "demo")
    result = compare(
        run_dir / "results" / "vcf" / f"{sample}.vcf.gz",
        data.truth[sample],
        data.reference,
        data.confident_bed,
    )
    for kind in ("snp", "indel"):
        counts = result.counts[kind]
        assert counts.tp > 15, (kind, counts)
        assert counts.recall >= 0.98, (kind, result.false_negatives)
        assert counts.precision >= 0.98, (kind, result.false_positives)
    total = result.total()
    assert total.genotype_match >= 0.98 * total.tp, result.genotype_mismatches


def test_demo_merges_two_lanes_and_reports(demo_run: tuple[Path, str]) -> None:
    run_dir, stdout = demo_run
    header = subprocess.run(
        ["samtools", "view", "-H", str(run_dir / "results" / "cram" / "DEMO001.cram")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert header.count("@RG\t") == 2  # both lanes merged before duplicate marking
    assert "calls compared with the planted truth" in stdout
    assert (run_dir / "results" / "qc" / "multiqc" / "multiqc_report.html").exists()


@pytest.mark.parametrize("sample", REPORTED)
def test_demo_samples_pass_the_qc_gate_and_get_a_report(
    demo_run: tuple[Path, str], sample: str
) -> None:
    import json

    run_dir, stdout = demo_run
    report = json.loads((run_dir / "results" / "report" / f"{sample}.json").read_text())
    # The demo's own, documented threshold set (resources/demo/config.yaml), every metric passes
    # or is not assessable (no sex chromosomes in the synthetic genome).
    assert report["analysis"]["type"] == "demo_synthetic"
    assert report["answer"]["category"] == "variants for interpretation"
    assert report["panel"]["id"] == "DEMO-SYNTH"
    for ext in ("html", "pdf", "fhir.json"):
        assert (run_dir / "results" / "report" / f"{sample}.{ext}").stat().st_size > 1000
    warned = [m["id"] for m in report["qc"]["metrics"] if m["status"] == "warn"]
    if demo_paths(run_dir / "demo").roh[sample].read_text():
        # DEMO002's planted run of homozygosity (a quarter of its genome, every variant in it
        # hom-alt) lowers its het/hom-alt ratio below the warning limit, as an isodisomy does;
        # its planted deletions (8 kb at CN0, 10 kb at CN1: 7% of the genome below 20x) bring
        # its bases at 20x or more below the warning limit (95%), as real deletions do.
        assert report["qc"]["status"] == "warn" and warned == ["pct_ge_20x", "het_hom_ratio"]
        assert f"{sample}    QC pass with warnings (pct_ge_20x, het_hom_ratio)" in stdout
    else:
        assert report["qc"]["status"] == "pass", report["qc"]["verdict"]
        assert f"{sample}    QC pass; variants for interpretation" in stdout


@pytest.mark.parametrize("sample", [s.sample_id for s in DEFAULT_SAMPLES])
def test_demo_runs_of_homozygosity_match_the_planted_ones(
    demo_run: tuple[Path, str], sample: str
) -> None:
    """bcftools roh finds DEMO002's planted 60 kb run of homozygosity (within the distance to
    the nearest heterozygous variant outside it) with a UPD hint in the summary, the MultiQC
    table, the report and its FHIR bundle; DEMO001 (none planted) has none."""
    import json

    run_dir, stdout = demo_run
    planted = [
        (c, int(s), int(e))
        for c, s, e in (
            line.split("\t")
            for line in demo_paths(run_dir / "demo").roh[sample].read_text().splitlines()
        )
    ]
    summary = json.loads((run_dir / "results" / "roh" / f"{sample}.roh.json").read_text())
    found = [(s["contig"], s["start"] - 1, s["end"]) for s in summary["segments"]]
    assert len(found) == len(planted)
    for (contig, start, end), (f_contig, f_start, f_end) in zip(planted, found, strict=True):
        assert f_contig == contig
        # bcftools roh ends a segment at the last hom-alt marker before a het one: within
        # ~5 kb of the planted ends at the demo's variant density (one in ~1 kb)
        assert abs(f_start - start) < 5000 and abs(f_end - end) < 5000, (found, planted)
    if sample in PARENTS:  # no report: the summary and the MultiQC table only
        assert summary["hints"] == [] and not planted
        return
    report = json.loads((run_dir / "results" / "report" / f"{sample}.json").read_text())
    fhir = json.loads((run_dir / "results" / "report" / f"{sample}.fhir.json").read_text())
    roh_obs = [
        e["resource"]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "roh"
    ]
    mqc = (run_dir / "results" / "qc" / "roh_mqc.tsv").read_text()
    html = (run_dir / "results" / "report" / f"{sample}.html").read_text()
    if planted:
        assert summary["hints"] == [f"upd:{planted[0][0]}"]
        assert report["roh"]["hints"] == summary["hints"]
        assert "consider uniparental isodisomy" in html
        assert [c["valueString"] for c in roh_obs[0]["component"]] == summary["hints"]
        assert f"{sample}\t1\t" in mqc and "upd:" in mqc
    else:
        assert summary["hints"] == [] and report["roh"]["total"]["segments"] == 0
        assert "No ROH pattern suggesting" in html
        assert roh_obs[0]["valueQuantity"]["value"] == 0
        assert f"{sample}\t0\t0.000\t0.00\t0.0\tnone" in mqc


@pytest.mark.parametrize("sample", [s.sample_id for s in DEFAULT_SAMPLES])
def test_demo_mitochondrial_heteroplasmy_matches_the_planted(
    demo_run: tuple[Path, str], sample: str
) -> None:
    """chrM is called apart, without a diploid assumption: the planted 10 %, 50 % and 100 %
    variants are reported at their fraction, classed heteroplasmic/homoplasmic, and nothing
    else reaches the heteroplasmy threshold; the nuclear VCF has no chrM record. Shown in the
    MultiQC table, the report (HTML, FHIR) and the deposit."""
    import json
    import math

    import pysam

    from helgenom.demo import read_mito_truth
    from helgenom.mito import compare_mito

    run_dir, stdout = demo_run
    data = demo_paths(run_dir / "demo")
    planted = read_mito_truth(data.mito[sample])
    summary = json.loads((run_dir / "results" / "mito" / f"{sample}.mito.json").read_text())
    assert summary["assessed"] and summary["contig"] == "chrM"
    assert 450 < summary["mean_depth"] < 750  # 20 x the nuclear 30x, less at the contig's ends
    matched, extra = compare_mito(planted, summary["variants"])
    assert extra == [], extra  # no false heteroplasmy at or above mito.min_af (3 %)
    found = {(v["pos"], v["alt"]): v for v in summary["variants"]}
    for (_, pos, _, alt, af), found_af in matched:
        assert found_af is not None, (pos, alt)
        # binomial sampling of the site's reads: 4 standard deviations (the data are
        # deterministic, so this is a bound on the simulation, not a flaky test)
        depth = found[(pos, alt)]["depth"]
        assert abs(found_af - af) <= 4 * math.sqrt(af * (1 - af) / depth) + 0.005, (pos, af)
        assert found[(pos, alt)]["class"] == ("homoplasmic" if af >= 0.95 else "heteroplasmic")
    assert summary["counts"] == {"reported": 3, "heteroplasmic": 2, "homoplasmic": 1}
    with pysam.VariantFile(str(run_dir / "results" / "mito" / f"{sample}.vcf.gz")) as vcf:
        passed = [r for r in vcf if "PASS" in r.filter]
    assert sorted((r.pos, r.alts[0]) for r in passed) == sorted((p[1], p[3]) for p in planted)
    with pysam.VariantFile(str(run_dir / "results" / "vcf" / f"{sample}.vcf.gz")) as vcf:
        assert not [r for r in vcf if r.chrom == "chrM"]  # not called as diploid
    mqc = (run_dir / "results" / "qc" / "mito_mqc.tsv").read_text()
    assert f"{sample}\tchrM\t{summary['mean_depth']:.1f}\t" in mqc and "\t3\t2\t1" in mqc
    receipt = json.loads((run_dir / "results" / "export" / f"{sample}.receipt.json").read_text())
    assert {"mito_vcf", "mito_vcf_tbi", "mito_summary", "roh_summary"} <= set(receipt["files"])
    assert "helgenom demo: mitochondrial variants, planted vs found" in stdout
    assert "(not planted)" not in stdout
    if sample in PARENTS:  # no report
        return
    report = json.loads((run_dir / "results" / "report" / f"{sample}.json").read_text())
    assert report["schema_version"] == "1.3" and report["mito"]["counts"] == summary["counts"]
    html = (run_dir / "results" / "report" / f"{sample}.html").read_text()
    assert "Mitochondrial variants" in html and "2 heteroplasmic, 1 homoplasmic" in html
    fhir = json.loads((run_dir / "results" / "report" / f"{sample}.fhir.json").read_text())
    obs = [
        e["resource"]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "mito-variants"
    ]
    assert obs[0]["valueQuantity"]["value"] == 3 and len(obs[0]["component"]) == 3


@pytest.mark.parametrize("sample", [s.sample_id for s in DEFAULT_SAMPLES])
def test_demo_structural_variants_match_the_planted_ones(
    demo_run: tuple[Path, str], sample: str
) -> None:
    """delly and TIDDIT (--skip_assembly) each find DEMO001's planted deletion, tandem
    duplication, inversion and translocation (truvari on the first three, breakpoints on the
    translocation) and nothing else, and so does their SURVIVOR merge, where each planted SV is
    made by both callers; the duplication and inversion touch the panel genes DEMOB and DEMOC,
    which the summary, the MultiQC table, the report and its FHIR bundle name. DEMO002's planted
    copy-number changes (two deletions, two tandem duplications) are found as SVs too, the
    deletion over DEMOA touching it. The samples without planted SVs have none."""
    import json

    from helgenom.sv import (
        SV_CALLER_OUTPUT,
        SvSettings,
        caller_calls,
        compare_sv,
        read_sv_calls,
        truvari_bench,
    )

    run_dir, stdout = demo_run
    truth_vcf = demo_paths(run_dir / "demo").sv[sample]
    calls_vcf = run_dir / "results" / "sv" / f"{sample}.vcf.gz"
    planted, calls = read_sv_calls(truth_vcf), read_sv_calls(calls_vcf)
    result = compare_sv(planted, calls)
    assert not result.missed and not result.extra, result
    for caller in ("delly", "tiddit"):  # the shipped default: both, merged
        own_vcf = run_dir / SV_CALLER_OUTPUT[caller].format(sample=sample)
        own = compare_sv(planted, caller_calls(own_vcf, caller, SvSettings((caller,), 50)))
        assert not own.missed and not own.extra, (caller, own)
        if planted:
            bench = truvari_bench(truth_vcf, own_vcf)
            assert bench is not None and (bench["recall"], bench["precision"]) == (1.0, 1.0)
            assert f"{sample:10} {caller:8} {len(planted):>7} " in stdout
    both = [c for c in calls if c.callers == ("delly", "tiddit")]
    for sv in planted:  # every planted SV has a call made by both callers
        assert compare_sv([sv], both).matched, (sv, calls)
    summary = json.loads((run_dir / "results" / "sv" / f"{sample}.sv.json").read_text())
    mqc = (run_dir / "results" / "qc" / "sv_mqc.tsv").read_text()
    if sample in PARENTS:  # none planted, no report
        assert calls == [] and summary["total"] == 0
        assert f"{sample}\t0\t0\t0\t0\t0\t0\t0" in mqc
        return
    report = json.loads((run_dir / "results" / "report" / f"{sample}.json").read_text())
    fhir = json.loads((run_dir / "results" / "report" / f"{sample}.fhir.json").read_text())
    (sv_obs,) = [
        e["resource"]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "sv"
    ]
    html = (run_dir / "results" / "report" / f"{sample}.html").read_text()
    assert report["sv"]["counts"] == summary["counts"]
    assert sv_obs["valueQuantity"]["value"] == summary["total"] == len(calls)
    if planted:
        bench = truvari_bench(truth_vcf, calls_vcf)
        assert bench is not None, "truvari (helgenom[test]) is not installed"
        assert bench["recall"] == 1.0 and bench["precision"] == 1.0, bench
        genes = {g: c["type"] for c in report["sv"]["panel_calls"] for g in c["genes"]}
    if planted and sample == "DEMO002":
        # DEMO002's planted copy-number changes are deletions and tandem duplications, which
        # delly finds as SVs too (test_demo_copy_number_variants_match_the_planted_ones)
        assert {t.svtype for t in planted} == {"DEL", "DUP"}
        assert genes == {"DEMOA": "DEL"}
        assert "touch panel genes (DEMOA)" in html
    elif planted:
        assert {t.svtype for t in planted} == {"DEL", "DUP", "INV", "BND"}
        assert genes == {"DEMOB": "DUP", "DEMOC": "INV"}
        panel_components = [c["valueString"] for c in sv_obs["component"] if "valueString" in c]
        assert any(v.startswith("DUP demo1:") and v.endswith(": DEMOB") for v in panel_components)
        assert "touch panel genes (DEMOB, DEMOC)" in html
        row = next(line for line in mqc.splitlines() if line.startswith(f"{sample}\t"))
        assert row.split("\t")[1:4] == ["1", "1", str(summary["counts"]["INV"])]
        merged_row = f"{sample:10} {'merged':8} {len(planted):>7} {len(calls):>5} {len(planted):>5}"
        assert f"{merged_row}   1.000     1.000  1.000, 1.000" in stdout
    else:
        assert calls == [] and summary["total"] == 0
        assert "No structural variant touches a panel gene" in html
        assert f"{sample}\t0\t0\t0\t0\t0\t0\t0" in mqc


@pytest.mark.parametrize("sample", [s.sample_id for s in DEFAULT_SAMPLES])
def test_demo_copy_number_variants_match_the_planted_ones(
    demo_run: tuple[Path, str], sample: str
) -> None:
    """cnvkit (1 kb bins, CBS, flat reference) finds each of DEMO002's planted copy-number
    changes (CN1, CN0, CN3, CN4; 8-12 kb) at its copy number, reciprocal overlap >= 0.9, and
    nothing else; DEMO001's SV deletion and duplication (2 and 4 kb) are below the bins'
    resolution (5 kb) and no false call is made there or anywhere. The summary, MultiQC table,
    report section 7, FHIR Observation, deposit and `helgenom demo` table agree."""
    import json

    from helgenom.cnv import compare_cnv, read_cnv_truth, read_cnv_vcf

    run_dir, stdout = demo_run
    truth = read_cnv_truth(demo_paths(run_dir / "demo").cnv[sample])
    calls = read_cnv_vcf(run_dir / "results" / "cnv" / f"{sample}.vcf.gz")
    summary = json.loads((run_dir / "results" / "cnv" / f"{sample}.cnv.json").read_text())
    settings = summary["settings"]
    assert summary["assessed"] and settings["reference"] == "flat"
    resolution = settings["bin_size"] * settings["min_bins"]
    result = compare_cnv(truth, calls, min_size=resolution, min_overlap=0.9)
    assert not result.extra, result.extra  # no false call
    for planted, call in result.found:
        assert call is not None, f"{planted} not found"
        assert call.copies == planted.copies, (planted, call)
    assert summary["total"] == len(calls) == len(result.found)
    mqc = (run_dir / "results" / "qc" / "cnv_mqc.tsv").read_text()
    receipt = json.loads((run_dir / "results" / "export" / f"{sample}.receipt.json").read_text())
    assert {"cnv_vcf", "cnv_vcf_tbi", "cnv_summary"} <= set(receipt["files"])
    assert "helgenom demo: copy-number variants, planted vs found" in stdout
    assert f"{sample:10} false calls: 0" in stdout
    if sample in PARENTS:  # none planted, no report
        assert calls == [] and result.found == [] and f"{sample}\tyes\t0\t0\t0\t0\t" in mqc
        return
    report = json.loads((run_dir / "results" / "report" / f"{sample}.json").read_text())
    html = (run_dir / "results" / "report" / f"{sample}.html").read_text()
    fhir = json.loads((run_dir / "results" / "report" / f"{sample}.fhir.json").read_text())
    (obs,) = [
        e["resource"]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "cnv"
    ]
    assert report["cnv"]["counts"] == summary["counts"]
    assert obs["valueQuantity"]["value"] == summary["total"]
    assert '<span class="num">7</span> Copy-number variants' in html
    if sample == "DEMO002":
        assert sorted(t.copies for t, _ in result.found) == [0, 1, 3, 4]
        assert [c["genes"] for c in report["cnv"]["panel_calls"]] == [["DEMOA"]]
        assert report["cnv"]["panel_calls"][0]["copy_number"] == 1
        assert [c["valueString"] for c in obs["component"] if "valueString" in c] == [
            "loss demo1:18001-28000 CN 1 (expected 2): DEMOA"
        ]
        assert f"{sample}\tyes\t2\t2\t4\t1\t" in mqc
        assert "overlap panel genes (DEMOA)" in html
        for t, c in result.found:
            assert c is not None
            line = f"{t.contig}:{t.start + 1:,}-{t.end:,} {t.copies:>3} {c.copies:>3}"
            assert line in stdout
    else:
        assert calls == [] and result.found == [] and len(result.below_resolution) == 2
        assert f"{sample}\tyes\t0\t0\t0\t0\t" in mqc
        assert "No copy-number variant overlaps a panel gene" in html


def test_demo_deposits_into_the_embedded_database(demo_run: tuple[Path, str]) -> None:
    """The quick start deposits every sample into its embedded (SQLite) genome database; a
    clinician of the department reads each VCF back byte-identical."""
    import json

    from genomedb import tokens
    from genomedb.context import Context
    from genomedb.service import embedded_database
    from genomedb_contract.crypto import generate_keypair, load_public_key

    run_dir, stdout = demo_run
    home = run_dir / "demo" / "genomedb"
    assert "helgenom demo: deposits in the national genome database" in stdout
    receipts = {}
    for sample in [s.sample_id for s in DEFAULT_SAMPLES]:
        path = run_dir / "results" / "export" / f"{sample}.receipt.json"
        receipt = json.loads(path.read_text())
        assert receipt["sample_id"] == sample and receipt["version"] == 1
        assert {"cram", "crai", "vcf", "vcf_tbi", "gvcf"} <= set(receipt["files"])
        assert ("report_pdf" in receipt["files"]) == (sample in REPORTED)
        assert f"{sample:10} {receipt['accession']} version 1" in stdout
        receipts[sample] = receipt
    assert len({r["accession"] for r in receipts.values()}) == len(DEFAULT_SAMPLES)

    ctx = Context.open(home)
    secret, public = home / "reader.sec", home / "reader.pub"
    generate_keypair(secret, public, None)
    with ctx.engine.begin() as conn:
        _, token = tokens.issue(
            conn,
            name="demo-clinician",
            role="clinician",
            department="demo-lab",
            public_key=load_public_key(public),
        )
    ctx.engine.dispose()
    (home / "clinician.token").write_text(token)
    with embedded_database(home, department="demo-lab") as db:
        for sample, receipt in receipts.items():
            out = run_dir / f"{sample}.back.vcf.gz"
            fetch = subprocess.run(
                [
                    sys.executable, "-m", "genomedb", "--home", str(home), "fetch",
                    "--url", db.url, "--token-file", str(home / "clinician.token"),
                    "--object-id", receipt["files"]["vcf"]["drs_id"],
                    "--secret-key", str(secret), "--db-public-key", str(db.public_key),
                    "--out", str(out),
                ],
                capture_output=True,
                text=True,
            )  # fmt: skip
            assert fetch.returncode == 0, fetch.stderr
            vcf = run_dir / "results" / "vcf" / f"{sample}.vcf.gz"
            assert out.read_bytes() == vcf.read_bytes()


def test_capacity_from_the_demo_and_giab_runs(
    demo_run: tuple[Path, str], giab_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`helgenom capacity` on the real benchmark files and outputs of the demo and GIAB runs:
    the figures are positive and consistent with what the runs measured."""
    import json

    from helgenom.capacity.measure import KINDS, measure_run
    from helgenom.cli import main

    run_dir, _ = demo_run
    out = tmp_path / "capacity.json"
    html = tmp_path / "capacity.html"
    assert (
        main(["capacity", str(run_dir), str(giab_run), "--json", str(out), "--html", str(html)])
        == 0
    )
    assert "Cores per year" in capsys.readouterr().out
    data = json.loads(out.read_text())
    runs = [measure_run(r) for r in (run_dir, giab_run)]
    assert {s for r in runs for s in r.samples} == {*REPORTED, *PARENTS, "NA12878"}
    assert all(r.cpu_s > 0 for r in runs)
    # A 30x genome costs more than everything these small runs did together.
    assert data["core_hours_per_wgs"] * 3600 >= sum(r.cpu_s for r in runs)
    projection = data["projection"]
    assert all(projection["cpu_s"][rule] > 0 for rule in ("fastp", "align_bwa", "call_chunk"))
    assert all(projection["stored"][kind] > 0 for kind in KINDS)
    # the CRAM of a 30x genome: more than the runs' CRAMs, less than 2 bytes per base
    crams = sum(
        f.stat().st_size
        for r in (run_dir, giab_run)
        for f in (r / "results" / "cram").glob("*.cram")
    )
    assert crams < projection["stored"]["cram"] < 2 * projection["bases"]
    cores = next(t for t in data["tables"] if t["title"].startswith("Cores"))
    for row in cores["rows"]:
        assert row["helgenom"] > 0 and row["acute turnaround h"] is not None
    assert "<svg" in html.read_text()


def _relatedness(run_dir: Path) -> dict[frozenset[str], dict[str, str]]:
    lines = (run_dir / "results" / "identity" / "relatedness.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    return {frozenset((r["a"], r["b"])): r for r in rows}


def test_demo_relatedness_and_pedigree_check(demo_run: tuple[Path, str]) -> None:
    """KING-robust kinship from the merged gVCFs finds the trio's two parent-offspring pairs,
    the parents unrelated and DEMO002 unrelated to all; the pedigree check passes the gate of
    every member of the family."""
    import json

    run_dir, stdout = demo_run
    pairs = _relatedness(run_dir)
    assert len(pairs) == 6
    for parent in PARENTS:
        pair = pairs[frozenset(("DEMO001", parent))]
        assert pair["relation"] == pair["expected"] == "parent-offspring", pair
        assert 0.2 < float(pair["kinship"]) < 0.3 and float(pair["ibs0"]) < 0.01, pair
    assert pairs[frozenset(PARENTS)]["relation"] == "unrelated"
    for other in ("DEMO001", *PARENTS):
        assert pairs[frozenset(("DEMO002", other))]["relation"] == "unrelated"
    assert {p["status"] for p in pairs.values()} == {"pass"}
    for sample in ("DEMO001", *PARENTS):
        gate = json.loads((run_dir / "results" / "qc" / "gate" / f"{sample}.json").read_text())
        check = next(m for m in gate["metrics"] if m["id"] == "pedigree_check")
        assert check["value"] == "consistent" and check["status"] == "pass", check
    gate = json.loads((run_dir / "results" / "qc" / "gate" / "DEMO002.json").read_text())
    check = next(m for m in gate["metrics"] if m["id"] == "pedigree_check")
    assert check["status"] == "not_assessable" and check["note"] == "no relative in the run"
    assert "DEMO001 - DEMO003" in stdout and "relatedness of every pair" in stdout
    assert "Relatedness" in (run_dir / "results" / "qc" / "relatedness_mqc.tsv").read_text()


def test_demo_trio_de_novo_and_compound_heterozygous_found(demo_run: tuple[Path, str]) -> None:
    """The planted de novo SNVs and the compound heterozygote in DEMOA are found (none extra),
    and the Mendelian error rate over well-covered sites is low."""
    import json

    from helgenom.family import compare_trio

    run_dir, stdout = demo_run
    data = demo_paths(run_dir / "demo")
    summary = json.loads((run_dir / "results" / "family" / "DEMOFAM1.json").read_text())
    (trio,) = summary["trios"]
    assert (trio["child"], trio["father"], trio["mother"]) == ("DEMO001", *PARENTS)
    found = compare_trio(data.trio["DEMOFAM1"], trio)
    assert found["de_novo"] == {"planted": 2, "found": 2, "extra": 0}, trio["de_novo"]
    compound = found["compound_heterozygous"]
    assert compound["planted"] >= 2 and compound["found"] == compound["planted"], trio
    assert compound["extra"] == 0
    assert {v["gene"] for v in trio["de_novo"]} == {"DEMOB", None}
    assert trio["mendelian"]["mendelian_error_pct"] < 1.0, trio["mendelian"]
    assert trio["mendelian"]["consistent_sites"] > 300
    assert "family DEMOFAM1, planted vs found" in stdout
    assert "DEMO001    consistent" in stdout
    mqc = (run_dir / "results" / "qc" / "family_mqc.tsv").read_text()
    assert "DEMO001\tDEMOFAM1\tDEMO003\tDEMO004\t" in mqc


def test_a_swapped_sample_in_the_trio_fails_the_qc_gate(
    demo_run: tuple[Path, str], tmp_path: Path
) -> None:
    """The child's and the father's tubes swapped: the data labelled DEMO001 are the father's
    and the reverse. Only the steps after calling run again (on a copy of the run, the two
    gVCFs exchanged under each other's name): the "child" and the mother look unrelated, the
    "father" and the mother parent and child: the pedigree check fails all three."""
    import json
    import shutil

    from helgenom.runs import REPO
    from workflow_helpers import snakemake

    run_dir, _ = demo_run
    copy = tmp_path / "swapped"
    shutil.copytree(run_dir, copy, symlinks=True, ignore=shutil.ignore_patterns("genomedb"))
    gvcf = copy / "results" / "gvcf"
    for own, other in (("DEMO001", "DEMO003"), ("DEMO003", "DEMO001")):
        names = tmp_path / f"{own}.names"
        names.write_text(f"{own}\n")  # the other sample's data under its own name
        subprocess.run(
            ["bcftools", "reheader", "-s", str(names), "-o", str(tmp_path / f"{own}.g.vcf.gz"),
             str(run_dir / "results" / "gvcf" / f"{other}.g.vcf.gz")],
            check=True,
        )  # fmt: skip
    for own in ("DEMO001", "DEMO003"):
        shutil.move(tmp_path / f"{own}.g.vcf.gz", gvcf / f"{own}.g.vcf.gz")
        subprocess.run(["tabix", "-f", "-p", "vcf", str(gvcf / f"{own}.g.vcf.gz")], check=True)
    configs = [str(REPO / "config.yaml"), str(REPO / "resources" / "demo" / "config.yaml")]
    targets = [f"results/qc/gate/{s}.json" for s in ("DEMO001", *PARENTS)]
    # only the steps after calling may run: the copy's other inputs (FASTQ paths resolved in
    # another directory) must not make Snakemake call the samples again over the swap
    allowed = ["--allowed-rules", "family_vcf", "pedigree_check", "qc_gate"]
    snakemake(copy, "--configfile", *configs, *allowed, "--", *targets)
    statuses = {}
    for sample in ("DEMO001", *PARENTS):
        gate = json.loads((copy / "results" / "qc" / "gate" / f"{sample}.json").read_text())
        check = next(m for m in gate["metrics"] if m["id"] == "pedigree_check")
        statuses[sample] = (check["value"], check["status"], gate["status"])
    assert statuses["DEMO001"] == ("inconsistent", "fail", "fail"), statuses
    assert statuses["DEMO003"][:2] == ("inconsistent", "fail"), statuses
    assert statuses["DEMO004"][:2] == ("inconsistent", "fail"), statuses
    pedigree = json.loads((copy / "results" / "family" / "DEMOFAM1.pedigree.json").read_text())
    reason = pedigree["verdicts"]["DEMO001"]["reason"]
    assert "DEMO001 and DEMO004 are declared parent-offspring but look unrelated" in reason
