"""A coder's REFI-QDA project (``.qdpx``) read back as codings (:func:`read_qdpx_coding`, called
by :func:`scripts.codings.read_coder` for a ``.qdpx`` in a coder folder).

Plain-text selections become codings of the segments they cover (at least
``coding.qdpx_min_overlap`` of a segment's characters), codes are matched to the codebook by GUID
or by name, sources to transcripts by name, and each coded source is checked against the
transcript re-rendered from the current segments. Rules of the exchange:
``workflow/schemas/refi_qda.md``.

Messages name the file, the selection (its number in the file and its GUID), codes and sources
by ID or GUID; they never quote transcript text, memos or selection names.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from scripts import anchoring
from scripts.codebook import Codebook
from scripts.coding_records import CodingError, Mention, Problem, Segments, quoted
from scripts.refi_qda import (
    EXCHANGE_FIX,
    CodeEntry,
    Selection,
    TextSourceEntry,
    read_exchange,
    selection_outside,
    source_stem,
    suggestion_users,
)
from scripts.refi_qda_standard import (
    SUGGESTIONS_USER,
    normalized_guid,
    render_transcript,
    stable_guid,
)

FRESH_EXPORT_FIX = (
    "Code the sources of a fresh export (results/exchange/project.qdpx) without editing their text, "
    "and save that project into the coder's folder"
)


def source_transcript(name: str, transcripts: Iterable[str]) -> str | None:
    """The transcript a source is (its name is the transcript ID, with or without an extension, in
    any case); None when there is none or more than one."""
    stem = source_stem(name)
    transcripts = list(transcripts)
    if stem in transcripts:
        return stem
    matches = [transcript for transcript in transcripts if transcript.casefold() == stem.casefold()]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class CodeMatch:
    """What a coding's code is in the codebook: a code, a theme, or nothing (``reason`` says why)."""

    code_id: str | None = None
    theme_id: str | None = None
    reason: str = ""


class CodeMatcher:
    """Matches the codes of a coder's project to the codebook: by GUID (qualflow's are stable),
    else by name (a code ID or label, trimmed, any case; ``Parent::Child`` names as ATLAS.ti
    writes them are tried by their last part)."""

    def __init__(self, codebook: Codebook, file_codes: dict[str, CodeEntry]):
        self.file_codes = file_codes
        self.by_guid = {
            normalized_guid(stable_guid("code", code.id)): code.id for code in codebook.codes
        }
        self.theme_by_guid = {
            normalized_guid(stable_guid("theme", theme.id)): theme.id for theme in codebook.themes
        }
        self.code_names: dict[str, set[str]] = defaultdict(set)
        self.code_ids = {code.id.casefold(): code.id for code in codebook.codes}
        for code in codebook.codes:
            self.code_names[code.label.strip().casefold()].add(code.id)
        # a code renamed, merged or split since the export: matched by its old GUID or ID, and
        # mapped to the codebook's codes with the other codings (scripts/anchor_codings.py)
        for old in codebook.changes:
            self.by_guid.setdefault(normalized_guid(stable_guid("code", old)), old)
            self.code_ids.setdefault(old.casefold(), old)
        self.theme_names = {}
        for theme in codebook.themes:
            self.theme_names[theme.label.strip().casefold()] = theme.id
            self.theme_names[theme.id.casefold()] = theme.id

    def match(self, guid: str) -> CodeMatch:
        key = normalized_guid(guid)
        if key in self.by_guid:
            return CodeMatch(code_id=self.by_guid[key])
        if key in self.theme_by_guid:
            return CodeMatch(theme_id=self.theme_by_guid[key])
        entry = self.file_codes.get(key)
        if entry is None:
            return CodeMatch(reason=f"code GUID {guid} is not in the project's codebook")
        names = [entry.name] + ([entry.name.rsplit("::", 1)[1]] if "::" in entry.name else [])
        for name in names:
            found = self._by_name(name.strip().casefold())
            if found is not None:
                return found
        return CodeMatch(
            reason=f"code {quoted(entry.name)} (GUID {guid}) is not a code of the codebook"
        )

    def _by_name(self, name: str) -> CodeMatch | None:
        if name in self.code_ids:
            return CodeMatch(code_id=self.code_ids[name])
        labelled = self.code_names.get(name, set())
        if len(labelled) == 1:
            return CodeMatch(code_id=next(iter(labelled)))
        if len(labelled) > 1:
            return CodeMatch(
                reason=f"code label {quoted(name)} belongs to {len(labelled)} codes ({', '.join(sorted(labelled))})"
            )
        if name in self.theme_names:
            return CodeMatch(theme_id=self.theme_names[name])
        return None


