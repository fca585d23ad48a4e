"""Snakemake scheduler plugin `clinical` (select with `--scheduler clinical`).

Deadline-aware job selection for clinical priority classes; the logic lives in
helgenom.scheduling.
"""

from helgenom.scheduling import ClinicalScheduler as Scheduler
from helgenom.scheduling import ClinicalSchedulerSettings as SchedulerSettings

__all__ = ["Scheduler", "SchedulerSettings"]
