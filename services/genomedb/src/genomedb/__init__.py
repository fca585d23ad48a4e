"""The national genome database (distribution genomedb): an HTTP service with a catalog and
an encrypted, content-addressed object store. Deployed at the database, not on the HPC
sites; it shares only genomedb_contract (manifest schema, crypt4gh, CPR check, client) with
the helgenom pipeline and imports nothing of it.

Modules (small, each with one job):

| module | owns |
|---|---|
| `settings`, `context` | the home (keys, catalog, objects, staging), limits; an opened home |
| `errors` | the refusal type (HTTP status and message) |
| `naming` | identifiers: validation, CPR refusal, accessions, object and deposit IDs |
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
| `service` | the service as a subprocess on this machine (an embedded database, tests) |
| `testing` | a real running deployment for integration tests (like fastapi.testclient) |
| `cli` | the `genomedb` command (`python -m genomedb ...`) |

Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
