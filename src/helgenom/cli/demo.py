"""`helgenom demo` (the whole pipeline on synthetic data, deposits into an embedded genome
database, calls compared with the planted truth) and `helgenom demo-data` (only the data:
helgenom.demo)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from helgenom.runs import REPO, snakemake_command

# The demo's QC thresholds (synthetic data are not a human genome; see the file).
DEMO_CONFIG = REPO / "resources" / "demo" / "config.yaml"
DEMO_NEEDS_GENOMEDB = (
    "helgenom demo: the demo deposits its samples into an embedded national genome database, "
    "and the genome database service (distribution genomedb) is not installed. Install it: "
    "pip install -e ./contract -e ./services/genomedb (in a checkout; bash scripts/setup.sh "
    "does it), or pip install 'helgenom[demo]'. Or run the demo without the deposit: "
    "helgenom demo --no-export"
)


def _demo_database() -> Callable[..., Any] | None:
    """genomedb.service.embedded_database; None, and why on stderr, when the genome database
    service is not installed (the pipeline does not depend on it, only its demo does)."""
    try:
        from genomedb.service import embedded_database
    except ModuleNotFoundError as error:
        if error.name not in ("genomedb", "genomedb.service"):
            raise  # genomedb is there but broken: not a missing install
        print(DEMO_NEEDS_GENOMEDB, file=sys.stderr)
        return None
    return embedded_database


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the synthetic demo data (once) and run the whole pipeline on it."""
    from helgenom.demo import DEMO_DATA_VERSION, demo_paths, generate_demo, read_mito_truth
    from helgenom.mito import compare_mito
    from helgenom.qc.coverage import read_bed_intervals
    from helgenom.roh import compare_roh
    from helgenom.truth import compare

    embedded_database = None if args.no_export else _demo_database()
    if embedded_database is None and not args.no_export:
        return 1
    workdir = Path(args.directory).resolve()
    marker = workdir / "demo" / ".complete"
    if marker.exists() and marker.read_text().strip() == DEMO_DATA_VERSION:
        data = demo_paths(workdir / "demo")  # generated before: keep the files (and mtimes)
    else:
        print(f"helgenom demo: generating synthetic data in {workdir / 'demo'}", flush=True)
        data = generate_demo(workdir / "demo")
        marker.write_text(f"{DEMO_DATA_VERSION}\n")
    configs = [str(REPO / "config.yaml"), str(DEMO_CONFIG)]
    if embedded_database is None:
        status = _run_demo(workdir, configs, args.cores)
    else:
        home = workdir / "demo" / "genomedb"
        with embedded_database(home, department="demo-lab") as db:
            print(f"helgenom demo: genome database (embedded, SQLite) at {db.url}, home {home}")
            overlay = workdir / "demo" / "export.yaml"
            overlay.write_text(
                "# written by `helgenom demo`: deposit into the embedded demo database\n"
                + yaml.safe_dump(
                    {
                        "export": {
                            "enabled": True,
                            "token_file": str(db.token_file),
                            "db_public_key": str(db.public_key),
                            "register_sample": True,
                        }
                    }
                )
            )
            # The URL (a free port each time) comes from the environment, so the overlay
            # stays the same from run to run.
            env = {**os.environ, "HELGENOM_GENOMEDB_URL": db.url}
            status = _run_demo(workdir, [*configs, str(overlay)], args.cores, env)
    if status:
        return status
    print("\nhelgenom demo: calls compared with the planted truth (confident regions)")
    print(f"{'sample':10} {'type':6} {'TP':>5} {'FP':>5} {'FN':>5} {'recall':>7} {'precision':>9}")
    for sample, truth in data.truth.items():
        result = compare(
            workdir / "results" / "vcf" / f"{sample}.vcf.gz",
            truth,
            data.reference,
            data.confident_bed,
        )
        for kind, c in result.counts.items():
            print(
                f"{sample:10} {kind:6} {c.tp:5} {c.fp:5} {c.fn:5} {c.recall:7.3f} "
                f"{c.precision:9.3f}"
            )
    print("\nhelgenom demo: runs of homozygosity, planted vs found (results/roh/<sample>.roh.json)")
    print(f"{'sample':10} {'planted':>10} {'found':>10} {'recall':>7} {'precision':>9}  hints")
    for sample in data.truth:
        planted = read_bed_intervals(data.roh[sample])
        summary = json.loads((workdir / "results" / "roh" / f"{sample}.roh.json").read_text())
        recall, precision = compare_roh(planted, summary["segments"])
        print(
            f"{sample:10} {sum(e - s for _, s, e in planted):>7} bp "
            f"{summary['total']['roh_bases']:>7} bp {_ratio(recall):>7} {_ratio(precision):>9}  "
            f"{', '.join(summary['hints']) or 'none'}"
        )
    print(
        "\nhelgenom demo: mitochondrial variants, planted vs found "
        "(results/mito/<sample>.mito.json)"
    )
    print(f"{'sample':10} {'variant':>16} {'planted AF':>10} {'found AF':>9}  class")
    for sample in data.truth:
        summary = json.loads((workdir / "results" / "mito" / f"{sample}.mito.json").read_text())
        matched, extra = compare_mito(read_mito_truth(data.mito[sample]), summary["variants"])
        classes = {(v["pos"], v["alt"]): v["class"] for v in summary["variants"]}
        for (_, pos, ref, alt, af), found in matched:
            print(
                f"{sample:10} {f'{pos}{ref}>{alt}':>16} {af:>10.2f} {_ratio(found):>9}  "
                f"{classes.get((pos, alt), 'not found')}"
            )
        for v in extra:
            change = f"{v['pos']}{v['ref']}>{v['alt']}"
            print(f"{sample:10} {change:>16} {'-':>10} {v['af']:>9.3f}  {v['class']} (not planted)")
    _print_sv_comparison(workdir, data.sv)
    _print_families(workdir, data)
    _print_cnv_comparison(workdir, data.cnv)
    print("\nhelgenom demo: QC gate and clinical report (results/report/<sample>.pdf/.html/...)")
    for sample in data.truth:
        report = workdir / "results" / "report" / f"{sample}.json"
        if report.exists():
            content = json.loads(report.read_text())
            print(f"{sample:10} QC {content['qc']['verdict']}; {content['answer']['category']}")
        else:  # a parent sequenced for the trio: no gene panel, no report
            gate = json.loads((workdir / "results" / "qc" / "gate" / f"{sample}.json").read_text())
            print(f"{sample:10} QC {gate['status']}; no report (no gene panel for its indication)")
    if not args.no_export:
        print("\nhelgenom demo: deposits in the national genome database (embedded demo copy)")
        for sample in data.truth:
            receipt = json.loads(
                (workdir / "results" / "export" / f"{sample}.receipt.json").read_text()
            )
            if receipt.get("deposited") is False:
                print(f"{sample:10} not deposited: {receipt['reason']}")
            else:
                print(
                    f"{sample:10} {receipt['accession']} version {receipt['version']}, "
                    f"{len(receipt['files'])} files"
                )
    outputs = "cram/, vcf/, qc/multiqc/multiqc_report.html, report/, export/"
    print(f"\nOutputs: {workdir / 'results'} ({outputs})")
    return 0


