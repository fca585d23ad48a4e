"""The national genome database's receiving side: an HTTP service with a catalog and an
encrypted, content-addressed object store.

Modules (small, each with one job):

| module | owns |
|---|---|
| `settings`, `context` | the home (keys, catalog, objects, staging), limits; an opened home |
| `crypto` | GA4GH crypt4gh: keys, streaming encryption/decryption, header re-encryption |
| `errors` | the refusal type (HTTP status and message) |
| `manifest` | the submission manifest's schema checks and content digest (shared with export) |
| `naming` | identifiers: validation, CPR refusal and masking, accessions, object and deposit IDs |
| `catalog` | the catalog tables (SQLAlchemy Core), SQLite or PostgreSQL |
| `tokens` | principals (role, department, projects, public key) and their bearer tokens |
| `audit` | the append-only, hash-chained audit log and its verification |
| `store` | encrypted objects on disk, addressed by the SHA-256 of their content |
| `ingest` | deposits: staging, verification, atomic commit, receipts |
| `access` | who may do what: roles, departments, projects, readable file kinds |
| `reads` | catalog reads for each role: samples, receipts, DRS objects, projects |
| `app` | the FastAPI application (HTTP endpoints, audit middleware) |
| `backup` | copying catalog and objects to a second location, verifying, restoring |
| `admin` | deletion on request (tombstones), research projects, staging clean-up |
| `client` | an HTTP client for readers (fetch a DRS object and decrypt it) |
| `cli` | `python -m helgenom.genomedb ...` |

Importing this package imports nothing heavy: the pipeline side (`helgenom.export`) uses
`crypto` and `client` without the web framework.
"""
