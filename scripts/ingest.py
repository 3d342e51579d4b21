"""Ingest: read a raw interview transcript (.txt, .docx, .vtt, .srt) into normalized turns.

One turn per speaker turn, in order: ``transcript_id, turn, speaker, role, start_s?, end_s?, text``
(``workflow/schemas/transcript.schema.yaml``). The output holds raw text and lives under
``results/private/``. Error and warning messages never quote the transcript: they name the file,
the line (or paragraph, or caption cue) and what to do.
"""

from __future__ import annotations

import argparse
import codecs
import io
import logging
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

if __package__ in (None, ""):  # run as a file (python scripts/ingest.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.errors import InputFormatError

LOGGER = logging.getLogger("qualflow.ingest")

SUPPORTED_SUFFIXES = (".txt", ".docx", ".vtt", ".srt")
ROLES = ("interviewer", "participant", "other")

# Straighten typographic quotes and remove invisible characters that Word and caption tools leave.
_CHARACTER_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\t": " ",
        "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
        "\u2028": "\n", "\u2029": "\n", "\x0b": "\n", "\x0c": "\n",
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
        raise InputFormatError(path, "the file is empty", "Remove it from data/raw/ or replace it with the transcript")
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8):], "utf-8", path)
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
        raise _binary_error(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = _decode(data, "cp1252", path)
    if len(_CONTROL_CHARACTERS.findall(text[:4096])) > max(2, len(text[:4096]) // 100):
        raise _binary_error(path)
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


def _binary_error(path: str | Path) -> InputFormatError:
    return InputFormatError(
        path,
        "is not a text file (it contains binary data)",
        "Export the transcript as plain text, .docx, .vtt or .srt and put that in data/raw/",
    )


def normalize_text(text: str) -> str:
    """Unicode NFC, straight quotes, Unix line breaks, no invisible characters."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_CHARACTER_MAP)


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Speaker labels

_LABEL_SUFFIX = re.compile(r"\s*\([^)]*\)\s*$")
_TRAILING_NUMBER = re.compile(r"[\s_.-]*\d+$")
_TIMESTAMP = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_LEADING_TIMESTAMP = re.compile(rf"^\s*[\[(]?(?P<timestamp>{_TIMESTAMP})[\])]?\s*(?:-\s*)?")
# `Label: text`: a label of at most five words and 50 characters before a colon.
_COLON_LABEL = re.compile(r"^\s*(?P<label>[^\s:\[\]][^:\n]{0,49}?)\s*:(?:\s+|$)(?P<text>.*)$", re.S)
# `[Label] text` or `[Label]: text`
_BRACKET_LABEL = re.compile(r"^\s*\[(?P<label>[^\]\n]{1,50})\]\s*:?\s*(?P<text>.*)$", re.S)
_ZOOM_CAPTION_HEADER = re.compile(r"^\s*\[(?P<label>[^\]\n]{1,80})\]\s+(?P<timestamp>\d{1,2}:\d{2}:\d{2})\s*$")
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
    return 1 <= len(words) <= 5 and all(_NAME_WORD.match(word) for word in words) and label[:1].isalpha()


def _accepted_labels(candidates: Iterable[str], rules: SpeakerRules) -> set[str]:
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
            label for label in counts
            if _looks_like_name(label) and len(_LABEL_SUFFIX.sub("", label).split()) >= 2
        }
    return accepted


def _split_label(line: str, rules: SpeakerRules) -> tuple[str | None, str, float | None]:
    """(label candidate, remaining text, timestamp) for one line; the label is not yet accepted."""
    timestamp = None
    match = _LEADING_TIMESTAMP.match(line)
    if match and match.end() < len(line):
        timestamp = parse_timestamp(match.group("timestamp"))
        line = line[match.end():]
    if rules.pattern:
        custom = re.match(rules.pattern, line)
        if custom:
            return custom.group("speaker").strip(), line[custom.end():], timestamp
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
    split = [(number, *_split_label(text, rules)) for number, text in lines]
    accepted = _accepted_labels((label for _, label, _, _ in split if label), rules)
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


def read_text_file(path: Path, text: str, rules: SpeakerRules) -> list[RawTurn]:
    lines = list(enumerate(text.split("\n"), start=1))
    zoom = parse_zoom_closed_captions(lines) if not rules.pattern else None
    return zoom if zoom is not None else parse_labelled_lines(lines, rules)


def read_docx(path: Path, rules: SpeakerRules) -> list[RawTurn]:
    """Word: one paragraph or table row a line; a bold run at the start of a paragraph is a label."""
    import docx  # python-docx; imported here so the other formats do not pay for it
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        blocks = list(document.iter_inner_content())
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise InputFormatError(
            path,
            f"is not a Word document ({type(error).__name__})",
            "Open it in Word and save it again as .docx, or export it as plain text",
        ) from None
    lines: list[tuple[int, str]] = []
    bold_labels: dict[int, str] = {}
    number = 0
    for block in blocks:
        rows = (
            [[cell.text for cell in row.cells] for row in block.rows]
            if isinstance(block, Table)
            else [None]
        )
        for cells in rows:
            number += 1
            if cells is not None:  # a two-column table: speaker | text
                if len(cells) >= 2 and cells[0].strip():
                    bold_labels[number] = cells[0].strip().rstrip(":")
                    lines.append((number, cells[-1]))
                else:
                    lines.append((number, " ".join(cells)))
                continue
            bold, rest = _bold_prefix(block)
            if bold:
                bold_labels[number] = bold
                lines.append((number, rest))
            else:
                lines.append((number, block.text))
    if not bold_labels:
        return parse_labelled_lines(lines, rules)
    pieces: list[RawTurn] = []
    for number, text in lines:
        if number in bold_labels:
            pieces.append(RawTurn(bold_labels[number], text, number))
        elif text.strip():
            if pieces:
                pieces[-1].text += "\n" + text
            else:
                pieces.append(RawTurn(None, text, number))
    return pieces


def _bold_prefix(paragraph) -> tuple[str | None, str]:
    """The bold label at the start of a paragraph and the text after it, or (None, text)."""
    runs = paragraph.runs
    index = 0
    label = ""
    while index < len(runs) and (runs[index].bold or not runs[index].text.strip()):
        if runs[index].bold:
            label += runs[index].text
        index += 1
    label = label.strip().rstrip(":").strip()
    if not label or len(label) > 50 or len(label.split()) > 5:
        return None, paragraph.text
    rest = "".join(run.text for run in runs[index:]).lstrip()
    if rest.startswith(":"):
        rest = rest[1:]
    return label, rest


_CUE_TIMING = re.compile(
    rf"^\s*(?P<start>{_TIMESTAMP})\s+-->\s+(?P<end>{_TIMESTAMP})(?:\s+.*)?$"
)
# A line that was meant as a cue timing ("00:00:03.000 -> 00:00:04.000"): the parsers read it
# as caption text without a word, so it is checked here.
_TIMING_LIKE = re.compile(r"^\s*\d{1,2}:\d{2}[\d:.,]*\s*(?:-+>?|=+>|–|—)\s*\d")
_VOICE_SPAN = re.compile(r"<v(?:\.[\w.-]+)*\s+(?P<voice>[^>]+)>(?P<text>.*?)(?:</v>|(?=<v[\s.])|$)", re.S)
_CUE_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d[\d:.]*>")


def check_cue_timings(path: Path, text: str) -> None:
    """Name the first caption timing line that is broken: the caption parser does not say where."""
    for number, line in enumerate(text.split("\n"), start=1):
        if "-->" not in line and not _TIMING_LIKE.match(line):
            continue
        match = _CUE_TIMING.match(line)
        if not match:
            raise InputFormatError(
                path,
                "broken caption timestamp (expected HH:MM:SS.mmm --> HH:MM:SS.mmm)",
                "Fix the timestamp in a text editor or export the captions again",
                line=number,
            )
        if parse_timestamp(match.group("end")) < parse_timestamp(match.group("start")):
            raise InputFormatError(
                path, "caption ends before it starts", "Fix the timestamp or export the captions again", line=number
            )


def read_captions(path: Path, text: str, rules: SpeakerRules) -> list[RawTurn]:
    """WebVTT or SRT via webvtt-py; speakers from `<v Name>` voices or a `Name:` cue prefix."""
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    check_cue_timings(path, text)
    kind = "srt" if path.suffix.lower() == ".srt" else "vtt"
    try:
        captions = webvtt.from_buffer(io.StringIO(text), format=kind).captions
    except (MalformedCaptionError, MalformedFileError) as error:
        raise InputFormatError(
            path,
            f"is not a valid {'SubRip' if kind == 'srt' else 'WebVTT'} caption file ({type(error).__name__})",
            "Export the captions again from the recording tool",
        ) from None
    if not captions:
        raise InputFormatError(path, "contains no captions", "Export the captions again from the recording tool")
    cue_lines = _cue_line_numbers(text)
    pieces: list[RawTurn] = []
    for index, caption in enumerate(captions):
        line = cue_lines[index] if index < len(cue_lines) else 0
        # caption.start_in_seconds truncates to whole seconds: parse the timestamp text instead
        start, end = parse_timestamp(caption.start), parse_timestamp(caption.end)
        raw = "\n".join(caption.lines)
        if "<v" in raw:
            for match in _VOICE_SPAN.finditer(raw):
                content = _CUE_TAG.sub("", match.group("text"))
                pieces.append(RawTurn(match.group("voice").strip(), content, line, start, end))
            continue
        pieces.append(RawTurn(None, _CUE_TAG.sub("", raw), line, start, end))
    _label_caption_prefixes(pieces, rules)
    return pieces


def _cue_line_numbers(text: str) -> list[int]:
    return [number for number, line in enumerate(text.split("\n"), start=1) if "-->" in line]


def _label_caption_prefixes(pieces: list[RawTurn], rules: SpeakerRules) -> None:
    """`Name: text` cues (Zoom, SRT): the name is the speaker; a cue without one continues the turn."""
    candidates = []
    for piece in pieces:
        if piece.speaker is None:
            label, rest, _ = _split_label(piece.text, rules)
            candidates.append((label, rest))
        else:
            candidates.append((None, piece.text))
    accepted = _accepted_labels((label for label, _ in candidates if label), rules)
    for piece, (label, rest) in zip(pieces, candidates, strict=True):
        if label is not None and label in accepted:
            piece.speaker, piece.text = label, rest


# ---------------------------------------------------------------------------------------------
# Turns and roles


def merge_turns(pieces: list[RawTurn]) -> list[RawTurn]:
    """Consecutive pieces by the same speaker form one turn; a piece without a speaker continues."""
    turns: list[RawTurn] = []
    for piece in pieces:
        text = collapse_whitespace(piece.text)
        if turns and (piece.speaker is None or piece.speaker == turns[-1].speaker) and turns[-1].speaker is not None:
            last = turns[-1]
            last.text = f"{last.text} {text}".strip()
            if piece.end_s is not None:
                last.end_s = piece.end_s
                last.start_s = last.start_s if last.start_s is not None else piece.start_s
        elif text or piece.speaker is not None:
            turns.append(RawTurn(piece.speaker, text, piece.line, piece.start_s, piece.end_s))
    return [turn for turn in turns if turn.text]


def assign_roles(turns: list[RawTurn], rules: SpeakerRules, path: str | Path) -> tuple[dict[str, str], list[str]]:
    """Map every speaker label to interviewer, participant or other.

    Labels the config or identifier list does not know get a role by a stated guess: if some
    label is known to be an interviewer, the unknown ones are participants; otherwise the label
    that asks the most questions is the interviewer. Each guess is a warning naming the first line
    of that speaker (not the label, which may be a name).
    """
    labels = list(dict.fromkeys(turn.speaker for turn in turns if turn.speaker is not None))
    roles = {label: rules.role_of(label) for label in labels}
    unknown = [label for label in labels if roles[label] is None]
    warnings: list[str] = []
    if unknown:
        if "interviewer" in roles.values():
            guesses = {label: "participant" for label in unknown}
        else:
            def question_share(label: str) -> float:
                own = [turn for turn in turns if turn.speaker == label]
                return sum(turn.text.rstrip().endswith("?") for turn in own) / len(own)

            asker = max(unknown, key=question_share)
            guesses = {label: ("interviewer" if label == asker else "participant") for label in unknown}
        for label in unknown:
            first_line = next(turn.line for turn in turns if turn.speaker == label)
            warnings.append(
                f"{path}, line {first_line}: speaker label not in config.yaml (speakers) nor in the "
                f"identifier list; assumed to be a{'n' if guesses[label] == 'interviewer' else ''} "
                f"{guesses[label]}. Add the label to config.yaml or the person to data/identifiers.yaml"
            )
        roles.update(guesses)
    return roles, warnings


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
            raise InputFormatError(path, f"is not a Word document ({type(error).__name__})", "Save it again as .docx") from None
        lines = []
        for block in blocks:
            if isinstance(block, Table):
                lines.extend(" ".join(cell.text for cell in row.cells) for row in block.rows)
            else:
                lines.append(block.text)
        return normalize_text("\n".join(lines))
    return normalize_text(decode_transcript(path.read_bytes(), path))


def ingest_transcript(path: Path, transcript_id: str, rules: SpeakerRules) -> IngestResult:
    """Read one raw transcript file into normalized turns (raw text: keep it private)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputFormatError(
            path,
            f"unknown transcript format '{suffix or '(none)'}'",
            f"Convert it to one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    data = path.read_bytes()
    if not data.strip():
        raise InputFormatError(path, "the file is empty", "Remove it from data/raw/ or replace it with the transcript")
    if suffix == ".docx":
        pieces = read_docx(path, rules)
    else:
        if data[:2] == b"PK":
            raise _binary_error(path)
        text = normalize_text(decode_transcript(data, path))
        if suffix in (".vtt", ".srt"):
            pieces = read_captions(path, text, rules)
        else:
            pieces = read_text_file(path, text, rules)
    for piece in pieces:
        piece.text = normalize_text(piece.text)
        if piece.speaker is not None:
            piece.speaker = collapse_whitespace(normalize_text(piece.speaker))
    warnings: list[str] = []
    if not any(piece.speaker for piece in pieces):
        warnings.append(
            f"{path}: no speaker labels found; every paragraph is kept as a turn by one unknown "
            f"speaker (role '{rules.unlabelled_role}'). Add labels such as 'Interviewer:' and "
            "'Participant:', or set speakers.pattern in config.yaml"
        )
        turns = _unlabelled_turns(pieces)
        roles: dict[str, str] = {}
    else:
        turns = merge_turns(pieces)
        roles, role_warnings = assign_roles(turns, rules, path)
        warnings.extend(role_warnings)
    if not turns:
        raise InputFormatError(path, "contains no transcript text", "Check that the file is the transcript and not empty")
    records = []
    for number, turn in enumerate(turns, start=1):
        record: dict = {
            "transcript_id": transcript_id,
            "turn": number,
            "speaker": turn.speaker if turn.speaker is not None else "Unknown",
            "role": roles.get(turn.speaker, rules.unlabelled_role) if turn.speaker else rules.unlabelled_role,
        }
        if turn.start_s is not None:
            record["start_s"] = turn.start_s
        if turn.end_s is not None:
            record["end_s"] = turn.end_s
        record["text"] = turn.text
        records.append(record)
    return IngestResult(records, warnings)


def _unlabelled_turns(pieces: list[RawTurn]) -> list[RawTurn]:
    """Without labels, each paragraph (block of lines between blank lines) is a turn."""
    turns = []
    for piece in pieces:
        for paragraph in re.split(r"\n\s*\n", piece.text):
            text = collapse_whitespace(paragraph)
            if text:
                turns.append(RawTurn(None, text, piece.line, piece.start_s, piece.end_s))
    return turns


def main(argv: list[str] | None = None) -> int:
    from scripts import settings
    from scripts.contracts import write_jsonl_private
    from scripts.errors import QualflowError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="raw transcript (.txt, .docx, .vtt, .srt)")
    parser.add_argument("output", type=Path, help="normalized transcript to write (JSON lines; private)")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        config = settings.load_config(arguments.config)
        rules = settings.speaker_rules(config, settings.load_identifier_list(Path(config["paths"]["identifiers"])))
        result = ingest_transcript(arguments.raw, arguments.raw.stem, rules)
    except QualflowError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        LOGGER.warning(warning)
    write_jsonl_private(arguments.output, result.turns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