def _print_families(workdir: Path, data: Any) -> None:
    """The relatedness of the run's pairs and each planted trio: found vs planted."""
    from helgenom.family import compare_trio

    relatedness = workdir / "results" / "identity" / "relatedness.tsv"
    if relatedness.exists():
        print("\nhelgenom demo: relatedness of every pair (results/identity/relatedness.tsv)")
        print(f"{'pair':20} {'kinship':>8} {'IBS0':>6}  {'found':17} {'declared':17} check")
        lines = relatedness.read_text().splitlines()
        header = lines[0].split("\t")
        for line in lines[1:]:
            row = dict(zip(header, line.split("\t"), strict=True))
            print(
                f"{row['a'] + ' - ' + row['b']:20} {row['kinship']:>8} {row['ibs0']:>6}  "
                f"{row['relation']:17} {row['expected'] or '-':17} {row['status']}"
            )
    for family, truth in data.trio.items():
        summary = json.loads((workdir / "results" / "family" / f"{family}.json").read_text())
        print(f"\nhelgenom demo: family {family}, planted vs found (results/family/{family}.json)")
        print(
            f"{'child':10} {'pedigree':12} {'Mendelian err.':>14} {'de novo':>13} "
            f"{'compound het':>13}"
        )
        checks = {m["sample_id"]: m["pedigree_check"] for m in summary["members"]}
        for trio in summary["trios"]:
            found = compare_trio(truth, trio)
            mendel = (trio["mendelian"] or {}).get("mendelian_error_pct")
            cells = {
                p: f"{found[p]['found']}/{found[p]['planted']} +{found[p]['extra']}"
                for p in ("de_novo", "compound_heterozygous")
            }
            print(
                f"{trio['child']:10} {checks.get(trio['child']) or '-':12} "
                f"{'-' if mendel is None else f'{mendel:.2f} %':>14} {cells['de_novo']:>13} "
                f"{cells['compound_heterozygous']:>13}"
            )