class _LineEnds:
    """Maps positions in a text with Windows line ends (CRLF) to the same text with LF only."""

    def __init__(self, text: str):
        self.pairs = [match.start() for match in re.finditer("\r\n", text)]

    def __call__(self, position: int) -> int:
        return position - bisect.bisect_left(self.pairs, position - 1)


def _identity(position: int) -> int:
    return position


def position_map(source_text: str, rendered_text: str) -> Callable[[int], int] | None:
    """How positions in a coded source's text map to the rendered transcript: unchanged, or from a
    copy saved with Windows line ends; None when the texts differ otherwise."""
    if source_text == rendered_text:
        return _identity
    if source_text.replace("\r\n", "\n") == rendered_text:
        return _LineEnds(source_text)
    return None


def coded_segments(
    start: int, end: int, spans: Sequence[tuple[str, int, int]], min_overlap: float
) -> tuple[list[str], tuple[float, str]]:
    """Segments a selection [start, end) codes: those it covers for at least ``min_overlap`` of
    their characters. Also the largest share it covers of any segment (share, segment_id)."""
    threshold = Fraction(repr(float(min_overlap)))
    starts = [span[1] for span in spans]
    first = max(0, bisect.bisect_right(starts, start) - 1)
    coded, best = [], (0.0, "")
    for segment_id, segment_start, segment_end in spans[first:]:
        if segment_start >= end:
            break
        covered = min(end, segment_end) - max(start, segment_start)
        length = segment_end - segment_start
        if covered <= 0 or length <= 0:
            continue
        if covered >= threshold * length:
            coded.append(segment_id)
        if covered / length > best[0]:
            best = (covered / length, segment_id)
    return coded, best


