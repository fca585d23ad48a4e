"""The national plan's arithmetic, fed with the plan's assumptions or with helgenom's measured
cost per genome: cores per year, storage per year and over five years, and whether acute
samples meet their deadline at peak load.

The plan (Danish national strategy for personalised medicine, infrastructure sizing) assumed
~2,160 core-hours per WGS, compute used 24/7 at 80 % utilisation plus 20 % extra for
clinical peaks, 0.2 TB stored per WGS plus 25 % for other data, and gave:

    WGS per year    3,000   5,000   16,000   25,000
    cores           1,110   1,849    5,918    9,247
    storage over five years: 19-30 PB

    cores = core-hours per WGS x WGS per year / (8,760 h x utilisation) x (1 + peak extra)

rounded to the nearest core (2,160 x 3,000 / (8,760 x 0.8) x 1.2 = 1,109.6 -> 1,110).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOURS_PER_YEAR = 24 * 365
TB = 1e12
PB = 1e15


@dataclass(frozen=True)
class Assumptions:
    utilisation: float = 0.8  # share of the year's core-hours that does work
    peak_extra: float = 0.2  # extra capacity for clinical peaks
    other_data: float = 0.25  # stored data besides the per-sample results (the plan's 25 %)
    copies: int = 3  # stored copies: primary site, passive (failover) site, backup
    acute_share: float = 0.05  # share of samples that are acute (assumption, see README)
    deadline_h: float = 5 * 24  # acute samples are answered within 5 days
    node_cores: int = 40  # cores per node of the site the queue estimate is for


@dataclass(frozen=True)
class Scenario:
    name: str
    wgs_per_year: int
    plan_cores: int | None  # what the plan states, for the side-by-side table


# The plan's stated figures. Its five-year storage (19-30 PB) is for the low and high paths.
PLAN_CORE_HOURS_PER_WGS = 2160.0
PLAN_TB_PER_WGS = 0.2
PLAN_STORAGE_5Y_PB = {"low": 19.0, "high": 30.0}
PLAN_SCENARIOS = (
    Scenario("2019 low", 3000, 1110),
    Scenario("2019 high", 5000, 1849),
    Scenario("2022 low", 16000, 5918),
    Scenario("2022 high", 25000, 9247),
)
# Five years of volume for the storage totals: the plan states 2019 and 2022; the years
# between are a straight line and the fifth year stays at the 2022 level (an assumption).
PLAN_PATHS = {
    "low": (3000, 7333, 11667, 16000, 16000),
    "high": (5000, 11667, 18333, 25000, 25000),
}


def cores_needed(core_hours_per_wgs: float, wgs_per_year: float, a: Assumptions) -> int:
    """Cores to run `wgs_per_year` genomes (the plan's formula, rounded to the nearest)."""
    if not 0 < a.utilisation <= 1:
        raise ValueError(f"utilisation must be in (0, 1], not {a.utilisation}")
    exact = core_hours_per_wgs * wgs_per_year / (HOURS_PER_YEAR * a.utilisation)
    return round(exact * (1 + a.peak_extra))


def stored_per_wgs(bytes_per_wgs: float, a: Assumptions) -> float:
    """Bytes kept per genome, other data included, in all copies."""
    return bytes_per_wgs * (1 + a.other_data) * a.copies


def storage_years(bytes_per_wgs: float, volumes: tuple[int, ...], a: Assumptions) -> list[float]:
    """Bytes added each year and nothing deleted: the accumulated store after each year."""
    total, out = 0.0, []
    for volume in volumes:
        total += stored_per_wgs(bytes_per_wgs, a) * volume
        out.append(total)
    return out


# ---- acute samples at peak load ----------------------------------------------------------------
def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with `servers` servers and offered
    load `load` (= arrival rate x mean service time, in servers); 1 when load >= servers."""
    if load >= servers:
        return 1.0
    b = 1.0  # Erlang B, by the stable recursion
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    rho = load / servers
    return b / (1 - rho + rho * b)


@dataclass(frozen=True)
class AcuteEstimate:
    wait_h: float  # mean wait of an acute sample for a node
    critical_path_h: float  # its own wall time on one node
    nodes: int
    utilisation: float  # of the nodes, at peak

    @property
    def turnaround_h(self) -> float:
        return self.wait_h + self.critical_path_h


def acute_turnaround(
    core_hours_per_wgs: float,
    critical_path_h: float,
    wgs_per_year: float,
    cores: int,
    a: Assumptions,
) -> AcuteEstimate:
    """Acute samples' turnaround at peak load (compute only: sequencing and sign-off are not
    counted), by a queue with two non-preemptive priority classes (Cobham's formula for
    M/M/c): the servers are the `cores` as nodes of `node_cores`, each sample occupies one
    node for its node-hours (core-hours / node cores), samples arrive at the yearly volume
    times (1 + peak extra), acute ones first. An acute sample waits for a node only behind
    other acute samples and the residual work of the running jobs:

        W_acute = C(c, load) / (c mu) / (1 - rho_acute)

    then runs its critical path."""
    nodes = max(math.ceil(cores / a.node_cores), 1)
    service_h = core_hours_per_wgs / a.node_cores
    arrivals_per_h = wgs_per_year * (1 + a.peak_extra) / HOURS_PER_YEAR
    load = arrivals_per_h * service_h
    rho_acute = a.acute_share * load / nodes
    if load >= nodes or rho_acute >= 1:
        return AcuteEstimate(math.inf, critical_path_h, nodes, load / nodes)
    wait = erlang_c(nodes, load) * service_h / nodes / (1 - rho_acute)
    return AcuteEstimate(wait, critical_path_h, nodes, load / nodes)
