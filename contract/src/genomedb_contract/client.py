"""The HTTP client of the genome database, for submitters (a pipeline) and readers.

`GenomeDBClient` wraps httpx with the bearer token and turns refusals into `ClientError`
with the service's message.

Depositing (`deposit`): open a deposit with the manifest, upload each file the database
still needs, crypt4gh-encrypted to the database's public key while it streams up, commit,
and check the receipt against the manifest. Rerunning it is safe: identical content returns
the same receipt and uploads nothing; an interrupted deposit is resumed; changed content
becomes the sample's next version, except under a `deposit_key` the database already holds:
then the earlier deposit's receipt is the answer.

Reading an object follows GA4GH DRS: the object's metadata, its access URL, then the
crypt4gh stream, which is decrypted with the reader's secret key and checked against the DRS
checksums before the file appears (written to a temporary file and renamed).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from genomedb_contract.crypto import (
    CryptError,
    Hasher,
    KeyPair,
    decrypt_to,
    encrypt_file,
    encrypted_size,
    load_public_key,
)
from genomedb_contract.manifest import DepositError, canonical_json, manifest_problems

__all__ = [
    "ClientError",
    "DepositError",
    "GenomeDBClient",
    "deposit",
    "read_token",
    "write_receipt",
]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=600.0, pool=10.0)
# Statuses worth another attempt: the service was busy, restarting or lost a response.
RETRY_STATUSES = {409, 500, 502, 503, 504}


class ClientError(RuntimeError):
    """The service refused a request (status and its message) or answered nonsense."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(f"genome database answered {status}: {message}")


def read_token(token_file: str | Path | None = None) -> str:
    """The bearer token from a file, else from HELGENOM_GENOMEDB_TOKEN (never from argv)."""
    if token_file:
        token = Path(token_file).read_text().strip()
    else:
        token = os.environ.get("HELGENOM_GENOMEDB_TOKEN", "").strip()
    if not token:
        raise ValueError(
            "no genome database token: give --token-file or set HELGENOM_GENOMEDB_TOKEN"
        )
    return token


class GenomeDBClient:
    """A session with the genome database at `url`, as the holder of `token`."""

    def __init__(self, url: str, token: str, timeout: httpx.Timeout = DEFAULT_TIMEOUT):
        self.http = httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    def __enter__(self) -> GenomeDBClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    @staticmethod
    def check(response: httpx.Response) -> Any:
        """The JSON body of a successful response; else ClientError with the message."""
        if response.status_code >= 400:
            try:
                message = response.json().get("detail", response.text)
            except ValueError:
                message = response.text
            raise ClientError(response.status_code, str(message))
        return response.json()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.check(self.http.request(method, path, **kwargs))

    def drs_object(self, object_id: str) -> dict[str, Any]:
        return self.request("GET", f"/ga4gh/drs/v1/objects/{object_id}")

    def fetch(self, object_id: str, out: str | Path, keys: KeyPair, sender: bytes) -> Path:
        """Download a DRS object, decrypt it with `keys` (the reader's) and write `out`.

        `sender` is the database's public key: the header must have been re-encrypted by it.
        The decrypted file must match the object's size and checksums, or nothing is written.
        """
        meta = self.drs_object(object_id)
        access = self.request("GET", f"/ga4gh/drs/v1/objects/{object_id}/access/crypt4gh")
        out = Path(out)
        encrypted = out.with_name(f".{out.name}.c4gh.part")
        plain = out.with_name(f".{out.name}.part")
        try:
            with self.http.stream("GET", access["url"]) as response:
                if response.status_code >= 400:
                    response.read()
                    self.check(response)
                with encrypted.open("wb") as handle:
                    for chunk in response.iter_bytes(1 << 20):
                        handle.write(chunk)
            with encrypted.open("rb") as source, plain.open("wb") as target:
                digests = decrypt_to(source, target, keys, sender=sender)
            sums = {c["type"]: c["checksum"] for c in meta["checksums"]}
            if (digests.size, digests.sha256, digests.md5) != (
                meta["size"],
                sums.get("sha-256"),
                sums.get("md5"),
            ):
                raise CryptError(f"object {object_id}: the decrypted content fails its checksums")
            os.replace(plain, out)
        finally:
            encrypted.unlink(missing_ok=True)
            plain.unlink(missing_ok=True)
        return out


# ---- the deposit -----------------------------------------------------------------------------
def _upload(
    client: GenomeDBClient,
    deposit_id: str,
    key: str,
    path: Path,
    expected: Mapping[str, Any],
    recipient: bytes,
) -> None:
    size = path.stat().st_size
    if size != expected["size"]:
        raise DepositError(f"{path} changed since the manifest was built (size {size})")
    hasher = Hasher()
    chunks = encrypt_file(path, recipient, hasher)
    header = next(chunks)

    def body() -> Any:
        yield header
        yield from chunks

    client.request(
        "PUT",
        f"/api/v1/deposits/{deposit_id}/files/{key}",
        content=body(),
        headers={
            "Content-Type": "application/vnd.ga4gh.crypt4gh",
            "Content-Length": str(encrypted_size(size, len(header))),
        },
    )
    if hasher.sha256.hexdigest() != expected["sha256"]:
        raise DepositError(f"{path} changed since the manifest was built (SHA-256)")