def _print_sv_comparison(workdir: Path, truth: dict[str, Path]) -> None:
    """Planted vs found structural variants per sample, for each caller (its calls the merge
    step takes: PASS, at least sv.min_size bp) and merged (results/sv/<sample>.vcf.gz):
    helgenom.sv.compare_sv over every type (translocations by their breakpoints), and truvari
    bench over the spanning ones when truvari is installed (it is in helgenom[test])."""
    from helgenom.sv import (
        SV_CALLER_OUTPUT,
        SvSettings,
        caller_calls,
        compare_sv,
        read_sv_calls,
        truvari_bench,
    )

    print("\nhelgenom demo: structural variants, planted vs found (results/sv/<sample>.vcf.gz)")
    print(
        f"{'sample':10} {'caller':8} {'planted':>7} {'calls':>5} {'found':>5} {'recall':>7} "
        f"{'precision':>9}  truvari DEL/DUP/INV: recall, precision"
    )
    missing_truvari = False
    for sample, truth_vcf in truth.items():
        merged_vcf = workdir / "results" / "sv" / f"{sample}.vcf.gz"
        summary = json.loads((workdir / "results" / "sv" / f"{sample}.sv.json").read_text())
        settings = SvSettings.from_config(summary["settings"])
        planted = read_sv_calls(truth_vcf)
        rows = [(c, workdir / SV_CALLER_OUTPUT[c].format(sample=sample)) for c in settings.callers]
        for caller, calls_vcf in [*rows, ("merged", merged_vcf)]:
            if caller == "merged":
                calls = read_sv_calls(calls_vcf)
            else:
                calls = caller_calls(calls_vcf, caller, settings)
            result = compare_sv(planted, calls)
            bench = None
            if any(t.svtype != "BND" for t in planted):
                bench = truvari_bench(truth_vcf, calls_vcf)
                missing_truvari |= bench is None
            truvari = (
                "-" if bench is None else f"{_ratio(bench['recall'])}, {_ratio(bench['precision'])}"
            )
            print(
                f"{sample:10} {caller:8} {len(planted):>7} {len(calls):>5} "
                f"{len(result.matched):>5} {_ratio(result.recall):>7} "
                f"{_ratio(result.precision):>9}  {truvari}"
            )
    if missing_truvari:
        print("(truvari is not installed: pip install 'truvari>=5,<6' for its comparison)")


