"""Ingest: read a raw interview transcript (.txt, .docx, .vtt, .srt) into normalized turns.

One turn per speaker turn, in order: ``transcript_id, turn, speaker, role, start_s?, end_s?, text``
(``workflow/schemas/transcript.schema.yaml``). The output holds raw text and lives under
``results/private/``. Error and warning messages never quote the transcript: they name the file,
the line (or paragraph, or caption cue) and what to do.
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import sys
import zipfile
from pathlib import Path

if __package__ in (None, ""):  # run as a file (python scripts/ingest.py): make `scripts` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import parts
from scripts.contracts import write_jsonl
from scripts.errors import InputFormatError
from scripts.identifiers import IdentifierList, load_identifier_list
from scripts.rule_jobs import job_log, rule_job
from scripts.transcript_text import (  # noqa: F401 - label_key and normalize_text: what ingest means by them
    LOGGER,
    SUPPORTED_SUFFIXES,
    TIMESTAMP,
    IngestResult,
    RawTurn,
    SpeakerRules,
    accepted_labels,
    binary_error,
    collapse_whitespace,
    decode_transcript,
    label_key,
    normalize_text,
    parse_labelled_lines,
    parse_timestamp,
    parse_zoom_closed_captions,
    split_label,
)


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


_CUE_TIMING = re.compile(rf"^\s*(?P<start>{TIMESTAMP})\s+-->\s+(?P<end>{TIMESTAMP})(?:\s+.*)?$")
# A line that was meant as a cue timing ("00:00:03.000 -> 00:00:04.000"): the parsers read it
# as caption text without a word, so it is checked here.
_TIMING_LIKE = re.compile(r"^\s*\d{1,2}:\d{2}[\d:.,]*\s*(?:-+>?|=+>|–|—)\s*\d")
_VOICE_SPAN = re.compile(
    r"<v(?:\.[\w.-]+)*\s+(?P<voice>[^>]+)>(?P<text>.*?)(?:</v>|(?=<v[\s.])|$)", re.S
)
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
                path,
                "caption ends before it starts",
                "Fix the timestamp or export the captions again",
                line=number,
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
        raise InputFormatError(
            path, "contains no captions", "Export the captions again from the recording tool"
        )
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
            label, rest, _ = split_label(piece.text, rules)
            candidates.append((label, rest))
        else:
            candidates.append((None, piece.text))
    accepted = accepted_labels((label for label, _ in candidates if label), rules)
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
        if (
            turns
            and (piece.speaker is None or piece.speaker == turns[-1].speaker)
            and turns[-1].speaker is not None
        ):
            last = turns[-1]
            last.text = f"{last.text} {text}".strip()
            if piece.end_s is not None:
                last.end_s = piece.end_s
                last.start_s = last.start_s if last.start_s is not None else piece.start_s
        elif text or piece.speaker is not None:
            turns.append(RawTurn(piece.speaker, text, piece.line, piece.start_s, piece.end_s))
    return [turn for turn in turns if turn.text]


def assign_roles(
    turns: list[RawTurn], rules: SpeakerRules, path: str | Path
) -> tuple[dict[str, str], list[str]]:
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
            guesses = {
                label: ("interviewer" if label == asker else "participant") for label in unknown
            }
        for label in unknown:
            first_line = next(turn.line for turn in turns if turn.speaker == label)
            warnings.append(
                f"{path}, line {first_line}: speaker label not in config.yaml (speakers) nor in the "
                f"identifier list; assumed to be a{'n' if guesses[label] == 'interviewer' else ''} "
                f"{guesses[label]}. Add the label to config.yaml or the person to data/identifiers.yaml"
            )
        roles.update(guesses)
    return roles, warnings


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
        raise InputFormatError(
            path, "the file is empty", "Remove it from data/raw/ or replace it with the transcript"
        )
    if suffix == ".docx":
        pieces = read_docx(path, rules)
    else:
        if data[:2] == b"PK":
            raise binary_error(path)
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
        raise InputFormatError(
            path,
            "contains no transcript text",
            "Check that the file is the transcript and not empty",
        )
    records = []
    for number, turn in enumerate(turns, start=1):
        record: dict = {
            "transcript_id": transcript_id,
            "turn": number,
            "speaker": turn.speaker if turn.speaker is not None else "Unknown",
            "role": roles.get(turn.speaker, rules.unlabelled_role)
            if turn.speaker
            else rules.unlabelled_role,
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


def speaker_rules(speakers: dict, identifiers: IdentifierList) -> SpeakerRules:
    """How to read speaker labels: config.yaml's ``speakers`` section and the listed people's roles."""
    return SpeakerRules(
        interviewer_labels=frozenset(label_key(label) for label in speakers["interviewer"]),
        participant_labels=frozenset(label_key(label) for label in speakers["participant"]),
        pattern=speakers.get("pattern"),
        known_people=identifiers.people_roles,
        unlabelled_role=speakers.get("unlabelled_role", "other"),
    )


@rule_job
def ingest(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule ingest (a part of the corpus): each raw transcript into normalized turns (private)."""
    with job_log(log) as logger:
        config = params["config"]
        identifiers = load_identifier_list(
            input["identifiers"], name_parts=config["deidentify"]["name_parts"]
        )
        rules = speaker_rules(config["speakers"], identifiers)

        def work_on(work: parts.Work) -> None:
            result = ingest_transcript(Path(work.inputs[0]), work.transcript, rules)
            for warning in result.warnings:
                logger.warning("%s", warning)
            write_jsonl(Path(work.outputs["ingested"]), result.turns, "transcript.schema.yaml")
            logger.info("%s: %d turns", work.transcript, len(result.turns))

        works = parts.works_of(params, {"raw": input["raw"]}, output, params["identifiers"])
        settings = parts.settings_text(config["speakers"], params["code"])
        done = parts.run_part("ingest", params["part"], works, settings, work_on, logger=logger)
        parts.report_done(logger, "ingest", done)


def main(argv: list[str] | None = None) -> int:
    from scripts import settings
    from scripts.contracts import write_jsonl_private
    from scripts.errors import QualflowError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path, help="raw transcript (.txt, .docx, .vtt, .srt)")
    parser.add_argument(
        "output", type=Path, help="normalized transcript to write (JSON lines; private)"
    )
    parser.add_argument("--config", type=Path, default=Path("config.yaml"))
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        config = settings.load_config(arguments.config)
        identifiers = load_identifier_list(
            Path(config["paths"]["identifiers"]), name_parts=config["deidentify"]["name_parts"]
        )
        rules = speaker_rules(config["speakers"], identifiers)
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
