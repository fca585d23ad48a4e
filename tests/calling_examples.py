"""Calling settings shared by the calling tests of several tiers."""

from __future__ import annotations

# Two soft filters, one on QUAL and one on an INFO field, with a quote in a description.
FILTERS = [
    {"name": "LowQual", "expression": "QUAL<20", "description": "Variant quality below 20"},
    {"name": "LowDepth", "expression": "INFO/DP<8", "description": 'Fewer than 8 "reads"'},
]
