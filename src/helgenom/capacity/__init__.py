"""Capacity planning from measured costs (`helgenom capacity`).

    measure   what finished runs cost: benchmark files, bases sequenced, stored bytes
    model     the cost model fitted on them (per rule: CPU per job + per base; stored bytes
              per kind), its projection to a 30x genome, the calling chunk count
    plan      the national plan's arithmetic: cores, storage, acute turnaround at peak
    report    the plan's tables beside helgenom's: terminal, CSV, JSON, HTML with charts

The model fitted on the repository's own runs is package data (fitted_model.json, written by
`helgenom capacity --write-model`); helgenom.resources and the `calling.chunks: auto` setting
derive from it, so the site fitting and the plan use the same figures.
"""

from __future__ import annotations

import json
from functools import cache

from helgenom.capacity.model import CostModel
from helgenom.paths import package_path

FITTED_MODEL = "fitted_model.json"


@cache
def fitted_model() -> CostModel:
    """The cost model fitted on the repository's own runs (package data)."""
    text = package_path("capacity", FITTED_MODEL).read_text()
    return CostModel.from_dict(json.loads(text))
