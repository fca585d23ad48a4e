"""helgenom: clinical whole-genome sequencing pipeline (logic behind the Snakemake rules)."""

__version__ = "0.1.0"
