"""Who may do what. One table of actions per role; everything not listed is refused.

Beyond the role, every read is scoped: submitters and clinicians see only their own
department's samples, researchers only samples assigned to a project they are approved for,
and only the file kinds their role may read.
"""

from __future__ import annotations

from genomedb.errors import GenomeDBError, forbidden
from genomedb.tokens import Principal

__all__ = ["ACTIONS", "may_read_file", "require"]

# action -> roles allowed. Actions are the names of the HTTP endpoints (see app.py).
ACTIONS: dict[str, frozenset[str]] = {
    "whoami": frozenset({"submitter", "clinician", "researcher", "auditor", "admin"}),
    "drs.service_info": frozenset({"submitter", "clinician", "researcher", "auditor", "admin"}),
    "samples.register": frozenset({"submitter"}),
    "samples.find": frozenset({"submitter", "clinician"}),
    "samples.get": frozenset({"submitter", "clinician"}),
    "samples.delete": frozenset({"admin"}),
    "receipts.get": frozenset({"submitter"}),
    "deposits.open": frozenset({"submitter"}),
    "deposits.get": frozenset({"submitter"}),
    "deposits.upload": frozenset({"submitter"}),
    "deposits.commit": frozenset({"submitter"}),
    "drs.object": frozenset({"clinician", "researcher"}),
    "drs.access": frozenset({"clinician", "researcher"}),
    "objects.content": frozenset({"clinician", "researcher"}),
    "projects.list": frozenset({"researcher"}),
    "projects.add_sample": frozenset({"admin"}),
    "principals.list": frozenset({"admin"}),
    "audit.read": frozenset({"auditor"}),
    "audit.verify": frozenset({"auditor"}),
}

_CLINICIAN_KEYS = {"vcf", "vcf_tbi", "gvcf", "gvcf_tbi"}
_RESEARCHER_KEYS = {"cram", "crai", "vcf", "vcf_tbi", "gvcf", "gvcf_tbi"}


def require(principal: Principal | None, action: str) -> Principal:
    """The principal if its role may perform `action`; else 401 (no principal) or 403."""
    if principal is None:
        raise GenomeDBError(401, "authentication required: send 'Authorization: Bearer <token>'")
    if principal.role not in ACTIONS.get(action, frozenset()):
        raise forbidden(f"role '{principal.role}' may not perform '{action}'")
    return principal


def may_read_file(principal: Principal, key: str) -> bool:
    """Whether the principal's role may read files of this kind (scope is checked apart).

    Clinicians: the VCFs, the report renderings, the runs of homozygosity, mitochondrial,
    structural and copy-number variants. Researchers: the pseudonymised genomic data (CRAM,
    VCFs, indexes, runs of homozygosity, mitochondrial, structural and copy-number variants)
    and QC metrics, never the clinical reports.
    """
    # variant-level results, as the VCFs
    derived = key.startswith(("roh_", "mito_", "sv_", "cnv_"))
    if principal.role == "clinician":
        return key in _CLINICIAN_KEYS or key.startswith("report_") or derived
    if principal.role == "researcher":
        return key in _RESEARCHER_KEYS or key.startswith("qc_") or derived
    return False
