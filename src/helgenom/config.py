"""Validation of a run's config.yaml against src/helgenom/schemas/config.schema.yaml.

Errors name the config file, the line of the offending key and the fix; defaults from the
schema are filled in so the rules can rely on every key being present.
"""

from __future__ import annotations

import copy
import gzip
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from helgenom.paths import package_path
from helgenom.problems import ProblemsError

SCHEMA_DIR = package_path("schemas")
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"

KeyPath = tuple[str | int, ...]


class ConfigError(ProblemsError):
    """Invalid configuration; str() lists every problem with file, line and fix."""

    subject = "the configuration"


def load_schema(path: Path = CONFIG_SCHEMA) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.safe_load(handle)


def _with_defaults(cls: type) -> type:
    """A validator class that also fills in `default` values of object properties."""
    validate_properties = cls.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001, ANN202
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(cls, {"properties": set_defaults})


_DefaultingValidator = _with_defaults(Draft202012Validator)


def _key_lines(path: Path) -> dict[KeyPath, int]:
    """Map each key path in a YAML file to its 1-based line number."""
    try:
        root = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    lines: dict[KeyPath, int] = {}

    def walk(node: yaml.Node, prefix: KeyPath) -> None:
        lines[prefix] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*prefix, key.value))
                lines[(*prefix, key.value)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*prefix, index))

    if root is not None:
        walk(root, ())
    return lines


def _locate(key: KeyPath, files: Sequence[Path]) -> str:
    """'config.yaml:12' for the last file that sets `key` (or its nearest parent)."""
    for path in reversed(files):
        lines = _key_lines(path)
        probe = key
        while True:
            if probe in lines and (probe or len(files) == 1):
                return f"{path}:{lines[probe]}"
            if not probe:
                break
            probe = probe[:-1]
    return str(files[-1]) if files else "config"


