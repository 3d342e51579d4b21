"""The text and the speakers of a transcript, whatever its format: decoding, normalizing the
text, speaker labels and roles (what rule ``ingest``, scripts/ingest.py, reads every format with).
Messages never quote the transcript: they name the file, the line and what to do.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from scripts.errors import InputFormatError

LOGGER = logging.getLogger("qualflow.ingest")

SUPPORTED_SUFFIXES = (".txt", ".docx", ".vtt", ".srt")
ROLES = ("interviewer", "participant", "other")

# Straighten typographic quotes and remove invisible characters that Word and caption tools leave.
_CHARACTER_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\t": " ",
        "\u200b": "",
        "\u200c": "",
        "\u200d": "",
        "\u2060": "",
        "\ufeff": "",
        "\u00ad": "",
        "\u2028": "\n",
        "\u2029": "\n",
        "\x0b": "\n",
        "\x0c": "\n",
    }
)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class SpeakerRules:
    """How speaker labels are recognised and mapped to roles.

    Labels are compared after `label_key` (lower case, no brackets, no trailing number, no
    parenthesised suffix). `known_people` maps label keys of the study's known people (from the
    identifier list) to a role, so that named speakers are recognised.
    """

    interviewer_labels: frozenset[str] = frozenset(
        {"interviewer", "int", "i", "q", "question", "moderator", "facilitator", "researcher"}
    )
    participant_labels: frozenset[str] = frozenset(
        {"participant", "p", "a", "answer", "r", "respondent", "interviewee", "client", "provider"}
    )
    pattern: str | None = None
    known_people: Mapping[str, str] = field(default_factory=dict)
    unlabelled_role: str = "other"

    def role_of(self, label: str) -> str | None:
        key = label_key(label)
        if key in self.interviewer_labels:
            return "interviewer"
        if key in self.participant_labels:
            return "participant"
        return self.known_people.get(key)


@dataclass
class RawTurn:
    """A piece of a turn as found in the file, before merging and role assignment."""

    speaker: str | None
    text: str
    line: int
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class IngestResult:
    turns: list[dict]
    warnings: list[str]


# ---------------------------------------------------------------------------------------------
# Bytes to text


def decode_transcript(data: bytes, path: str | Path) -> str:
    """Decode a text export: UTF-8 (with or without BOM), UTF-16 (Word), or Windows-1252.

    Written by hand rather than with a charset detector: the set of encodings real transcript
    exports use is small, and an explicit ladder gives the same answer every time, where a
    statistical guess on a short file does not.
    """
    if not data.strip():
        raise InputFormatError(
            path, "the file is empty", "Remove it from data/raw/ or replace it with the transcript"
        )
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8) :], "utf-8", path)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16", path)
    if b"\x00" in data[:4096]:
        sample = data[:4096]
        odd_nuls = sample[1::2].count(0) / max(1, len(sample[1::2]))
        even_nuls = sample[0::2].count(0) / max(1, len(sample[0::2]))
        if odd_nuls > 0.3 and even_nuls < 0.05:
            return _decode(data, "utf-16-le", path)
        if even_nuls > 0.3 and odd_nuls < 0.05:
            return _decode(data, "utf-16-be", path)
        raise binary_error(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode(data, "cp1252", path)
    if len(_CONTROL_CHARACTERS.findall(text[:4096])) > max(2, len(text[:4096]) // 100):
        raise binary_error(path)
    return text


def _decode(data: bytes, encoding: str, path: str | Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputFormatError(
            path,
            f"cannot be read as {encoding} text (invalid byte at offset {error.start})",
            "Save it again as UTF-8 text (in Word: Save As, Plain Text, Unicode UTF-8)",
            line=line,
        ) from None


def binary_error(path: str | Path) -> InputFormatError:
    return InputFormatError(
        path,
        "is not a text file (it contains binary data)",
        "Export the transcript as plain text, .docx, .vtt or .srt and put that in data/raw/",
    )


_MAPPED_CHARACTER = re.compile("[" + "".join(re.escape(chr(code)) for code in _CHARACTER_MAP) + "]")


def normalize_text(text: str) -> str:
    """Unicode NFC, straight quotes, Unix line breaks, no invisible characters."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # str.translate with a mapping walks every character in Python-level lookups (4.5 s over the
    # raw text of 5,000 transcripts); a regular expression finds the few characters to map in C.
    return _MAPPED_CHARACTER.sub(_mapped, text)


def _mapped(found: re.Match) -> str:
    return found.group().translate(_CHARACTER_MAP)


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Speaker labels

_LABEL_SUFFIX = re.compile(r"\s*\([^)]*\)\s*$")
_TRAILING_NUMBER = re.compile(r"[\s_.-]*\d+$")
TIMESTAMP = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_LEADING_TIMESTAMP = re.compile(rf"^\s*[\[(]?(?P<timestamp>{TIMESTAMP})[\])]?\s*(?:-\s*)?")
# `Label: text`: a label of at most five words and 50 characters before a colon.
_COLON_LABEL = re.compile(r"^\s*(?P<label>[^\s:\[\]][^:\n]{0,49}?)\s*:(?:\s+|$)(?P<text>.*)$", re.S)
# `[Label] text` or `[Label]: text`
_BRACKET_LABEL = re.compile(r"^\s*\[(?P<label>[^\]\n]{1,50})\]\s*:?\s*(?P<text>.*)$", re.S)
_ZOOM_CAPTION_HEADER = re.compile(
    r"^\s*\[(?P<label>[^\]\n]{1,80})\]\s+(?P<timestamp>\d{1,2}:\d{2}:\d{2})\s*$"
)
_NAME_WORD = re.compile(r"^(?:[A-Z][\w'.-]*|[a-z]{1,3}|\d+|&)$")


