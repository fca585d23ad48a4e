"""`python -m helgenom.genomedb ...`: see helgenom.genomedb.cli."""

import sys

from helgenom.genomedb.cli import main

sys.exit(main())