def _dotted(key: KeyPath) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: ValidationError, schema: Mapping[str, Any]) -> tuple[KeyPath, str]:
    key: KeyPath = tuple(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        key = (*key, missing)
        sub = error.schema.get("properties", {}).get(missing, {})
        desc = sub.get("description", "")
        return key, f"required key '{_dotted(key)}' is missing. Fix: add it ({desc})."
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return key, (
            f"{error.message} under '{_dotted(key)}'. Fix: check the spelling; "
            f"allowed keys here: {allowed}."
        )
    desc = error.schema.get("description", "")
    fix = f"{desc}." if desc else "see src/helgenom/schemas/config.schema.yaml."
    if error.validator == "not":
        return key, f"'{_dotted(key)}': {error.instance!r} is not allowed here. Fix: {fix}"
    return key, f"'{_dotted(key)}': {error.message}. Fix: {fix}"


def _iter_errors(config: dict[str, Any], schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    return _DefaultingValidator(schema).iter_errors(config)


def merge_config(config: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `update` into `config` recursively, as Snakemake merges several --configfile;
    returns `config`."""
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(config.get(key), dict):
            merge_config(config[key], value)
        else:
            config[key] = value
    return config


def read_config_files(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The configuration of several YAML config files, merged as Snakemake merges them."""
    config: dict[str, Any] = {}
    for path in paths:
        merge_config(config, yaml.safe_load(Path(path).read_text()) or {})
    return config


def validate_config(
    config: Mapping[str, Any], config_files: Sequence[str | Path] = ()
) -> dict[str, Any]:
    """Validate `config`, fill defaults and return a new dict; raise ConfigError if invalid."""
    schema = load_schema()
    validated = copy.deepcopy(dict(config))
    errors = sorted(_iter_errors(validated, schema), key=lambda e: list(map(str, e.path)))
    if errors:
        files = [Path(f) for f in config_files]
        problems = []
        for error in errors:
            key, text = _describe(error, schema)
            problems.append(f"{_locate(key, files)}: {text}")
        raise ConfigError(problems)
    calling = validated.get("calling", {})
    if calling.get("chunks") == "auto":
        from helgenom.resources import calling_chunks_auto

        calling["chunks"] = calling_chunks_auto()
    return validated


def _vcf_problem(path: Path) -> str | None:
    """Why `path` is not a VCF with a sample column (None if it is one)."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rt", errors="replace") as handle:  # type: ignore[operator]
            first = handle.readline()
            if not first.startswith("##fileformat=VCF"):
                return "does not start with ##fileformat=VCF"
            for line in handle:
                if line.startswith("#CHROM"):
                    if len(line.rstrip("\n").split("\t")) < 10:
                        return "has no sample column (a genotype is needed)"
                    return None
                if not line.startswith("##"):
                    break
    except (OSError, EOFError, UnicodeError) as error:
        return f"cannot be read ({error})"
    return "has no #CHROM header line"


def _bed_problem(path: Path) -> str | None:
    """Why `path` is not a BED file (None if its first interval is well-formed)."""
    try:
        with path.open() as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
                    return f"line {number} is not 'contig<TAB>start<TAB>end'"
                return None
    except (OSError, UnicodeError) as error:
        return f"cannot be read ({error})"
    return "holds no interval"


def check_validation(
    config: Mapping[str, Any],
    sample_ids: Collection[str],
    config_files: Sequence[str | Path] = (),
) -> None:
    """Check the `validation` section: known samples, readable truth VCF and BED files.

    Raises ConfigError naming the config key of every problem (before any job runs).
    """
    files = [Path(f) for f in config_files]
    problems = []
    for sample, entry in config.get("validation", {}).items():
        key: KeyPath = ("validation", sample)
        if sample not in sample_ids:
            problems.append(
                f"{_locate(key, files)}: '{_dotted(key)}': sample '{sample}' is not in "
                f"{config.get('samples', 'the sample sheet')}. Fix: use a sample_id of the "
                "sample sheet or remove the entry."
            )
        checks = (("truth_vcf", _vcf_problem, "a VCF"), ("confident_bed", _bed_problem, "a BED"))
        for name, check, kind in checks:
            path = Path(entry[name])
            where = f"{_locate((*key, name), files)}: '{_dotted((*key, name))}'"
            if not path.is_file():
                problems.append(
                    f"{where}: file {path} does not exist. Fix: give the path of {kind} file "
                    "(relative to the run directory or absolute)."
                )
                continue
            problem = check(path)
            if problem:
                problems.append(f"{where}: {path} {problem}. Fix: give {kind} file.")
    if problems:
        raise ConfigError(problems)


# The environment variables the export step falls back to (helgenom.export.step reads them).
EXPORT_ENV = {
    "url": "HELGENOM_GENOMEDB_URL",
    "token_file": "HELGENOM_GENOMEDB_TOKEN",
    "db_public_key": "HELGENOM_GENOMEDB_PUBLIC_KEY",
}


def check_roh(config: Mapping[str, Any], config_files: Sequence[str | Path] = ()) -> None:
    """Check the `roh` section: the allele-frequency file exists with its tabix index, and the
    UPD length is not below the counted segments' minimum length."""
    roh = config.get("roh", {})
    files = [Path(f) for f in config_files]
    problems = []
    af_file = roh.get("af_file")
    if af_file:
        key: KeyPath = ("roh", "af_file")
        where = f"{_locate(key, files)}: '{_dotted(key)}'"
        if not Path(af_file).is_file():
            problems.append(
                f"{where}: file {af_file} does not exist. Fix: give the path of the "
                "allele-frequency file (CHROM, POS, REF,ALT, AF; bgzipped), or remove the key."
            )
        elif not Path(f"{af_file}.tbi").is_file():
            problems.append(
                f"{where}: {af_file} has no tabix index. Fix: tabix -s1 -b2 -e2 {af_file}"
            )
    if roh.get("upd_min_length", 0) < roh.get("min_length", 0):
        key = ("roh", "upd_min_length")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}' ({roh['upd_min_length']}) is below "
            f"roh.min_length ({roh['min_length']}): a UPD hint needs a counted segment. Fix: "
            "raise upd_min_length or lower min_length."
        )
    if problems:
        raise ConfigError(problems)


def check_identity(
    config: Mapping[str, Any], families: Sequence[str], config_files: Sequence[str | Path] = ()
) -> None:
    """Check the `identity` and `family` sections: the fingerprint sites file exists with its
    index; families (samples.tsv) need the gVCFs their joint genotypes are merged from."""
    files = [Path(f) for f in config_files]
    problems = []
    sites = config.get("identity", {}).get("sites")
    if sites:
        key: KeyPath = ("identity", "sites")
        where = f"{_locate(key, files)}: '{_dotted(key)}'"
        index_ok = any(Path(f"{sites}{ext}").is_file() for ext in (".tbi", ".csi"))
        if not Path(sites).is_file():
            problems.append(
                f"{where}: file {sites} does not exist. Fix: give the path of a BED or VCF of "
                "common SNPs (bgzipped, tabix-indexed), or set it to null."
            )
        elif not index_ok:
            problems.append(
                f"{where}: {sites} has no tabix index. Fix: tabix -p vcf {sites} "
                f"(a VCF) or tabix -p bed {sites} (a BED)"
            )
    if families and not config.get("calling", {}).get("gvcf"):
        key = ("calling", "gvcf")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}' is false, but samples.tsv declares "
            f"families ({', '.join(families)}): their joint genotypes are merged from the "
            "members' gVCFs. Fix: set calling.gvcf: true, or leave the family columns empty."
        )
    if problems:
        raise ConfigError(problems)


