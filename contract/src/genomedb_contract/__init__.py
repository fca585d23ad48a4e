"""What the helgenom pipeline and the national genome database share (distribution
genomedb-contract), and nothing else: both sides depend on it, neither on the other.

| module | owns |
|---|---|
| `manifest` | the deposit manifest: its JSON schema (package data), further checks, building one |
| `cpr` | the CPR check: what looks like a Danish CPR number, and masking it |
| `crypto` | GA4GH crypt4gh: keys, streaming encryption/decryption, header re-encryption, digests |
| `client` | the HTTP client: a session with the database, depositing, fetching and decrypting |

Importing this package imports nothing heavy; no web framework, no database driver.
"""

__version__ = "0.1.0"
