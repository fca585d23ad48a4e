"""`helgenom compare`: calls against a truth set (helgenom.truth)."""

from __future__ import annotations

import argparse
from pathlib import Path

from helgenom.truth import DEFAULT_MAX_CLUSTER_VARIANTS, DEFAULT_WINDOW


def cmd_compare(args: argparse.Namespace) -> int:
    """Compare a VCF with a truth VCF; JSON on stdout (and --tsv/--json files)."""
    from helgenom.truth import compare

    result = compare(
        args.query,
        args.truth,
        args.reference,
        args.regions,
        window=args.window,
        max_cluster_variants=args.max_cluster_variants,
    )
    if args.tsv:
        Path(args.tsv).write_text(result.to_tsv())
    if args.json:
        Path(args.json).write_text(result.to_json() + "\n")
    print(result.to_json())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare a VCF with a truth VCF (haplotype-aware, see helgenom.truth)"
    )
    p.add_argument("query")
    p.add_argument("truth")
    p.add_argument("--reference", required=True)
    p.add_argument("--regions", help="BED of confident regions")
    p.add_argument("--tsv", help="also write the counts table here")
    p.add_argument("--json", help="also write the JSON report here")
    p.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="clustering window (bp)")
    p.add_argument(
        "--max-cluster-variants",
        type=int,
        default=DEFAULT_MAX_CLUSTER_VARIANTS,
        help="larger clusters fall back to exact allele matching",
    )
    p.set_defaults(func=cmd_compare)
