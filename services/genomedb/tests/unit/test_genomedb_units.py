"""Unit tests of the genome database's pieces: crypt4gh, identifiers, manifest, audit chain,
tokens, without the HTTP service."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crypt4gh import lib
from sqlalchemy import select, update

from genomedb import audit, tokens
from genomedb.catalog import audit_log, connect, create_schema, principals, timestamp
from genomedb.errors import GenomeDBError
from genomedb.ingest import content_sha256
from genomedb.naming import check_file_key, check_identifier, looks_like_cpr, mask, new_id
from genomedb_contract.crypto import (
    CryptError,
    Hasher,
    decrypt_to,
    encrypt_file,
    encrypted_size,
    file_digests,
    generate_keypair,
    load_keypair,
    load_public_key,
    reencrypt_header,
    verify_and_digest,
)
from genomedb_contract.manifest import manifest_problems


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("keys")
    generate_keypair(folder / "db.sec", folder / "db.pub")
    generate_keypair(folder / "reader.sec", folder / "reader.pub", passphrase="s3cret")
    return {
        "db": load_keypair(folder / "db.sec"),
        "reader": load_keypair(folder / "reader.sec", "s3cret"),
        "folder": folder,
    }


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536 + 17, 20 * 65536 + 1])
def test_streamed_encryption_is_standard_crypt4gh(keys: dict, tmp_path: Path, size: int) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    hasher = Hasher()
    chunks = list(encrypt_file(plain, keys["db"].public, hasher))
    encrypted = b"".join(chunks)
    assert len(encrypted) == encrypted_size(size, len(chunks[0]))
    assert hasher.digests() == file_digests(plain)
    # The crypt4gh library itself decrypts it.
    out = io.BytesIO()
    lib.decrypt(keys["db"].keys(), io.BytesIO(encrypted), out)
    assert out.getvalue() == plain.read_bytes()
    (tmp_path / "enc").write_bytes(encrypted)
    digests, header_length = verify_and_digest(tmp_path / "enc", keys["db"])
    assert digests == file_digests(plain) and header_length == len(chunks[0])


def test_header_reencryption_gives_the_reader_the_content_and_proves_the_sender(
    keys: dict, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"ACGT" * 50_000)
    stored = tmp_path / "stored"
    stored.write_bytes(b"".join(encrypt_file(plain, keys["db"].public)))
    header, offset = reencrypt_header(stored, keys["db"], keys["reader"].public)
    for_reader = header + stored.read_bytes()[offset:]
    assert for_reader[len(header) :] == stored.read_bytes()[offset:]  # body untouched
    out = io.BytesIO()
    decrypt_to(io.BytesIO(for_reader), out, keys["reader"], sender=keys["db"].public)
    assert out.getvalue() == plain.read_bytes()
    with pytest.raises(CryptError, match="not encrypted to this key"):
        decrypt_to(io.BytesIO(for_reader), io.BytesIO(), keys["db"])
    with pytest.raises(CryptError, match="not encrypted to this key"):  # another sender
        decrypt_to(io.BytesIO(for_reader), io.BytesIO(), keys["reader"], sender=b"x" * 32)


def test_corruption_is_detected(keys: dict, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"x" * 200_000)
    data = bytearray(b"".join(encrypt_file(plain, keys["db"].public)))
    data[500] ^= 1
    (tmp_path / "bad").write_bytes(bytes(data))
    with pytest.raises(CryptError, match="segment 0 fails authentication"):
        verify_and_digest(tmp_path / "bad", keys["db"])
    (tmp_path / "big").write_bytes(b"".join(encrypt_file(plain, keys["db"].public)))
    with pytest.raises(CryptError, match="larger than the declared 1000 bytes"):
        verify_and_digest(tmp_path / "big", keys["db"], max_plain=1000)


def test_keys(keys: dict) -> None:
    folder = keys["folder"]
    assert (folder / "db.sec").stat().st_mode & 0o777 == 0o400
    assert load_public_key(folder / "reader.pub") == keys["reader"].public
    with pytest.raises(CryptError, match="wrong passphrase"):
        load_keypair(folder / "reader.sec", "wrong")
    with pytest.raises(CryptError):
        load_public_key(b"short")


@pytest.mark.parametrize("value", ["010190-1234", "0101901234", "x311299-0001y", "S_0101901234"])
def test_cpr_like_identifiers_are_refused_without_echo(value: str) -> None:
    with pytest.raises(GenomeDBError) as error:
        check_identifier(value, "sample_id")
    assert error.value.status == 422 and "CPR" in error.value.message
    assert value not in error.value.message
    assert not any(c.isdigit() for c in mask(value))


@pytest.mark.parametrize("value", ["../x", "a/b", ".hidden", "", "x" * 65, "a..b", "a b"])
def test_unsafe_identifiers_are_refused(value: str) -> None:
    with pytest.raises(GenomeDBError, match="not a valid identifier"):
        check_identifier(value, "sample_id")


def test_file_keys_and_service_ids() -> None:
    for key in ("cram", "vcf_tbi", "qc_fastp_c0d8dacxx.1", "report_pdf", "roh_summary"):
        assert check_file_key(key) == key
    assert check_file_key("mito_vcf_tbi") == "mito_vcf_tbi"
    assert check_file_key("sv_summary") == "sv_summary"
    assert check_file_key("cnv_vcf_tbi") == "cnv_vcf_tbi"
    for key in ("../cram", "qc_", "report_X", "bam", "qc_a/b", "mito_", "mitochondria"):
        with pytest.raises(GenomeDBError):
            check_file_key(key)
    ids = {new_id("drs") for _ in range(2000)}
    assert len(ids) == 2000 and not any(looks_like_cpr(i) for i in ids)


def test_manifest_checks_and_content_digest() -> None:
    assert "(top level): 'schema_version' is a required property" in manifest_problems({})
    problems = manifest_problems({"sample_id": "0101901234", "files": {}})
    assert problems == [
        "sample_id: looks like a CPR number: identifiers must be pseudonymised (the value is "
        "not shown)"
    ]
    a = {"vcf": {"size": 1, "sha256": "a" * 64, "filename": "x", "md5": "b" * 32}}
    b = {"vcf": {"size": 1, "sha256": "a" * 64, "filename": "renamed", "md5": "b" * 32}}
    assert content_sha256(a) == content_sha256(b)  # content, not names
    assert content_sha256(a) != content_sha256({"vcf": {**a["vcf"], "sha256": "c" * 64}})


def test_audit_chain_detects_change_removal_and_insertion(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'c.sqlite'}")
    create_schema(engine)
    key = b"k" * 32
    with engine.begin() as conn:
        for index in range(5):
            audit.append(
                conn, key, actor=f"pr-{index}", role="auditor", department=None,
                action="audit.read", method="GET", target={"n": index}, outcome=200,
            )  # fmt: skip
        rows = [dict(r._mapping) for r in conn.execute(select(audit_log).order_by(audit_log.c.seq))]
    assert audit.verify_rows(rows, key).ok
    assert not audit.verify_rows(rows, b"x" * 32).ok  # the key matters
    changed = [dict(r) for r in rows]
    changed[2]["outcome"] = 403
    assert audit.verify_rows(changed, key).broken_seq == 3
    assert audit.verify_rows(rows[:2] + rows[3:], key).broken_seq == 3
    assert audit.verify_rows([rows[0], rows[0], *rows[1:]], key).broken_seq == 2
    with engine.begin() as conn:
        result = audit.verify(conn, key)
    assert (result.ok, result.entries) == (True, 5)


def test_tokens_store_only_hashes_and_can_be_revoked(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'c.sqlite'}")
    create_schema(engine)
    with engine.begin() as conn:
        principal, token = tokens.issue(conn, name="lims", role="submitter", department="kg-x")
        stored = conn.exec_driver_sql("SELECT * FROM principals").all()
        assert token not in repr(stored)
        assert tokens.authenticate(conn, token) == principal
        assert tokens.authenticate(conn, token + "x") is None
        tokens.revoke(conn, principal.id)
        assert tokens.authenticate(conn, token) is None
        old, expired = tokens.issue(conn, name="old", role="auditor", expires_days=1)
        assert tokens.authenticate(conn, expired) is not None
        conn.execute(  # a day later
            update(principals)
            .where(principals.c.id == old.id)
            .values(expires_at=timestamp(datetime.now(UTC) - timedelta(seconds=1)))
        )
        assert tokens.authenticate(conn, expired) is None
        for days in (0, -1, float("nan"), 1e9):  # expiry is explicit and in the future
            with pytest.raises(GenomeDBError, match="--expires-days must be above 0"):
                tokens.issue(conn, name="x", role="auditor", expires_days=days)
        for bad in (
            {"role": "submitter"},
            {"role": "researcher"},
            {"role": "auditor", "department": "kg-x"},
            {"role": "clinician", "department": "kg-x", "projects": ["p"]},
            {"role": "root"},
        ):
            with pytest.raises(GenomeDBError):
                tokens.issue(conn, name="x", **bad)


def test_roh_mito_and_sv_files_are_read_as_the_vcfs_are() -> None:
    """Runs of homozygosity, mitochondrial and structural variants are variant-level results:
    clinicians and researchers read them (as the VCFs); reports stay the clinicians', QC the
    researchers'."""
    from genomedb.access import may_read_file
    from genomedb.tokens import Principal

    clinician = Principal("p1", "c", "clinician", department="kg-x")
    researcher = Principal("p2", "r", "researcher", projects=("p",))
    auditor = Principal("p3", "a", "auditor")
    for key in (
        "roh_summary",
        "mito_vcf",
        "mito_summary",
        "sv_vcf",
        "cnv_vcf",
        "cnv_summary",
        "vcf",
    ):
        assert may_read_file(clinician, key) and may_read_file(researcher, key)
        assert not may_read_file(auditor, key)
    assert not may_read_file(researcher, "report_pdf")
    assert not may_read_file(clinician, "qc_samtools_stats")