def read_qdpx_coding(
    path: str | Path,
    coder: str,
    segments: Segments,
    codebook: Codebook,
    min_overlap: float = 0.5,
    similarity: float = 0.6,
    versions: Any = None,
) -> tuple[list[Mention], list[Problem]]:
    """A coder's REFI-QDA project as codings (one :class:`~scripts.coding_records.Mention` per segment
    and code, ``row`` = the selection's number in the file) and the problems found.

    Raises :class:`~scripts.coding_records.CodingError` for a file that cannot be read and for a
    selection outside its source's text. Sources are matched to transcripts by name and
    compared with the transcript re-rendered from ``segments``. Where the transcript has changed
    since the export: if ``versions`` (the kept segment versions, scripts/anchor_codings.py) hold
    the version exported, the selections code its segments (with their text SHA-1), to be followed
    like any coding; else each selection is followed into the text as it is now
    (:func:`scripts.anchoring.map_selection`): ``carried`` (the same words), ``moved`` (at least
    ``similarity`` of its words found again) or ``recheck`` (a mention with no segment, left out
    until a person looks). Codings by qualflow-suggestions are left out (with a warning).
    """
    path = Path(path)
    exchange = read_exchange(path)
    if exchange.kind != "project":
        raise CodingError(
            path,
            "is a REFI-QDA codebook, not a project with codings",
            "Save the coded project (.qdpx) here instead",
        )
    file = str(path)
    problems = [
        Problem("warning", "qdpx_format", coder, file, None, problem, EXCHANGE_FIX)
        for problem in exchange.problems
    ]
    helpers = suggestion_users(exchange.users)
    matcher = CodeMatcher(codebook, exchange.codes)
    rows_by_transcript: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in segments.rows:
        rows_by_transcript[row["transcript_id"]].append(row)
    mentions: dict[tuple[str, str], Mention] = {}
    bad_codes: dict[tuple[str, str], list[int]] = defaultdict(
        list
    )  # (kind, detail) → selection numbers
    ignored, users = 0, set()
    for source in exchange.text_sources:
        counted = [
            selection
            for selection in source.selections
            if any(user not in helpers for _, user in selection.codings)
        ]
        ignored += sum(
            1 for selection in source.selections for _, user in selection.codings if user in helpers
        )
        if not counted:
            continue
        transcript = source_transcript(source.name, rows_by_transcript)
        rendered = render_transcript(rows_by_transcript[transcript]) if transcript else None
        if rendered is None or source.text is None:
            problems.append(_source_problem(coder, file, source, transcript, counted[0].number))
            continue
        to_rendered = position_map(source.text, rendered.text)
        # Windows line ends aside, the text the selections were made on
        to_plain = _LineEnds(source.text) if "\r\n" in source.text else _identity
        plain = source.text.replace("\r\n", "\n")
        sha1 = {row["segment_id"]: row["text_sha1"] for row in rows_by_transcript[transcript]}
        if to_rendered is None and versions is not None:
            exported = next(
                (
                    (kept, digests)
                    for kept, digests in versions.rendered(transcript)
                    if kept.text == plain
                ),
                None,
            )
            if (
                exported is not None
            ):  # the version exported is kept: code its segments, followed later
                rendered, sha1, to_rendered = exported[0], exported[1], to_plain
        for selection in counted:
            if not 0 <= selection.start <= selection.end <= len(source.text):
                raise CodingError(path, selection_outside(selection, source), FRESH_EXPORT_FIX)
            codes = _selection_codes(selection, helpers, matcher, bad_codes)
            users.update(user for _, user in selection.codings if user not in helpers)
            if not codes:
                continue
            status, share = "unchanged", 1.0
            start, end = to_plain(selection.start), to_plain(selection.end)
            coded_text = plain[start:end]
            if to_rendered is None:  # the transcript changed since this project was exported
                where = anchoring.map_selection(plain, rendered.text, start, end)
                if where is None or where[2] < similarity:
                    for code_id in codes:
                        mentions.setdefault(
                            ("", f"{selection.number}:{code_id}"),
                            Mention(
                                coder,
                                file,
                                selection.number,
                                "",
                                code_id,
                                status="recheck",
                                similarity=where[2] if where else 0.0,
                                coded_code_id=code_id,
                                coded_text=coded_text,
                                transcript_id=transcript,
                            ),
                        )
                    continue
                start, end, share = where
                status = (
                    "carried"
                    if anchoring.same_words(coded_text, rendered.text[start:end])
                    else "moved"
                )
            covered, (largest, nearest) = coded_segments(start, end, rendered.spans, min_overlap)
            if not covered:
                problems.append(
                    _too_small(coder, file, selection, codes, largest, nearest, min_overlap)
                )
            for segment_id in covered:
                for code_id in codes:
                    mentions.setdefault(
                        (segment_id, code_id),
                        Mention(
                            coder,
                            file,
                            selection.number,
                            segment_id,
                            code_id,
                            status=status,
                            similarity=share,
                            text_sha1=sha1.get(segment_id) if status == "unchanged" else None,
                            coded_code_id=code_id,
                            coded_text=coded_text if status != "unchanged" else "",
                        ),
                    )
    problems.extend(_code_problems(coder, file, bad_codes, codebook))
    if ignored:
        problems.append(
            Problem(
                "warning",
                "suggestions_ignored",
                coder,
                file,
                None,
                f"{ignored} coding(s) by the user {SUGGESTIONS_USER} left out: they are candidate codes, not {coder}'s",
                "Nothing to do; to count a suggested code, apply it yourself",
            )
        )
    named_users = sorted(user for user in users if user is not None)
    if len(named_users) > 1:
        problems.append(
            Problem(
                "warning",
                "several_users",
                coder,
                file,
                None,
                f"codings by {len(named_users)} users (GUIDs {', '.join(named_users)}) are all read as {coder}'s coding",
                "Keep one coder's project in each coder folder",
            )
        )
    return sorted(
        mentions.values(),
        key=lambda m: (m.row, segments.index.get(m.segment_id, 0), m.code_id or ""),
    ), problems


