"""Validation of a run's config.yaml against workflow/schemas/config.schema.yaml.

Errors name the config file, the line of the offending key and the fix; defaults from the
schema are filled in so the rules can rely on every key being present.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
CONFIG_SCHEMA = SCHEMA_DIR / "config.schema.yaml"

KeyPath = tuple[str | int, ...]


class ConfigError(ValueError):
    """Invalid configuration; str() lists every problem with file, line and fix."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(
            f"{len(self.problems)} problem(s) in the configuration:\n"
            + "\n".join(f"  - {p}" for p in self.problems)
        )


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
    fix = f"{desc}." if desc else "see workflow/schemas/config.schema.yaml."
    return key, f"'{_dotted(key)}': {error.message}. Fix: {fix}"


def _iter_errors(config: dict[str, Any], schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    return _DefaultingValidator(schema).iter_errors(config)


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
    return validated
