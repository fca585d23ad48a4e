"""What researchers see of a sample: nothing that links it to the department's records or to
the same sample in another project.

A researcher reads a sample only through a project it is approved for, under the project's
pseudonym (project_samples). The object IDs it gets are project-scoped: the DRS ID
encrypted, with the project as associated data, by AES-SIV under the home's research key
(keys/research.key). The same file has another ID in each project (two projects cannot join
their data on it), an ID opens only in its project, and the service needs no table to turn it
back into the file. File names are made from the pseudonym and the file's kind, never from
the deposited file name (which may carry the department's sample ID in any form).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

__all__ = ["RESEARCH_ID_RE", "open_research_id", "research_id", "research_name"]

PREFIX = "rd-"
RESEARCH_ID_RE = re.compile(r"rd-[a-z2-7]{40,160}")
EXTENSIONS = {
    "cram": ".cram",
    "crai": ".cram.crai",
    "vcf": ".vcf.gz",
    "vcf_tbi": ".vcf.gz.tbi",
    "gvcf": ".g.vcf.gz",
    "gvcf_tbi": ".g.vcf.gz.tbi",
}
_SUFFIX_RE = re.compile(r"\.[a-z0-9]{1,8}")


def research_id(key: bytes, project: str, drs_id: str) -> str:
    """The ID of file `drs_id` as the researchers of `project` see it."""
    sealed = AESSIV(key).encrypt(drs_id.encode(), [project.encode()])
    return PREFIX + base64.b32encode(sealed).decode().rstrip("=").lower()


def open_research_id(key: bytes, projects: Iterable[str], value: str) -> tuple[str, str] | None:
    """(project, DRS ID) of a research ID made for one of `projects`; None otherwise."""
    if not RESEARCH_ID_RE.fullmatch(value):
        return None
    text = value.removeprefix(PREFIX).upper()
    try:
        sealed = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        return None
    for project in sorted(projects):
        try:
            return project, AESSIV(key).decrypt(sealed, [project.encode()]).decode()
        except (InvalidTag, ValueError):
            continue
    return None


def research_name(pseudonym: str, key: str, filename: str) -> str:
    """A file's name for researchers: the pseudonym and the file's kind ("RP-...cram")."""
    if key in EXTENSIONS:
        return pseudonym + EXTENSIONS[key]
    suffix = PurePosixPath(filename).suffix.lower()
    return f"{pseudonym}.{key}" + (suffix if _SUFFIX_RE.fullmatch(suffix) else "")
