"""`python -m helgenom ...`: the `helgenom` command (helgenom.cli)."""

import sys

from helgenom.cli import main

if __name__ == "__main__":
    sys.exit(main())
