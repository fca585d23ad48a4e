"""`python -m genomedb ...`: see genomedb.cli."""

import sys

from genomedb.cli import main

sys.exit(main())
