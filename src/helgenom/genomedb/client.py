"""An HTTP client of the genome database for readers and the pipeline.

`GenomeDBClient` wraps httpx with the bearer token and turns refusals into `ClientError`
with the service's message. Reading an object follows GA4GH DRS: the object's metadata, its
access URL, then the crypt4gh stream, which is decrypted with the reader's secret key and
checked against the DRS checksums before the file appears (written to a temporary file and
renamed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from helgenom.genomedb.crypto import CryptError, KeyPair, decrypt_to

__all__ = ["ClientError", "GenomeDBClient", "read_token"]

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=600.0, pool=10.0)


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
