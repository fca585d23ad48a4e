"""The workflow's export step (workflow/rules/export.smk): one sample of a run deposited with
the run's settings, and what was deposited recorded in the run's output manifest."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genomedb_contract.client import read_token
from genomedb_contract.crypto import file_digests
from helgenom.export import ExportError
from helgenom.export.provenance import (
    analysis_parameters,
    collect_provenance,
    input_identity,
    standard_files,
)
from helgenom.export.sample import export_sample
from helgenom.rundir import record_files, run_identifier


@contextmanager
def _errors_logged(sample_id: str, log: Callable[[str], None]) -> Iterator[None]:
    """Why the export failed goes into its log too (the rule's log file)."""
    try:
        yield
    except (ExportError, ValueError, OSError) as error:
        log(f"export: {sample_id}: {error}")
        raise


def export_from_run(
    sample_id: str,
    *,
    config: Mapping[str, Any],
    config_files: Sequence[str | Path],
    results: str | Path,
    versions: str | Path,
    qc_gate: str | Path,
    started: datetime,
    out: str | Path,
    fastqs: Sequence[tuple[str, str | Path]],
    run_id: str | None = None,
    environ: Mapping[str, str] | None = None,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> dict[str, Any]:
    """The workflow's export step (workflow/rules/export.smk) for one sample of a run.

    Settings come from the run's validated `config` (`export`: url, token_file,
    db_public_key, on_qc_fail, register_sample), each falling back to its environment
    variable (helgenom.config.EXPORT_ENV); the files are the sample's standard outputs;
    `fastqs` its (unit ID, FASTQ path) pairs, which with the run's ID (by default from its
    recorded start, helgenom.rundir.run_identifier) make the deposit's key.
    """
    with _errors_logged(sample_id, log):
        from helgenom.config import EXPORT_ENV

        env = os.environ if environ is None else environ
        settings = config.get("export", {})
        url = settings.get("url") or env.get(EXPORT_ENV["url"])
        key = settings.get("db_public_key") or env.get(EXPORT_ENV["db_public_key"])
        if not url or not key:
            raise ExportError(
                "the export needs the database's URL and public key: set export.url and "
                f"export.db_public_key (or {EXPORT_ENV['url']}, {EXPORT_ENV['db_public_key']})"
            )
        token = read_token(settings.get("token_file"))
        files = standard_files(results, sample_id)
        run_dir = Path(results).resolve().parent
        parameters = analysis_parameters(config)
        if run_id is None:
            run_id = run_identifier(started)
        reference = Path(config["reference"]["fasta"])
        build = config["reference"]["build"]
        result = export_sample(
            sample_id,
            files=files,
            gate=json.loads(Path(qc_gate).read_text()),
            provenance=lambda: collect_provenance(
                config_files=config_files,
                parameters=parameters,
                versions=versions,
                reference=reference,
                build=build,
                started=started,
                finished=datetime.now(UTC),
                run_id=run_id,
            ),
            url=url,
            token=token,
            db_public_key=key,
            out=out,
            on_qc_fail=settings.get("on_qc_fail", "skip"),
            register_sample=bool(settings.get("register_sample")),
            inputs=input_identity(fastqs),
            log=log,
        )
        # What is in the database is complete: record it in the run's output manifest at once
        # (helgenom.rundir), so that a failover never makes or deposits it again. Files made
        # again after an earlier deposit by this run are not the deposited ones: left out.

        differ = set(result.get("local_files_differ", ()))
        digests = {
            files[key]: (entry["size"], entry["sha256"])
            for key, entry in result.get("files", {}).items()
            if key in files and key not in differ
        }
        receipt = Path(out)
        digests[receipt] = (receipt.stat().st_size, file_digests(receipt).sha256)
        record_files(run_dir, digests)
        return result
