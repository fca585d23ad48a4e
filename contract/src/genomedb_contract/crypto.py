"""GA4GH crypt4gh for the database and its clients (PyPI `crypt4gh`).

A crypt4gh file is a header (the session key, encrypted to each recipient's X25519 public
key) and a body of 64 KiB segments, each ChaCha20-Poly1305 encrypted with the session key.
The database accepts a file whose header holds exactly one data-key packet for its own key,
stores it as it came (encrypted at rest), and for a read only re-encrypts the header to the
reader's key: the body is never decrypted on the way out.

Key material is never logged: the crypt4gh library logs session keys at DEBUG level, so its
logger is held at WARNING.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from crypt4gh import CIPHER_DIFF, CIPHER_SEGMENT_SIZE, SEGMENT_SIZE, header, sodium
from crypt4gh.keys import c4gh, get_private_key, get_public_key

logging.getLogger("crypt4gh").setLevel(logging.WARNING)

__all__ = [
    "CryptError",
    "Hasher",
    "Digests",
    "KeyPair",
    "decrypt_to",
    "encrypt_file",
    "encrypted_size",
    "generate_keypair",
    "load_keypair",
    "load_public_key",
    "public_key_b64",
    "reencrypt_header",
    "verify_and_digest",
]

BATCH_SEGMENTS = 16  # segments per chunk yielded by encrypt_file (1 MiB of plaintext)
KEY_METHOD = 0  # X25519 + ChaCha20-Poly1305, the only method crypt4gh v1 defines


class CryptError(ValueError):
    """A file is not a valid crypt4gh file for the key, or its content is corrupt."""


@dataclass(frozen=True)
class KeyPair:
    """A crypt4gh (X25519) key pair; `secret` never leaves the process."""

    secret: bytes
    public: bytes

    def keys(self) -> list[tuple[int, bytes, bytes]]:
        """The key list the crypt4gh header functions expect."""
        return [(KEY_METHOD, self.secret, self.public)]


@dataclass(frozen=True)
class Digests:
    """Size, SHA-256 and MD5 of a file's plaintext."""

    size: int
    sha256: str
    md5: str