def label_key(label: str) -> str:
    """The comparable form of a speaker label: `Interviewer1:` and `[interviewer]` → `interviewer`."""
    key = label.strip().strip("[]:").strip()
    key = _LABEL_SUFFIX.sub("", key)
    if "," in key:  # "Last, First" (WebVTT voices) → "first last"
        last, _, first = key.partition(",")
        key = f"{first.strip()} {last.strip()}"
    key = key.lower().rstrip(".").strip()
    stripped = _TRAILING_NUMBER.sub("", key)
    return " ".join((stripped or key).split())


def _looks_like_name(label: str) -> bool:
    words = _LABEL_SUFFIX.sub("", label).split()
    return (
        1 <= len(words) <= 5
        and all(_NAME_WORD.match(word) for word in words)
        and label[:1].isalpha()
    )


def accepted_labels(candidates: Iterable[str], rules: SpeakerRules) -> set[str]:
    """Labels that are speakers: known roles or people, or name-like labels that recur.

    "And she said: no" at the start of a line is not a speaker; "Neema Massawe:" three times is.
    Once a file has speakers, a full name (two words or more) is accepted even if it speaks once.
    """
    counts = Counter(candidates)
    accepted = {
        label
        for label, count in counts.items()
        if rules.role_of(label) is not None or (count >= 2 and _looks_like_name(label))
    }
    if accepted:
        accepted |= {
            label
            for label in counts
            if _looks_like_name(label) and len(_LABEL_SUFFIX.sub("", label).split()) >= 2
        }
    return accepted


def split_label(line: str, rules: SpeakerRules) -> tuple[str | None, str, float | None]:
    """(label candidate, remaining text, timestamp) for one line; the label is not yet accepted."""
    timestamp = None
    match = _LEADING_TIMESTAMP.match(line)
    if match and match.end() < len(line):
        timestamp = parse_timestamp(match.group("timestamp"))
        line = line[match.end() :]
    if rules.pattern:
        custom = re.match(rules.pattern, line)
        if custom:
            return custom.group("speaker").strip(), line[custom.end() :], timestamp
        return None, line, timestamp
    for pattern in (_BRACKET_LABEL, _COLON_LABEL):
        found = pattern.match(line)
        if found:
            return found.group("label").strip(), found.group("text"), timestamp
    return None, line, timestamp


def parse_timestamp(value: str) -> float:
    """`01:02:03.500`, `02:03,5` or `1:02:03` → seconds."""
    value = value.replace(",", ".")
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return round(seconds, 3)


# ---------------------------------------------------------------------------------------------
# Formats


def parse_labelled_lines(lines: list[tuple[int, str]], rules: SpeakerRules) -> list[RawTurn]:
    """Turns from numbered lines (text files, Word paragraphs) with `Label:` or `[Label]` starts.

    A line without an accepted label continues the current turn. Blank lines end nothing: a
    turn runs until the next label.
    """
    split = [(number, *split_label(text, rules)) for number, text in lines]
    accepted = accepted_labels((label for _, label, _, _ in split if label), rules)
    pieces: list[RawTurn] = []
    for (number, original), (_, label, rest, timestamp) in zip(lines, split, strict=True):
        if label is not None and label in accepted:
            pieces.append(RawTurn(label, rest, number, timestamp))
        elif pieces:
            pieces[-1].text += "\n" + original  # blank lines too: they separate paragraphs
        elif original.strip():  # text before the first label (a header): kept, speaker unknown
            pieces.append(RawTurn(None, original, number))
    return pieces


def parse_zoom_closed_captions(lines: list[tuple[int, str]]) -> list[RawTurn] | None:
    """Zoom's saved closed captions: `[Speaker] 10:02:15` then the text. None if not that format."""
    headers = [(number, _ZOOM_CAPTION_HEADER.match(text)) for number, text in lines]
    if sum(1 for _, match in headers if match) < 2:
        return None
    pieces: list[RawTurn] = []
    for (number, text), (_, match) in zip(lines, headers, strict=True):
        if match:
            start = parse_timestamp(match.group("timestamp"))
            pieces.append(RawTurn(match.group("label").strip(), "", number, start))
        elif text.strip():
            if not pieces:
                pieces.append(RawTurn(None, "", number))
            pieces[-1].text += "\n" + text
    return pieces


def raw_text(path: Path) -> str:
    """All the text of a raw transcript file as ingest reads it, labels and timestamps included
    (the words the identifier list's entries are looked for in: scripts/identifiers.py). Raises
    :class:`InputFormatError` for a file ingest would refuse."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table

        try:
            blocks = list(docx.Document(str(path)).iter_inner_content())
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise InputFormatError(
                path, f"is not a Word document ({type(error).__name__})", "Save it again as .docx"
            ) from None
        lines = []
        for block in blocks:
            if isinstance(block, Table):
                lines.extend(" ".join(cell.text for cell in row.cells) for row in block.rows)
            else:
                lines.append(block.text)
        return normalize_text("\n".join(lines))
    return normalize_text(decode_transcript(path.read_bytes(), path))
