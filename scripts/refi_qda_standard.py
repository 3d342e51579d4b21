"""The REFI-QDA standard as qualflow uses it, shared by the export and the import: the standard's
namespaces, file names and schemas (``workflow/schemas/refi-qda/``), the stable GUIDs qualflow
gives codes, themes, sources and cases, and a transcript's plain text as it is exported
(:func:`render_transcript`).

Positions: a plain-text selection runs from ``startPosition`` to ``endPosition`` counted in
characters (Unicode code points) of the source's plain text from 0, end exclusive: Python's
``text[start:end]``.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from lxml import etree

from scripts.settings import SCHEMA_DIR

PROJECT_NAMESPACE = "urn:QDA-XML:project:1.0"
CODEBOOK_NAMESPACE = "urn:QDA-XML:codebook:1.0"
SCHEMAS = {
    "project": SCHEMA_DIR / "refi-qda" / "Project.xsd",
    "codebook": SCHEMA_DIR / "refi-qda" / "Codebook.xsd",
}
#: The standard names the project XML inside a .qdpx project.qde and its texts' folder sources.
PROJECT_MEMBER = "project.qde"
SOURCES_FOLDER = "sources"
#: Fixed for good: every exported GUID is uuid5(this, a stable key), so a coder's software and
#: qualflow recognise the same code, source or case across exports. Changing it breaks that.
GUID_NAMESPACE = uuid.UUID("5d0c6c52-9f3e-4a8e-8d43-6a1f0e2b7c19")
QUALFLOW_USER = "qualflow"
SUGGESTIONS_USER = "qualflow-suggestions"


# ---------------------------------------------------------------------------------------------
# GUIDs and the rendered transcript text
# ---------------------------------------------------------------------------------------------


def stable_guid(kind: str, key: str) -> str:
    """The GUID qualflow gives one thing (kind: code, theme, source, case, ...) in every export."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}"))


def normalized_guid(value: str | None) -> str:
    """A GUID for comparing: lower case, without the braces the schema also allows."""
    return (value or "").strip().strip("{}").lower()


@dataclass(frozen=True)
class RenderedTranscript:
    """A transcript's plain text as exported, and where each segment is in it ([start, end))."""

    transcript_id: str
    text: str
    spans: tuple[tuple[str, int, int], ...]  # segment_id, start, end; in text order


def render_transcript(rows: Sequence[dict[str, str]]) -> RenderedTranscript:
    """The plain text of one transcript from its segment rows alone: one line per speaker turn,
    ``"Speaker: sentence sentence ...\\n"``, sentences joined by one space.

    Import re-renders the text the same way to check that a coded source is still the transcript
    qualflow knows and to map selections to segments.
    """
    ordered = sorted(rows, key=lambda row: (int(row["turn"]), int(row["sentence"])))
    pieces: list[str] = []
    spans: list[tuple[str, int, int]] = []
    position = 0
    turn = None
    for row in ordered:
        if row["turn"] != turn:
            if turn is not None:
                pieces.append("\n")
                position += 1
            turn = row["turn"]
            label = f"{row.get('speaker') or row['role'].title()}: "
        else:
            label = " "
        pieces.append(label)
        position += len(label)
        spans.append((row["segment_id"], position, position + len(row["text"])))
        pieces.append(row["text"])
        position += len(row["text"])
    if ordered:
        pieces.append("\n")
    transcript_id = ordered[0]["transcript_id"] if ordered else ""
    return RenderedTranscript(transcript_id, "".join(pieces), tuple(spans))


# ---------------------------------------------------------------------------------------------
# The schemas
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _schema(kind: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS[kind])))


# A schema object keeps the errors of its last validation: jobs running as threads take turns.
_SCHEMA_LOCK = threading.Lock()


_ELEMENT_NAME = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")
_ATTRIBUTE_NAME = re.compile(r"attribute '([^']+)'")


def schema_errors(root: etree._Element, kind: str) -> list[str]:
    """Where an XML document departs from the REFI-QDA schema ('line N: element X (attribute Y)').

    Only line numbers and element and attribute names: lxml's own messages can quote values.
    """
    with _SCHEMA_LOCK:
        schema = _schema(kind)
        if schema.validate(root):
            return []
        log = list(schema.error_log)
    found = []
    for error in log:
        element = _ELEMENT_NAME.search(error.message)
        attribute = _ATTRIBUTE_NAME.search(error.message)
        where = f"line {error.line}: element {element.group(1) if element else '(unknown)'}"
        found.append(where + (f" (attribute {attribute.group(1)})" if attribute else ""))
    return found
