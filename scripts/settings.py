"""Loading and validating the user's settings files: config.yaml, identifiers.yaml, participants.csv.

Errors name the file, the line and the setting, and never echo values: the identifier list holds
real names.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import yaml

from scripts.errors import ConfigurationError, InputFormatError, QualflowError

LOGGER = logging.getLogger("qualflow.settings")
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "workflow" / "schemas"
TRANSCRIPT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
TRANSCRIPT_SUFFIXES = (".txt", ".docx", ".vtt", ".srt")


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    with open(SCHEMA_DIR / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_yaml(path: Path, what_to_do: str) -> tuple[Any, str]:
    """The parsed document and its text (kept to find line numbers if validation fails)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(path, "file not found", what_to_do) from None
    except UnicodeDecodeError:
        raise ConfigurationError(path, "is not UTF-8 text", "Save it as UTF-8") from None
    try:
        return yaml.load(text, Loader=_FAST_LOADER), text
    except yaml.MarkedYAMLError as error:
        # problem and context only: str(error) would quote the offending line, which may hold a name
        mark = error.problem_mark or error.context_mark
        problem = error.problem or "syntax error"
        if error.context and error.context_mark and mark and error.context_mark.line != mark.line:
            problem += f", {error.context} started on line {error.context_mark.line + 1}"
        raise ConfigurationError(
            path, f"is not valid YAML ({problem})", what_to_do, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as error:
        raise ConfigurationError(
            path, f"is not valid YAML ({type(error).__name__})", what_to_do
        ) from None


# libyaml's C parser when PyYAML was built with it: the pure-Python one costs ~50 ms per file.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: yaml.Node | None, path: list) -> int | None:
    """Line (1-based) of the YAML node at a JSON-schema error path, or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((value for name, value in node.value if name.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def describe_path(path: list) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else str(key))
    return text or "(top level)"


def compose(text: str) -> yaml.Node:
    """The YAML node tree of a document, for line numbers."""
    return yaml.compose(text, Loader=_FAST_LOADER)


def validate_document(
    document: Any,
    text: str,
    schema_name: str,
    path: Path,
    fix: str,
    *,
    owner: Callable[[Any, list], str] | None = None,
    error_type: type[QualflowError] = ConfigurationError,
) -> Any:
    """Validate against a JSON schema (filling defaults); errors name the setting, not its value.

    owner(document, location) may return a prefix naming what the error is in ("code c2: ").
    """
    import jsonschema

    schema = load_schema(schema_name)
    validator_class = jsonschema.validators.validator_for(schema)
    validator = with_defaults(validator_class)(schema)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        where = describe_path(list(error.absolute_path))
        location = list(error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            allowed = ", ".join(sorted(error.schema.get("properties", {})))
            problem = (
                f"unknown key(s) {', '.join(map(str, extra))} under {where} (allowed: {allowed})"
            )
            location.append(extra[0])
        elif error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            problem = f"{where} is missing {', '.join(missing)}"
        elif error.validator == "pattern" and error.schema.get("description"):
            problem = f"{where} must be {error.schema['description']}"
        elif error.validator == "minItems" and error.validator_value == 1:
            problem = f"{where} must not be empty"
        elif error.validator == "enum":
            problem = f"{where} must be one of {', '.join(map(str, error.validator_value))}"
        elif error.validator == "type":
            problem = f"{where} must be of type {error.validator_value}"
        else:
            problem = f"{where} fails the '{error.validator}' rule ({error.validator_value})"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        prefix = owner(document, list(error.absolute_path)) if owner else ""
        raise error_type(path, prefix + problem + more, fix, line=line_of(compose(text), location))
    return document


def with_defaults(validator_class):
    """A validator that also fills in schema defaults, like snakemake.utils.validate(set_default=True)."""
    import jsonschema

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def load_config(path: Path) -> dict:
    """config.yaml, validated against workflow/schemas/config.schema.yaml, defaults filled in."""
    document, text = load_yaml(path, "Fix config.yaml (see the comments in the bundled one)")
    if not isinstance(document, dict):
        raise ConfigurationError(
            path, "is not a mapping of settings", "Start from the bundled config.yaml"
        )
    return validate_document(
        document,
        text,
        "config.schema.yaml",
        path,
        "Fix config.yaml (see the comments in the bundled one)",
    )


def load_participants(path: Path) -> list[dict[str, str]]:
    """Rows of participants.csv as dicts, in file order; transcript_id must come first and be unique."""
    path = Path(path)
    fix = "Fix data/participants.csv: one row per transcript, transcript_id in the first column"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(path, "file not found", fix) from None
    except UnicodeDecodeError:
        raise ConfigurationError(path, "is not UTF-8 text", "Save it as UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or reader.fieldnames[0] != "transcript_id":
        raise ConfigurationError(path, "the first column must be transcript_id", fix, line=1)
    rows, seen = [], {}
    for line, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ConfigurationError(
                path, "row has a different number of columns than the header", fix, line=line
            )
        transcript_id = row["transcript_id"].strip()
        if not TRANSCRIPT_ID.match(transcript_id):
            raise ConfigurationError(
                path,
                "transcript_id is empty or has characters other than letters, digits, - and _",
                fix,
                line=line,
            )
        if transcript_id in seen:
            raise ConfigurationError(
                path,
                f"transcript_id {transcript_id} also on line {seen[transcript_id]}",
                fix,
                line=line,
            )
        seen[transcript_id] = line
        rows.append({key: (value or "").strip() for key, value in row.items()})
    return rows


def check_participant_attributes(path: Path, attributes: list[str]) -> None:
    """Every attribute named in config.yaml (participants.attributes) is a column of participants.csv."""
    load_participants(path)  # the rows must be valid too
    with open(path, encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    missing = [attribute for attribute in attributes if attribute not in header]
    if missing:
        raise ConfigurationError(
            path,
            f"has no column {', '.join(missing)} (named in config.yaml, participants.attributes)",
            "Add the column or remove the attribute from config.yaml",
            line=1,
        )


def discover_transcripts(raw_dir: Path) -> dict[str, Path]:
    """Transcript ID (file stem) → raw file, sorted by ID.

    Hidden files and Word lock files (``~$name.docx``) are skipped. An unsupported format, an ID
    that cannot be a file name in results, or two files with the same ID stop the run.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise ConfigurationError(
            raw_dir,
            "folder not found",
            "Create it and put the raw transcripts in it (paths.raw in config.yaml)",
        )
    transcripts: dict[str, Path] = {}
    for path in sorted(raw_dir.iterdir()):
        if path.name.startswith((".", "~$")) or path.is_dir():
            continue
        if path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
            raise InputFormatError(
                path,
                f"unknown transcript format '{path.suffix or '(no extension)'}'",
                f"Convert it to one of {', '.join(TRANSCRIPT_SUFFIXES)} or move it out of {raw_dir}",
            )
        transcript_id = path.stem
        if not TRANSCRIPT_ID.match(transcript_id):
            raise InputFormatError(
                path,
                "the file name is not a valid transcript ID (letters, digits, - and _ only)",
                "Rename the file to a pseudonymous ID such as P07.txt",
            )
        if transcript_id in transcripts:
            raise InputFormatError(
                path,
                f"transcript ID {transcript_id} is also used by {transcripts[transcript_id].name}",
                "Keep one file per transcript: rename or remove one of them",
            )
        transcripts[transcript_id] = path
    return transcripts