def check_mito(config: Mapping[str, Any], config_files: Sequence[str | Path] = ()) -> None:
    """Check the `mito` section: the heteroplasmy threshold lies below the homoplasmic one, and
    no contig name is given twice."""
    mito = config.get("mito", {})
    files = [Path(f) for f in config_files]
    problems = []
    if mito.get("min_af", 0) >= mito.get("homoplasmic_af", 1):
        key: KeyPath = ("mito", "min_af")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}' ({mito['min_af']}) is not below "
            f"mito.homoplasmic_af ({mito['homoplasmic_af']}): no allele could be heteroplasmic. "
            "Fix: lower min_af (e.g. 0.03) or raise homoplasmic_af (e.g. 0.95)."
        )
    contigs = list(mito.get("contigs", []))
    if len(set(contigs)) != len(contigs):
        key = ("mito", "contigs")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}' names a contig twice ({contigs}). "
            "Fix: list each name once, e.g. [chrM, MT]."
        )
    if problems:
        raise ConfigError(problems)


def check_sv(config: Mapping[str, Any], config_files: Sequence[str | Path] = ()) -> None:
    """Check the `sv` section: the exclude file, when given, exists."""
    exclude = config.get("sv", {}).get("exclude_bed")
    if exclude and not Path(exclude).is_file():
        key: KeyPath = ("sv", "exclude_bed")
        raise ConfigError(
            [
                f"{_locate(key, [Path(f) for f in config_files])}: '{_dotted(key)}': file "
                f"{exclude} does not exist. Fix: give the path of the regions delly skips "
                "(contig, start, end; e.g. delly's excludeTemplates/human.hg38.excl.tsv), or "
                "remove the key."
            ]
        )


