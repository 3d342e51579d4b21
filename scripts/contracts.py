"""Reading and writing the data contracts of workflow/schemas/, validated at the boundaries.

Writers are deterministic (fixed column and key order, Unix line ends, no timestamps). Files
under a ``private`` folder are created owner-only (folders 0700, files 0600).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from scripts.errors import QualflowError
from scripts.settings import load_schema

SEGMENT_COLUMNS = [
    "segment_id",
    "transcript_id",
    "turn",
    "sentence",
    "role",
    "speaker",
    "turn_start_s",
    "turn_end_s",
    "start_char",
    "end_char",
    "text",
    "text_sha1",
]


class ContractError(QualflowError):
    """A file that does not follow its data contract (usually: written by another version)."""


@lru_cache(maxsize=None)
def _validator(schema_name: str):
    # fastjsonschema compiles the schema to Python: ~50x faster than jsonschema per record,
    # which matters when every turn and segment of thousands of transcripts is checked.
    import fastjsonschema

    return fastjsonschema.compile(load_schema(schema_name))


def validate_records(records: Iterable[dict], schema_name: str, path: str | Path) -> None:
    """Check each record against a schema; the error names the file, the record and the field."""
    import fastjsonschema

    validate = _validator(schema_name)
    for number, record in enumerate(records, start=1):
        try:
            validate(record)
        except fastjsonschema.JsonSchemaValueException as error:
            field = ".".join(str(part) for part in error.path[1:]) or "(record)"
            # the rule, never error.message: it can quote the value, and values may be raw text
            raise ContractError(
                path,
                f"record does not match {schema_name} ({field}: '{error.rule}' rule)",
                "Delete the file and run the workflow again; if it persists, report a bug",
                line=number,
            ) from None


def private_root(path: Path) -> Path | None:
    """The outermost folder named ``private`` above path, if any."""
    parts = Path(path).parts
    if "private" not in parts:
        return None
    return Path(*parts[: parts.index("private") + 1])


def secure_private_folders(path: Path) -> None:
    """Make every folder from the private root down to path's folder owner-only (0700)."""
    root = private_root(path)
    if root is None:
        return
    folder = Path(path).parent
    folder.mkdir(parents=True, exist_ok=True)
    chain = [folder, *folder.parents]
    for directory in chain[: chain.index(root) + 1] if root in chain else [folder]:
        os.chmod(directory, 0o700)


def write_text(path: Path, text: str) -> None:
    """Write a text file; under a private folder, owner-only from the first byte."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if private_root(path) is not None:
        secure_private_folders(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.chmod(path, 0o600)  # an existing file keeps its mode through os.open
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    else:
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


def write_bytes(path: Path, data: bytes) -> None:
    """Write a binary file; under a private folder, owner-only from the first byte."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if private_root(path) is not None:
        secure_private_folders(path)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.chmod(path, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


#: Office documents (xlsx, docx) and zip exchange files are repacked with these fixed times.
FIXED_DOCUMENT_TIME = "2000-01-01T00:00:00Z"
FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


def deterministic_zip(data: bytes) -> bytes:
    """The same zip with fixed entry times and attributes and fixed Office document times.

    openpyxl and python-docx stamp the save time into ``docProps/core.xml`` and every entry:
    the same content must give the same bytes.
    """
    return deterministic_zip_of(zip_entries(data))


def zip_entries(data: bytes) -> dict[str, bytes]:
    """The entries of a zip (name -> content), in the zip's order."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        return {item.filename: source.read(item.filename) for item in source.infolist()}


def deterministic_zip_of(entries: Mapping[str, bytes]) -> bytes:
    """A zip of the entries (name -> content, in order) with fixed entry times and attributes and
    fixed Office document times (see deterministic_zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in entries.items():
            if name == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)",
                    rb"\g<1>" + FIXED_DOCUMENT_TIME.encode() + rb"\g<2>",
                    content,
                )
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, content)
    return out.getvalue()


def write_zip_deterministic(path: Path, data: bytes) -> None:
    """Write a zip (xlsx, docx...) made deterministic by :func:`deterministic_zip`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(deterministic_zip(data))


def jsonl_text(records: Iterable[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def read_jsonl(path: Path, schema_name: str | None = None) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise ContractError(
                    path,
                    "is not valid JSON lines",
                    "Delete it and run the workflow again",
                    line=number,
                ) from None
    if schema_name:
        validate_records(records, schema_name, path)
    return records


def write_jsonl(path: Path, records: list[dict], schema_name: str | None = None) -> None:
    if schema_name:
        validate_records(records, schema_name, path)
    write_text(path, jsonl_text(records))


def tsv_text(rows: Iterable[dict], columns: list[str]) -> str:
    """Tab-separated text with a header; values are written as-is (callers keep them tab-free)."""
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(_cell(row.get(column)) for column in columns))
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    if "\t" in text or "\n" in text:
        raise ValueError("a TSV cell contains a tab or line break")
    return text


def write_tsv(
    path: Path, rows: list[dict], columns: list[str], schema_name: str | None = None
) -> None:
    if schema_name:
        validate_records(rows, schema_name, path)
    write_text(path, tsv_text(rows, columns))


def read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
