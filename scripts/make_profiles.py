#!/usr/bin/env python3
"""Write the Slurm site profiles (profiles/genomedk, computerome, abacus) from helgenom.profiles.

    .venv/bin/python scripts/make_profiles.py          # write the files that differ
    .venv/bin/python scripts/make_profiles.py --check  # only say which differ (exit 1 if any)

profiles/local and profiles/clinical-priority are hand-written and left alone.
"""

import argparse
import sys
from pathlib import Path

from helgenom.profiles import SITE_PROFILES, profile_path, render_profile, stale_profiles

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args()
    if args.check:
        stale = stale_profiles(REPO)
        for message in stale:
            print(message)
        return 1 if stale else 0
    for site in SITE_PROFILES:
        path = profile_path(REPO, site)
        text = render_profile(site)
        if path.is_file() and path.read_text() == text:
            print(f"{path.relative_to(REPO)}: unchanged")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"{path.relative_to(REPO)}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
