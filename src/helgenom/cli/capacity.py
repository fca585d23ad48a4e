"""`helgenom capacity`: compute and storage for a national programme, from measured costs
(helgenom.capacity)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from helgenom.capacity.plan import PLAN_SCENARIOS, Assumptions, Scenario


def _volume(text: str) -> Scenario:
    """`25000` or `name=25000`."""
    name, _, number = text.rpartition("=")
    try:
        volume = int(number.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--volume {text!r}: give WGS per year as a whole number, e.g. 25000 or '2030=25000'"
        ) from None
    if volume <= 0:
        raise argparse.ArgumentTypeError(f"--volume {text!r}: WGS per year must be above 0")
    return Scenario(name or f"{volume:,} WGS", volume, None)


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text}: give a fraction between 0 and 1, e.g. 0.8")
    return value


def cmd_capacity(args: argparse.Namespace) -> int:
    from helgenom.capacity import fitted_model
    from helgenom.capacity.measure import CapacityError, measure_run
    from helgenom.capacity.model import GENOME_BASES, CostModel, fit_model, project
    from helgenom.capacity.report import CapacityReport, rules_without_info
    from helgenom.fileio import atomic_write_text

    if args.runs:
        try:
            model = fit_model(measure_run(run) for run in args.runs)
        except CapacityError as error:
            print(f"helgenom capacity: {error}", file=sys.stderr)
            return 2
    elif args.model:
        model = CostModel.from_dict(json.loads(Path(args.model).read_text()))
    else:
        model = fitted_model()
    if args.write_model:
        atomic_write_text(Path(args.write_model), model.to_json())
    unknown = rules_without_info(model)
    if unknown:
        print(
            f"helgenom capacity: rules without a stage in helgenom.capacity.rules.RULES "
            f"(counted in core-hours, not in the critical path): {', '.join(unknown)}",
            file=sys.stderr,
        )
    assumptions = Assumptions(
        utilisation=args.utilisation,
        peak_extra=args.peak_extra,
        copies=args.copies,
        acute_share=args.acute_share,
        node_cores=args.node_cores,
    )
    report = CapacityReport(
        model=model,
        projection=project(
            model, bases=args.coverage * GENOME_BASES, units=args.units, chunks=args.chunks
        ),
        assumptions=assumptions,
        scenarios=tuple(args.volume) if args.volume else PLAN_SCENARIOS,
        core_hours_override=args.core_hours_per_wgs,
    )
    for path, text in ((args.csv, report.to_csv), (args.json, report.to_json)):
        if path:
            atomic_write_text(Path(path), text())
    if args.html:
        atomic_write_text(Path(args.html), report.to_html())
    print(report.to_text(), end="")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "capacity",
        help="cores and storage for a yearly volume, from the measured cost of finished runs",
        description="Fit each rule's cost (CPU per job and per base sequenced, stored bytes) "
        "on finished runs' benchmark files and outputs, project it to a 30x genome, and print "
        "the national plan's tables beside helgenom's figures. Without runs: the model fitted "
        "on the repository's own runs (README: How much compute and storage ...).",
    )
    p.add_argument("runs", nargs="*", type=Path, help="finished run directories to fit on")
    p.add_argument("--model", help="a cost model written by --write-model, instead of runs")
    p.add_argument("--write-model", help="write the fitted cost model (JSON) here")
    p.add_argument(
        "--volume",
        action="append",
        type=_volume,
        help="WGS per year (repeatable; 'name=N' names it); default: the plan's scenarios",
    )
    p.add_argument("--utilisation", type=_share, default=0.8, help="default: 0.8 (the plan's)")
    p.add_argument("--peak-extra", type=float, default=0.2, help="default: 0.2 (the plan's)")
    p.add_argument(
        "--copies", type=int, default=3, help="stored copies: primary, passive, backup (3)"
    )
    p.add_argument("--acute-share", type=_share, default=0.05, help="share of acute samples (0.05)")
    p.add_argument("--node-cores", type=int, default=40, help="cores per node for the queue (40)")
    p.add_argument(
        "--core-hours-per-wgs",
        type=float,
        help="use this cost per WGS instead of the measured one (the plan's: 2160)",
    )
    p.add_argument("--coverage", type=float, default=30.0, help="mean depth projected to (30)")
    p.add_argument("--units", type=int, default=4, help="units (lanes) per genome (4)")
    p.add_argument("--chunks", type=int, help="calling chunks (default: the model's choice)")
    p.add_argument("--csv", help="also write the tables as CSV here")
    p.add_argument("--json", help="also write the figures as JSON here")
    p.add_argument("--html", help="also write an HTML page with charts here (for slides)")
    p.set_defaults(func=cmd_capacity)
