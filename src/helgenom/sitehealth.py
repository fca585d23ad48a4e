"""Is a Slurm site answering? Its controller (slurmctld) and its accounting (slurmdbd).

    helgenom site-health [--site NAME] [--slurm-conf PATH] [--timeout S]

prints one line per part and exits 0 when both answer, 1 when not.

The controller answers when `scontrol ping` reports it UP; the accounting answers when
`sacctmgr -n -P show cluster` succeeds: with slurmdbd down it fails at once with "Connection
refused" (also when slurmctld is up), while with slurmctld down but slurmdbd up it still lists
the cluster. Both run at the same time, each under `timeout` seconds (a hung daemon counts as
not answering), so `check` never takes much longer than `timeout`.

A site's slurm.conf: `slurm_conf` if given; for `--site NAME`, $HELGENOM_<NAME>_SLURM_CONF
when set (scripts/slurm/twosite.sh env prints these for the two-site test bed); otherwise
$SLURM_CONF, otherwise Slurm's default /etc/slurm/slurm.conf.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

DEFAULT_SLURM_CONF = Path("/etc/slurm/slurm.conf")


@dataclass(frozen=True)
class Part:
    """One part of a site: whether it answered, where it is, and what was seen."""

    ok: bool
    address: str  # host:port, as the site's slurm.conf has it
    detail: str  # the command's answer or the reason it failed


@dataclass(frozen=True)
class SiteHealth:
    site: str  # the site's name (the --site given, else the conf's ClusterName)
    slurm_conf: Path  # the config the commands used
    controller: Part  # slurmctld, by `scontrol ping`
    accounting: Part  # slurmdbd, by `sacctmgr show cluster`
    checked_at: datetime = field(default_factory=lambda: datetime.now().astimezone())

    @property
    def healthy(self) -> bool:
        return self.controller.ok and self.accounting.ok

    @property
    def controller_ok(self) -> bool:
        return self.controller.ok

    @property
    def accounting_ok(self) -> bool:
        return self.accounting.ok

    @property
    def message(self) -> str:
        """A line for people: what answers and what does not."""
        parts = []
        for name, part in (("controller", self.controller), ("accounting", self.accounting)):
            state = "answers" if part.ok else "does NOT answer"
            parts.append(f"{name} (slurm{'ctld' if name == 'controller' else 'dbd'} at "
                         f"{part.address}) {state}: {part.detail}")  # fmt: skip
        verdict = "healthy" if self.healthy else "NOT healthy"
        return f"site {self.site} {verdict} ({self.slurm_conf}); " + "; ".join(parts)


@dataclass(frozen=True)
class SlurmConf:
    """What the health check needs from a slurm.conf."""

    cluster: str
    controller: str  # host:port of the primary slurmctld
    accounting: str  # host:port of slurmdbd, or "" when the site has no slurmdbd


def read_conf(path: Path) -> SlurmConf:
    """The cluster name and the controller's and slurmdbd's host:port from a slurm.conf.

    Unreadable or missing settings give "?" (the check itself then reports the failure).
    """
    settings: dict[str, str] = {}
    hosts: list[str] = []
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        key = key.strip().lower()
        value = value.strip().split()[0] if value.strip() else ""
        if key in ("slurmctldhost", "controlmachine"):
            hosts.append(value)
        else:
            settings.setdefault(key, value)
    host = "?"
    if hosts:
        # SlurmctldHost=name(addr): the name is what Slurm reports.
        match = re.fullmatch(r"([^()]+)(?:\((.*)\))?", hosts[0])
        host = match.group(1) if match else hosts[0]
    port = settings.get("slurmctldport", "6817").split("-")[0]
    storage = settings.get("accountingstoragetype", "")
    accounting = ""
    if storage.endswith("slurmdbd"):
        dbd_host = settings.get("accountingstoragehost", "localhost")
        accounting = f"{dbd_host}:{settings.get('accountingstorageport', '6819')}"
    return SlurmConf(settings.get("clustername", "?"), f"{host}:{port}", accounting)


def conf_for_site(site: str | None) -> Path | None:
    """The slurm.conf of `site` from $HELGENOM_<SITE>_SLURM_CONF, or None when not set."""
    if not site:
        return None
    value = os.environ.get(f"HELGENOM_{re.sub(r'[^A-Z0-9]', '_', site.upper())}_SLURM_CONF")
    return Path(value) if value else None


def resolve_conf(slurm_conf: Path | str | None = None, site: str | None = None) -> Path:
    """The slurm.conf a check uses (see the module's docstring)."""
    if slurm_conf:
        return Path(slurm_conf)
    return conf_for_site(site) or Path(os.environ.get("SLURM_CONF") or DEFAULT_SLURM_CONF)


def slurm_client(cmd: Sequence[str], conf: Path, timeout: float) -> tuple[int | None, str]:
    """(exit code or None on timeout / not runnable, output) of a Slurm client command."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))
    }
    env["SLURM_CONF"] = str(conf)
    try:
        proc = subprocess.run(
            list(cmd),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"no answer within {timeout:g}s"
    except OSError as error:
        return None, f"cannot run {cmd[0]}: {error}"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _first_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("*")]
    for line in lines:
        if "error" in line.lower():
            return line.strip()
    return lines[-1].strip() if lines else "no output"


def _check_controller(conf: Path, address: str, timeout: float) -> Part:
    code, out = slurm_client(["scontrol", "ping"], conf, timeout)
    if code is None:
        return Part(False, address, out)
    lines = [line.strip() for line in out.splitlines() if line.strip() and "*" not in line]
    ok = code == 0 and any(line.endswith("is UP") for line in lines)
    if ok or not lines:
        return Part(ok, address, lines[0] if lines else f"scontrol ping exited {code}")
    return Part(False, address, _first_error(out))


def _check_accounting(conf: Path, address: str, timeout: float) -> Part:
    if not address:
        return Part(True, "-", "no slurmdbd configured (AccountingStorageType)")
    code, out = slurm_client(
        ["sacctmgr", "-n", "-P", "show", "cluster", "format=cluster"], conf, timeout
    )
    if code is None:
        return Part(False, address, out)
    if code != 0:
        return Part(False, address, _first_error(out))
    clusters = ", ".join(out.split()) or "none"
    return Part(True, address, f"slurmdbd lists cluster(s) {clusters}")


def check(
    slurm_conf: Path | None = None, timeout: float = 10, *, site: str | None = None
) -> SiteHealth:
    """Whether the site of `slurm_conf` (see `resolve_conf`) answers; never hangs.

    Both commands run at the same time, each killed after `timeout` seconds.
    """
    conf = resolve_conf(slurm_conf, site)
    parsed = read_conf(conf)
    if not conf.is_file():
        missing = Part(False, "?", f"no slurm.conf at {conf}")
        return SiteHealth(site or "?", conf, missing, missing)
    with ThreadPoolExecutor(max_workers=2) as pool:
        controller = pool.submit(_check_controller, conf, parsed.controller, timeout)
        accounting = pool.submit(_check_accounting, conf, parsed.accounting, timeout)
        return SiteHealth(
            site=site or parsed.cluster,
            slurm_conf=conf,
            controller=controller.result(),
            accounting=accounting.result(),
        )