def _source_problem(
    coder: str, file: str, source: TextSourceEntry, transcript: str | None, first: int
) -> Problem:
    """Why a coded source's selections cannot be read: no transcript, or no text."""
    where = f"source {quoted(source.name)} (GUID {source.guid})"
    if transcript is None:
        kind, detail = (
            "unknown_source",
            f"{where} is coded but is not a transcript of the corpus (its name must be the transcript ID)",
        )
    else:
        kind, detail = "missing_source_text", f"{where}: {source.missing}"
    return Problem("error", kind, coder, file, first, detail, FRESH_EXPORT_FIX)


def _selection_codes(
    selection: Selection,
    helpers: set[str],
    matcher: CodeMatcher,
    bad_codes: dict[tuple[str, str], list[int]],
) -> list[str]:
    """The codebook codes a selection's codings apply (suggestions left out, sorted); themes and
    unknown codes are noted in ``bad_codes`` with the selection's number."""
    codes = set()
    for guid, user in selection.codings:
        if user in helpers:
            continue
        match = matcher.match(guid)
        if match.code_id is not None:
            codes.add(match.code_id)
        elif match.theme_id is not None:
            bad_codes[("theme", match.theme_id)].append(selection.number)
        else:
            bad_codes[("unknown", match.reason)].append(selection.number)
    return sorted(codes)


def _too_small(
    coder: str,
    file: str,
    selection: Selection,
    codes: list[str],
    share: float,
    nearest: str,
    min_overlap: float,
) -> Problem:
    if nearest:
        reach = f"covers less than {min_overlap:.0%} of every segment it touches (at most {share:.0%} of {nearest})"
    else:
        reach = "covers no segment's text"
    return Problem(
        "warning",
        "selection_too_small",
        coder,
        file,
        selection.number,
        f"selection {selection.number} (GUID {selection.guid}) {reach}; its code(s) {', '.join(codes)} are not counted",
        "Widen the selection to the whole sentence, or lower coding.qdpx_min_overlap in config.yaml",
    )


def _code_problems(
    coder: str, file: str, bad_codes: dict[tuple[str, str], list[int]], codebook: Codebook
) -> list[Problem]:
    problems = []
    for (kind, detail), numbers in sorted(bad_codes.items(), key=lambda item: min(item[1])):
        count = f"{len(numbers)} selection(s), the first selection {min(numbers)}"
        if kind == "theme":
            theme = next(theme for theme in codebook.themes if theme.id == detail)
            problems.append(
                Problem(
                    "error",
                    "theme_coded",
                    coder,
                    file,
                    min(numbers),
                    f"theme {detail} is applied like a code ({count}); a theme groups codes and is not coded itself",
                    f"Apply one of its codes instead ({', '.join(theme.code_ids)})",
                    code_id=detail,
                )
            )
        else:
            problems.append(
                Problem(
                    "error",
                    "unknown_code",
                    coder,
                    file,
                    min(numbers),
                    f"{detail} (version {codebook.version}); used by {count}",
                    "Use the codes of the exported codebook (results/exchange/codebook.qdc), or add the code to data/codebook.yaml",
                )
            )
    return problems
