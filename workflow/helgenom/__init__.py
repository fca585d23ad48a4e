"""helgenom: clinical whole-genome sequencing pipeline (importable logic behind the Snakemake rules)."""

__version__ = "0.1.0"
