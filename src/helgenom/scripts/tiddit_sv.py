"""`tiddit --sv` with the fix TIDDIT made in 3.6.1 (commit 807598c) for 3.5.2, the version Debian 12
ships: 3.5.2 scores its candidates by percentiles of their discordant-pair and split-read
ratios and stops with "IndexError: cannot do a non-empty take from an empty axes" when no
candidate has discordant pairs or none has split reads (a sample without SVs, e.g. the demo's);
3.6.1 takes 0 as each percentile of an empty list. This script gives numpy.percentile that
behaviour for an empty list (any other input goes to numpy unchanged) and runs TIDDIT's own
main with the arguments given.

Run by the interpreter TIDDIT is installed for (Debian's /usr/bin/python3, or the conda env's):
workflow/rules/sv.smk takes it from the `tiddit` script's first line. Standalone: it imports
nothing of helgenom, which that interpreter may not have.
"""

from __future__ import annotations

import sys
from typing import Any


def empty_safe_percentile(numpy: Any) -> Any:
    """numpy.percentile, but an empty `a` gives 0 for every percentile asked (TIDDIT 3.6.1)."""
    percentile = numpy.percentile

    def wrapped(a: Any, q: Any, *args: Any, **kwargs: Any) -> Any:
        if numpy.size(a) == 0:
            return numpy.zeros(numpy.shape(q))
        return percentile(a, q, *args, **kwargs)

    wrapped.__wrapped__ = percentile  # type: ignore[attr-defined]
    return wrapped


def main(argv: list[str]) -> int:
    import numpy

    numpy.percentile = empty_safe_percentile(numpy)
    from tiddit.__main__ import main as tiddit_main

    sys.argv = ["tiddit", *argv]
    result = tiddit_main()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