def _print_cnv_comparison(workdir: Path, truth: dict[str, Path]) -> None:
    """Planted vs found copy-number changes per sample (helgenom.cnv.compare_cnv): each planted
    event's copy number and the call that found it; events shorter than the bins' resolution
    (bin_size x min_bins) are listed but not expected; then the calls matching no planted
    event (false calls)."""
    from helgenom.cnv import compare_cnv, read_cnv_truth, read_cnv_vcf

    print("\nhelgenom demo: copy-number variants, planted vs found (results/cnv/<sample>.vcf.gz)")
    print(f"{'sample':10} {'planted event':>24} {'CN':>3} {'found':>3}  call")
    for sample, truth_bed in truth.items():
        summary = json.loads((workdir / "results" / "cnv" / f"{sample}.cnv.json").read_text())
        if not summary["assessed"]:
            print(f"{sample:10} {summary['interpretation']}")
            continue
        settings = summary["settings"]
        resolution = settings["bin_size"] * settings["min_bins"]
        calls = read_cnv_vcf(workdir / "results" / "cnv" / f"{sample}.vcf.gz")
        result = compare_cnv(read_cnv_truth(truth_bed), calls, min_size=resolution)
        rows = [(t, c, "") for t, c in result.found]
        rows += [
            (t, None, f"below resolution ({resolution:,} bp)") for t in result.below_resolution
        ]
        for t, c, note in sorted(rows, key=lambda r: (r[0].contig, r[0].start)):
            event = f"{t.contig}:{t.start + 1:,}-{t.end:,}"
            found = "-" if c is None else str(c.copies)
            where = note or ("not found" if c is None else f"{c.contig}:{c.start + 1:,}-{c.end:,}")
            print(f"{sample:10} {event:>24} {t.copies:>3} {found:>3}  {where}")
        print(f"{sample:10} false calls: {len(result.extra)}")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _run_demo(
    workdir: Path, configs: list[str], cores: int, env: dict[str, str] | None = None
) -> int:
    cmd = snakemake_command(workdir, "--configfile", *configs, cores=cores)
    print("helgenom demo: " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=workdir, env=env)


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Write the synthetic demo data only: reference, truth sets, FASTQ files, sample sheet."""
    from helgenom.demo import generate_demo

    # The options given; the others are generate_demo's defaults (the data `helgenom demo` uses).
    given = {k: v for k, v in vars(args).items() if k in ("seed", "genome_length", "coverage")}
    began = time.perf_counter()
    try:
        data = generate_demo(args.outdir, **given)
    except ValueError as exc:
        args.parser.error(str(exc))
    elapsed = time.perf_counter() - began
    print(
        f"demo data for {len(data.truth)} samples written to {data.outdir} in {elapsed:.1f} s\n"
        f"  reference: {data.reference}\n  samples:   {data.samples_tsv}\n"
        f"  units:     {data.units_tsv}\n  confident: {data.confident_bed}",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the pipeline end to end on synthetic demo data")
    p.add_argument("--directory", default=str(REPO), help="run directory (default: the repo)")
    p.add_argument("--cores", type=int, default=2)
    p.add_argument(
        "--no-export",
        action="store_true",
        help="do not deposit into the embedded demo genome database (demo/genomedb)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "demo-data",
        help="only write the synthetic demo data (reference, truth, FASTQ, sample sheet)",
        description="Write a deterministic synthetic reference, truth set and FASTQ files.",
    )
    p.add_argument("--outdir", type=Path, default=Path("demo"), help="default: %(default)s")
    # Left out: generate_demo's defaults (helgenom.demo, imported only when the command runs).
    p.add_argument("--seed", type=int, default=argparse.SUPPRESS, help="default: the demo's")
    p.add_argument(
        "--genome-length",
        type=int,
        default=argparse.SUPPRESS,
        help="total bp (default: the demo's)",
    )
    p.add_argument(
        "--coverage",
        type=float,
        default=argparse.SUPPRESS,
        help="per-sample depth (default: the demo's)",
    )
    p.set_defaults(func=cmd_demo_data, parser=p)