def check_cnv(
    config: Mapping[str, Any],
    config_files: Sequence[str | Path] = (),
    normals: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Check the `cnv` section: the reference mode has what it needs (file: an existing
    reference_file, and only then one; run: every sample has at least min_normals normals,
    when `normals` (sample -> the run's samples unrelated to it, Pedigree.unrelated) is
    given), and the exclude file exists."""
    cnv = config.get("cnv", {})
    if not cnv.get("enabled", True):
        return
    files = [Path(f) for f in config_files]
    problems = []
    mode, ref = cnv.get("reference", "flat"), cnv.get("reference_file")
    if mode == "file" and not ref:
        key: KeyPath = ("cnv", "reference_file")
        problems.append(
            f"{_locate(('cnv', 'reference'), files)}: 'cnv.reference' is file but "
            f"'{_dotted(key)}' is not set. Fix: give the site's panel of normals (a cnvkit "
            "reference .cnn; README, Copy-number variants), or set cnv.reference to flat."
        )
    elif mode == "file" and not Path(ref).is_file():
        key = ("cnv", "reference_file")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}': file {ref} does not exist. Fix: give the "
            "path of the site's cnvkit reference .cnn, or set cnv.reference to flat."
        )
    elif mode == "file":
        head = Path(ref).read_text(errors="replace").split("\n", 1)[0].split("\t")
        if head[:3] != ["chromosome", "start", "end"] or "log2" not in head:
            key = ("cnv", "reference_file")
            problems.append(
                f"{_locate(key, files)}: '{_dotted(key)}': {ref} is not a cnvkit reference "
                "(.cnn: chromosome, start, end, gene, log2, ... columns). Fix: build it with "
                "cnvkit reference (README, Copy-number variants)."
            )
    elif ref:
        key = ("cnv", "reference_file")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}' is set but cnv.reference is {mode}: the "
            "file would not be used. Fix: set cnv.reference to file, or remove the key."
        )
    min_normals = cnv.get("min_normals", 5)
    fewest = min(normals, key=lambda s: len(normals[s])) if mode == "run" and normals else None
    if fewest is not None and len(normals[fewest]) < min_normals:
        key = ("cnv", "reference")
        related = len(normals) - 1 - len(normals[fewest])  # its family's other members
        problems.append(
            f"{_locate(key, files)}: 'cnv.reference' is run, but the run has {len(normals)} "
            f"sample(s): sample {fewest!r} has {len(normals[fewest])} unrelated other(s) as its "
            f"panel of normals"
            + (f" ({related} relative(s) of its family left out)" if related else "")
            + f", fewer than cnv.min_normals ({min_normals}). Fix: set cnv.reference to file "
            "(the site's panel of normals) or flat, or run more unrelated samples together."
        )
    exclude = cnv.get("exclude_bed")
    if exclude and not Path(exclude).is_file():
        key = ("cnv", "exclude_bed")
        problems.append(
            f"{_locate(key, files)}: '{_dotted(key)}': file {exclude} does not exist. Fix: give "
            "the regions left out of the bins (contig, start, end), or remove the key."
        )
    if problems:
        raise ConfigError(problems)


def check_export(
    config: Mapping[str, Any],
    config_files: Sequence[str | Path] = (),
    environ: Mapping[str, str] | None = None,
) -> None:
    """Check the `export` section when the export is enabled: a database URL, a readable
    non-empty token file (or HELGENOM_GENOMEDB_TOKEN) and the database's crypt4gh public key.

    Raises ConfigError naming the config key of every problem, before any job runs (so a run
    never computes for days and then fails to deposit for a typo). The token is never shown.
    """
    from genomedb_contract.crypto import CryptError, load_public_key

    export = config.get("export", {})
    if not export.get("enabled"):
        return
    env = os.environ if environ is None else environ
    files = [Path(f) for f in config_files]
    problems = []

    def where(name: str) -> str:
        key: KeyPath = ("export", name)
        return f"{_locate(key, files)}: '{_dotted(key)}'"

    if not export.get("url") and not env.get(EXPORT_ENV["url"]):
        problems.append(
            f"{where('url')}: the export is enabled but no database URL is given. Fix: set "
            f"export.url (e.g. https://genomedb.example) or {EXPORT_ENV['url']}."
        )
    token_file = export.get("token_file")
    if token_file:
        path = Path(token_file)
        if not path.is_file():
            problems.append(
                f"{where('token_file')}: file {path} does not exist. Fix: give the file holding "
                "the department's submitter token (issued by the database's administrators)."
            )
        elif not path.read_text(errors="replace").strip():
            problems.append(f"{where('token_file')}: {path} is empty. Fix: put the token in it.")
    elif not env.get(EXPORT_ENV["token_file"], "").strip():
        problems.append(
            f"{where('token_file')}: the export is enabled but no token is given. Fix: set "
            f"export.token_file to the submitter token's file, or {EXPORT_ENV['token_file']}."
        )
    key_file = export.get("db_public_key") or env.get(EXPORT_ENV["db_public_key"])
    if not key_file:
        problems.append(
            f"{where('db_public_key')}: the export is enabled but the database's public key is "
            f"not given. Fix: set export.db_public_key or {EXPORT_ENV['db_public_key']}."
        )
    elif not Path(key_file).is_file():
        problems.append(
            f"{where('db_public_key')}: file {key_file} does not exist. Fix: give the "
            "database's crypt4gh public key file (genomedb.pub)."
        )
    else:
        try:
            load_public_key(Path(key_file))
        except CryptError as error:
            problems.append(
                f"{where('db_public_key')}: {error}. Fix: give the database's crypt4gh public "
                "key (-----BEGIN CRYPT4GH PUBLIC KEY-----)."
            )
    if problems:
        raise ConfigError(problems)