def _check_receipt(receipt: Mapping[str, Any], manifest: Mapping[str, Any]) -> None:
    """The receipt must name the sample and every file with the manifest's checksums."""
    files = receipt.get("files", {})
    wrong = [
        key
        for key, entry in manifest["files"].items()
        if {k: files.get(key, {}).get(k) for k in ("size", "sha256", "md5")}
        != {k: entry[k] for k in ("size", "sha256", "md5")}
    ]
    if (
        receipt.get("sample_id") != manifest["sample_id"]
        or wrong
        or set(files) != set(manifest["files"])
    ):
        raise DepositError(
            f"the database's receipt does not match the manifest (files: {', '.join(wrong)})"
        )


def _deposit_once(
    client: GenomeDBClient,
    manifest: Mapping[str, Any],
    files: Mapping[str, Path],
    recipient: bytes,
    register_sample: bool,
    log: Callable[[str], None],
) -> tuple[str, dict[str, Any]]:
    if register_sample:
        client.request("POST", "/api/v1/samples", json={"sample_id": manifest["sample_id"]})
    opened = client.request(
        "POST",
        "/api/v1/deposits",
        content=canonical_json(manifest),
        headers={"Content-Type": "application/json"},
    )
    if opened["status"] == "unchanged":
        log(f"export: {manifest['sample_id']}: unchanged, nothing uploaded")
        return "unchanged", opened["receipt"]
    if opened["status"] == "already_deposited":
        return "already_deposited", opened["receipt"]
    deposit_id = opened["deposit_id"]
    log(
        f"export: {manifest['sample_id']}: deposit {deposit_id} ({opened['status']}), "
        f"uploading {len(opened['upload'])} of {len(manifest['files'])} file(s)"
    )
    for key in opened["upload"]:
        _upload(client, deposit_id, key, files[key], manifest["files"][key], recipient)
    result = client.request("POST", f"/api/v1/deposits/{deposit_id}/commit")
    return result["status"], result["receipt"]


def _earlier_deposit(
    receipt: Mapping[str, Any], manifest: Mapping[str, Any], log: Callable[[str], None]
) -> dict[str, Any]:
    """The receipt of the deposit the database already holds under the manifest's key."""
    sample_id = manifest["sample_id"]
    if receipt.get("sample_id") != sample_id:
        raise DepositError(f"the database answered for another sample than {sample_id}")
    held = receipt.get("files", {})
    differ = sorted(
        key
        for key, entry in manifest["files"].items()
        if held.get(key, {}).get("sha256") != entry["sha256"]
    )
    log(
        f"export: {sample_id}: already deposited by this run and analysis as "
        f"{receipt['accession']} version {receipt['version']}; nothing uploaded"
        + (
            f" (made again since, differ from the deposited files: {', '.join(differ)}; the "
            "deposited ones are kept)"
            if differ
            else ""
        )
    )
    return {**receipt, "already_deposited": True, "local_files_differ": differ}


def deposit(
    url: str,
    token: str,
    manifest: Mapping[str, Any],
    files: Mapping[str, str | Path],
    db_public_key: str | Path | bytes,
    *,
    retries: int = 3,
    backoff: float = 2.0,
    register_sample: bool = False,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> dict[str, Any]:
    """Deposit a sample (manifest + files) in the database at `url`; the receipt.

    Each file is crypt4gh-encrypted to `db_public_key` as it is streamed up. Safe to rerun,
    and retried after connection failures and server errors (the deposit resumes where it
    stopped). With `register_sample`, the sample is registered first (demo and validation
    samples; clinical samples are registered by their department). A manifest whose
    `deposit_key` the database already holds gets that deposit's receipt, marked
    `"already_deposited": true` with the files that differ from it (`"local_files_differ"`).
    """
    problems = manifest_problems(manifest)
    if problems:
        raise DepositError("invalid manifest:\n  - " + "\n  - ".join(problems))
    paths = {key: Path(path) for key, path in files.items()}
    if set(paths) != set(manifest["files"]):
        raise DepositError("the files given are not the files of the manifest")
    recipient = load_public_key(db_public_key)
    for attempt in range(retries + 1):
        try:
            with GenomeDBClient(url, token) as client:
                status, receipt = _deposit_once(
                    client, manifest, paths, recipient, register_sample, log
                )
            if status == "already_deposited":
                return _earlier_deposit(receipt, manifest, log)
            _check_receipt(receipt, manifest)
            return receipt
        except ClientError as error:
            if error.status not in RETRY_STATUSES or attempt == retries:
                raise DepositError(f"deposit refused: {error}") from error
            log(f"export: attempt {attempt + 1} failed ({error}); retrying")
        except httpx.TransportError as error:
            if attempt == retries:
                raise DepositError(f"cannot reach the genome database at {url}: {error}") from error
            log(f"export: attempt {attempt + 1} failed ({error!r}); retrying")
        time.sleep(backoff * (attempt + 1))
    raise AssertionError("unreachable")


def write_receipt(receipt: Mapping[str, Any], out: str | Path) -> Path:
    """Write the receipt as JSON, atomically (a partial receipt never exists)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(json.dumps(receipt, indent=2, sort_keys=True) + "\n")
    os.replace(temporary, out)
    return out