class Hasher:
    def __init__(self) -> None:
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)

    def update(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        self.sha256.update(data)
        self.md5.update(data)

    def digests(self) -> Digests:
        return Digests(self.size, self.sha256.hexdigest(), self.md5.hexdigest())


def file_digests(path: str | Path, chunk: int = 1 << 20) -> Digests:
    """Size, SHA-256 and MD5 of a plain file, read once in chunks."""
    hasher = Hasher()
    with Path(path).open("rb") as handle:
        while data := handle.read(chunk):
            hasher.update(data)
    return hasher.digests()


# ---- keys ------------------------------------------------------------------------------------
def generate_keypair(secret_path: Path, public_path: Path, passphrase: str | None = None) -> None:
    """Write a crypt4gh key pair (secret key mode 0400; encrypted if `passphrase` is given)."""
    secret_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    sk = os.urandom(32)
    if passphrase:
        encoded = c4gh.encode_private_key(sk, passphrase.encode(), None)
    else:  # the same encoding crypt4gh writes, without its warning on stderr
        none = c4gh.encode_string(None)
        encoded = c4gh.MAGIC_WORD + none + none + c4gh.encode_string(sk)
    fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as handle:
        handle.write(b"-----BEGIN CRYPT4GH PRIVATE KEY-----\n")
        handle.write(base64.b64encode(encoded))
        handle.write(b"\n-----END CRYPT4GH PRIVATE KEY-----\n")
    public_path.write_bytes(
        b"-----BEGIN CRYPT4GH PUBLIC KEY-----\n"
        + base64.b64encode(sodium.derive_pk(sk))
        + b"\n-----END CRYPT4GH PUBLIC KEY-----\n"
    )


def load_keypair(secret_path: Path, passphrase: str | None = None) -> KeyPair:
    """Read a crypt4gh secret key (asking nobody: the passphrase is given or there is none)."""
    try:
        secret = get_private_key(str(secret_path), lambda: passphrase or "")
    except SystemExit as error:  # crypt4gh exits on a wrong passphrase
        raise CryptError(f"{secret_path}: wrong passphrase or not a crypt4gh key") from error
    except (OSError, ValueError) as error:
        raise CryptError(f"{secret_path}: cannot read the crypt4gh secret key ({error})") from error
    if not isinstance(secret, bytes | bytearray) or len(secret) != 32:
        raise CryptError(f"{secret_path}: not an X25519 crypt4gh secret key")
    return KeyPair(bytes(secret), sodium.derive_pk(bytes(secret)))


def load_public_key(source: str | Path | bytes) -> bytes:
    """A 32-byte public key from a crypt4gh/ssh public key file, raw bytes or base64 text."""
    if isinstance(source, bytes) and len(source) == 32:
        return source
    if isinstance(source, str) and not Path(source).exists():
        raw = base64.b64decode(source, validate=True)
    elif isinstance(source, bytes):
        raise CryptError("a public key given as bytes must be 32 bytes long")
    else:
        try:
            raw = get_public_key(str(source))
        except (OSError, ValueError, NotImplementedError) as error:
            raise CryptError(f"{source}: not a crypt4gh public key ({error})") from error
    if len(raw) != 32:
        raise CryptError("not an X25519 public key (32 bytes)")
    return bytes(raw)


def public_key_b64(public: bytes) -> str:
    return base64.b64encode(public).decode()


# ---- encryption ------------------------------------------------------------------------------
def encrypted_size(plain_size: int, header_size: int) -> int:
    """Size of a crypt4gh file with a header of `header_size` bytes for `plain_size` bytes."""
    segments = -(-plain_size // SEGMENT_SIZE)
    return header_size + plain_size + segments * CIPHER_DIFF


def _header_for(recipient: bytes, session_key: bytes) -> bytes:
    sender = os.urandom(32)  # an ephemeral sender key, as the crypt4gh command line uses
    packet = header.make_packet_data_enc(0, session_key)
    return header.serialize(header.encrypt(packet, [(KEY_METHOD, sender, recipient)]))


def encrypt_file(
    path: str | Path, recipient: bytes, digests: Hasher | None = None
) -> Iterator[bytes]:
    """The crypt4gh encryption of a file for `recipient`, streamed in ~1 MiB chunks.

    If `digests` is given it is updated with the plaintext as it is read, so the caller gets
    the checksums of exactly the bytes that were encrypted.
    """
    session_key = os.urandom(32)
    yield _header_for(recipient, session_key)
    cipher = bytearray(CIPHER_SEGMENT_SIZE)
    with Path(path).open("rb") as handle:
        done = False
        while not done:
            out = bytearray()
            for _ in range(BATCH_SEGMENTS):
                segment = handle.read(SEGMENT_SIZE)
                if segment and digests is not None:
                    digests.update(segment)
                if segment:
                    n = sodium.chacha20poly1305_encrypt(cipher, segment, session_key)
                    out += cipher[:n]
                if len(segment) < SEGMENT_SIZE:
                    done = True
                    break
            if out:
                yield bytes(out)


# ---- decryption ------------------------------------------------------------------------------
def _session_key(stream: BinaryIO, keys: KeyPair, sender: bytes | None = None) -> bytes:
    """Parse and decrypt a header; stream is left at the body. Exactly one data key, no edits."""
    try:
        packets = list(header.parse(stream))
    except ValueError as error:
        raise CryptError(f"not a crypt4gh file: {error}") from error
    decrypted, ignored = header.decrypt(packets, keys.keys(), sender_pubkey=sender)
    if not decrypted:
        raise CryptError(
            "the crypt4gh header is not encrypted to this key (encrypt the file to the "
            "database's public key)"
        )
    try:
        data_packets, edit_list = header.partition_packets(decrypted)
    except ValueError as error:
        raise CryptError(f"invalid crypt4gh header: {error}") from error
    if ignored or len(data_packets) != 1 or edit_list is not None:
        raise CryptError(
            "the crypt4gh header must hold exactly one data-key packet for this key and no "
            "edit list"
        )
    try:
        return bytes(header.parse_enc_packet(data_packets[0]))
    except ValueError as error:
        raise CryptError(f"invalid crypt4gh header: {error}") from error


def _segments(stream: BinaryIO, session_key: bytes) -> Iterator[memoryview]:
    plain = bytearray(SEGMENT_SIZE)
    index = 0
    while True:
        cipher = stream.read(CIPHER_SEGMENT_SIZE)
        if not cipher:
            return
        if len(cipher) <= CIPHER_DIFF:
            raise CryptError(f"the file is truncated (segment {index} is incomplete)")
        try:
            n = sodium.chacha20poly1305_decrypt(plain, cipher, session_key)
        except Exception as error:  # noqa: BLE001 - the C extension raises a bare Exception
            raise CryptError(
                f"segment {index} fails authentication: the file is corrupt or truncated"
            ) from error
        yield memoryview(plain)[:n]
        index += 1


def verify_and_digest(
    path: str | Path, keys: KeyPair, max_plain: int | None = None
) -> tuple[Digests, int]:
    """Decrypt a crypt4gh file without writing the plaintext anywhere; its digests and the
    header's length. Raises CryptError if it is not a valid crypt4gh file for `keys`, and if
    the plaintext grows beyond `max_plain` bytes."""
    hasher = Hasher()
    with Path(path).open("rb") as stream:
        session_key = _session_key(stream, keys)
        header_length = stream.tell()
        for segment in _segments(stream, session_key):
            hasher.update(segment)
            if max_plain is not None and hasher.size > max_plain:
                raise CryptError(f"the content is larger than the declared {max_plain} bytes")
    return hasher.digests(), header_length


def decrypt_to(
    source: BinaryIO, out: BinaryIO, keys: KeyPair, sender: bytes | None = None
) -> Digests:
    """Decrypt a crypt4gh stream into `out`; the plaintext's digests.

    With `sender`, the header must have been written by that key (the database's, for reads).
    """
    hasher = Hasher()
    session_key = _session_key(source, keys, sender)
    for segment in _segments(source, session_key):
        hasher.update(segment)
        out.write(segment)
    return hasher.digests()


def reencrypt_header(path: str | Path, keys: KeyPair, recipient: bytes) -> tuple[bytes, int]:
    """A new header giving `recipient` the session key of a stored file, and the offset of the
    file's body (which is sent unchanged after it). Signed by `keys` (the database)."""
    with Path(path).open("rb") as stream:
        packets = list(header.parse(stream))
        body_offset = stream.tell()
    decrypted, _ = header.decrypt(packets, keys.keys())
    if not decrypted:
        raise CryptError(f"{path}: not encrypted to the database's key")
    new_packets = [
        packet
        for plain in decrypted
        for packet in header.encrypt(plain, [(KEY_METHOD, keys.secret, recipient)])
    ]
    return header.serialize(new_packets), body_offset


def iter_file(path: str | Path, offset: int = 0, chunk: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of a file from `offset`, in chunks."""
    with Path(path).open("rb") as handle:
        handle.seek(offset)
        while data := handle.read(chunk):
            yield data
