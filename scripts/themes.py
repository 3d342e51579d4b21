"""Theme tables: who voiced each theme and code, by participant group, with exemplar quotes.

Everything here counts the **final coding** (``coding.final``: the consensus folder, one coder's
folder, or ``union``) on the segments of the coded roles (``coding.roles``) of the transcripts
it coded. A participant *voiced* a code when at least one of their coded segments carries it, and
a theme when they voiced any of its codes. Participants come from ``data/participants.csv``
(``participant_id`` if the column exists, else the transcript ID; a participant interviewed twice
counts once); a transcript missing from that file is its own participant with every attribute
``not recorded``.

Small-cell suppression (``themes.suppress_below``, k): in the tables broken down by participant
attributes, a count of 1 to k-1 participants is shown as ``<k``, and every count of a group with
fewer than k participants too (a zero in a group of two says as much as a one). When a row of a
breakdown would have only one hidden count, it could be worked out from the total, so the next
smallest count of that row is hidden as well and shown as ``x`` (secondary suppression); the
same applies to the group sizes. Shares are not shown where the count or the group size is
hidden. Tables of the whole sample and by participant ID are not suppressed: they do not say
which group anyone belongs to.

Exemplar quotes: per code, up to ``themes.exemplars.per_code`` de-identified segments, chosen by
this order of preference, one at a time: a segment a coder's memo marks ``exemplar``; a
participant not quoted yet for this code; at least ``min_words`` words; length closest to
``ideal_words``; then segment ID (so the choice is deterministic).
"""

from __future__ import annotations

import logging
import re
import string
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from scripts import codings as coding_files
from scripts import disclosure
from scripts.codebook import Codebook, load_codebook
from scripts.contracts import write_text, write_tsv
from scripts.errors import ConfigurationError, QualflowError
from scripts.settings import load_participants

LOGGER = logging.getLogger("qualflow")


class DisclosureControlError(QualflowError):
    """A hidden count the released tables give away, whatever else is hidden."""
NOT_RECORDED = "not recorded"
EVERYONE = "all"
SECONDARY = "x"
WORD = re.compile(r"\w+")

PREVALENCE_COLUMNS = [
    "level", "theme_id", "theme_label", "code_id", "code_label", "attribute", "group",
    "group_participants", "participants", "participants_share", "segments",
]
SATURATION_COLUMNS = ["order", "transcript_id", "participant_id", "interview_date", "new_codes", "cumulative_codes", "new_code_ids"]
EXEMPLAR_COLUMNS = ["theme_id", "code_id", "code_label", "rank", "segment_id", "participant_id", "attribution", "marked_exemplar", "words", "text"]


@dataclass(frozen=True)
class ThemeSettings:
    """The ``themes`` section of config.yaml (with participants.attributes)."""

    attributes: tuple[str, ...] = ()
    suppress_below: int = 5
    per_code: int = 3
    min_words: int = 8
    ideal_words: int = 30
    attribution: str = "{participant_id}, {role}, site {site}"
    order_by: str = "interview_date"

    @classmethod
    def from_config(cls, themes: dict, attributes: Sequence[str]) -> "ThemeSettings":
        exemplars = themes.get("exemplars", {})
        return cls(
            attributes=tuple(attributes),
            suppress_below=int(themes.get("suppress_below", 5)),
            per_code=int(exemplars.get("per_code", 3)),
            min_words=int(exemplars.get("min_words", 8)),
            ideal_words=int(exemplars.get("ideal_words", 30)),
            attribution=str(exemplars.get("attribution", cls.attribution)),
            order_by=str(themes.get("saturation", {}).get("order_by", "interview_date")),
        )


# ---------------------------------------------------------------------------------------------
# Participants
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    id: str
    attributes: dict[str, str]  # every column of participants.csv but transcript_id


def participants_by_transcript(rows: Sequence[dict[str, str]], transcripts: Sequence[str], columns: Sequence[str]) -> dict[str, Participant]:
    """Transcript ID → participant, for the given transcripts.

    Missing rows and blank cells read as ``not recorded``; ``columns``: every attribute wanted.
    """
    by_transcript = {row["transcript_id"]: row for row in rows}
    result = {}
    for transcript_id in sorted(transcripts):
        row = by_transcript.get(transcript_id, {})
        participant_id = row.get("participant_id") or transcript_id
        attributes = {column: (row.get(column) or NOT_RECORDED) for column in columns}
        result[transcript_id] = Participant(participant_id, attributes)
    return result


def check_settings(settings: ThemeSettings, participant_columns: Sequence[str], path: str | Path) -> None:
    """The attribution template and the saturation order name columns that exist."""
    available = {"participant_id", "transcript_id", *participant_columns}
    fields = [name for _, name, _, _ in string.Formatter().parse(settings.attribution) if name is not None]
    unknown = sorted({name for name in fields if name not in available})
    if unknown or any(not name for name in fields):
        raise ConfigurationError(
            "config.yaml", f"themes.exemplars.attribution names {', '.join(unknown) or 'an empty field {}'}, which is not a column of {path}",
            f"Use participant_id, transcript_id or a column of {path} in braces, e.g. {{participant_id}}, {{role}}",
        )
    if settings.order_by not in available:
        raise ConfigurationError(
            "config.yaml", f"themes.saturation.order_by is {settings.order_by}, which is not a column of {path}",
            f"Set it to transcript_id, or add the column to {path} (dates as YYYY-MM-DD)",
        )


def check_config(themes: dict, attributes: Sequence[str], participants_path: str | Path) -> None:
    """The themes settings against participants.csv, when the workflow starts (not at the end)."""
    rows = load_participants(Path(participants_path))
    columns = [column for column in (rows[0] if rows else {}) if column not in ("transcript_id", "participant_id")]
    check_settings(ThemeSettings.from_config(themes, attributes), columns, participants_path)


# ---------------------------------------------------------------------------------------------
# The coded corpus
# ---------------------------------------------------------------------------------------------


@dataclass
class CodedCorpus:
    """The final coding, segment by segment, with each segment's participant."""

    codebook: Codebook
    segments: list[dict[str, str]]  # coded segments, corpus order
    labels: np.ndarray  # len(segments) x len(codes), 0/1
    participants: dict[str, Participant]  # transcript ID → participant
    exemplars: frozenset[tuple[str, str]] = frozenset()  # (segment_id, code_id) a memo marks

    @property
    def code_ids(self) -> tuple[str, ...]:
        return self.codebook.code_ids

    @property
    def participant_ids(self) -> list[str]:
        """Participants with coded segments, sorted."""
        return sorted({self.participants[row["transcript_id"]].id for row in self.segments})

    def participant_of(self, row: dict[str, str]) -> Participant:
        return self.participants[row["transcript_id"]]

    def theme_labels(self) -> np.ndarray:
        """len(segments) x len(themes), 1 where the segment carries any code of the theme."""
        columns = {code_id: k for k, code_id in enumerate(self.code_ids)}
        result = np.zeros((len(self.segments), len(self.codebook.themes)), dtype=int)
        for t, theme in enumerate(self.codebook.themes):
            indices = [columns[code_id] for code_id in theme.code_ids]
            if indices and len(self.segments):
                result[:, t] = self.labels[:, indices].max(axis=1)
        return result

    def presence(self, labels: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Participants (sorted), segment counts (participants x columns), presence 0/1."""
        ids = self.participant_ids
        position = {participant: i for i, participant in enumerate(ids)}
        counts = np.zeros((len(ids), labels.shape[1]), dtype=int)
        for row, values in zip(self.segments, labels):
            counts[position[self.participant_of(row).id]] += values
        return ids, counts, (counts > 0).astype(int)


def coded_corpus(final, codebook: Codebook, participants: dict[str, Participant], parsed: dict[str, coding_files.CoderFiles]) -> CodedCorpus:
    """From :class:`scripts.learned.FinalCoding` and the parsed coder files (for exemplar memos)."""
    rows = [final.segments.rows[i] for i in final.coded]
    marked = frozenset(
        (mention.segment_id, mention.code_id)
        for files in parsed.values() for mention in files.mentions if mention.exemplar and mention.code_id
    )
    return CodedCorpus(codebook, rows, np.asarray(final.labels, dtype=int).reshape(len(rows), len(codebook.code_ids)), participants, marked)


# ---------------------------------------------------------------------------------------------
# Prevalence, with small-cell suppression
# ---------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One count of a breakdown, before and after suppression."""

    participants: int
    segments: int
    group_size: int
    hidden: str = ""  # "", "<k" or "x" (scripts/disclosure.py)


def _items(codebook: Codebook) -> list[dict[str, str]]:
    """Rows of the prevalence tables in reading order: each theme, then its codes."""
    labels = {code.id: code.label for code in codebook.codes}
    items = []
    for t, theme in enumerate(codebook.themes):
        items.append({"level": "theme", "index": t, "theme_id": theme.id, "theme_label": theme.label, "code_id": "", "code_label": ""})
        for code_id in theme.code_ids:
            items.append({"level": "code", "index": codebook.code_ids.index(code_id), "theme_id": theme.id,
                          "theme_label": theme.label, "code_id": code_id, "code_label": labels[code_id]})
    return items


def group_sizes(corpus: CodedCorpus, attribute: str) -> dict[str, int]:
    """Participants with coded segments in each group of an attribute (groups sorted)."""
    sizes: Counter = Counter()
    seen = set()
    for row in corpus.segments:
        participant = corpus.participant_of(row)
        if participant.id not in seen:
            seen.add(participant.id)
            sizes[participant.attributes.get(attribute, NOT_RECORDED)] += 1
    return dict(sorted(sizes.items(), key=lambda item: (item[0] == NOT_RECORDED, item[0])))


def _item_key(item: dict) -> str:
    return f"{item['level']}:{item['theme_id'] if item['level'] == 'theme' else item['code_id']}"


def release_counts(corpus: CodedCorpus, settings: ThemeSettings) -> tuple[disclosure.Counts, list[dict]]:
    """The true counts behind the prevalence tables (scripts/disclosure.py), and the rows' items."""
    theme_labels = corpus.theme_labels()
    ids, code_counts, code_present = corpus.presence(corpus.labels)
    _, theme_counts, theme_present = corpus.presence(theme_labels)
    attributes_of = {}
    for row in corpus.segments:
        participant = corpus.participant_of(row)
        attributes_of.setdefault(participant.id, participant.attributes)
    items = _items(corpus.codebook)

    def matrices(item):
        if item["level"] == "theme":
            return theme_counts[:, item["index"]], theme_present[:, item["index"]]
        return code_counts[:, item["index"]], code_present[:, item["index"]]

    groups = {attribute: list(group_sizes(corpus, attribute)) for attribute in settings.attributes}
    sizes = {(attribute, group): size for attribute in settings.attributes for group, size in group_sizes(corpus, attribute).items()}
    participants, segments = {}, {}
    everyone = np.ones(len(ids), dtype=bool)
    for item in items:
        counts, present = matrices(item)
        key = _item_key(item)
        for attribute, group, members in [
            (EVERYONE, EVERYONE, everyone),
            *((attribute, group, np.array([attributes_of[p].get(attribute, NOT_RECORDED) == group for p in ids], dtype=bool))
              for attribute in settings.attributes for group in groups[attribute]),
        ]:
            participants[(key, attribute, group)] = int(present[members].sum()) if len(ids) else 0
            segments[(key, attribute, group)] = int(counts[members].sum()) if len(ids) else 0
    themes = {f"theme:{theme.id}": [f"code:{code_id}" for code_id in theme.code_ids] for theme in corpus.codebook.themes}
    counts = disclosure.Counts([_item_key(item) for item in items], themes, groups, participants, segments, sizes, len(ids))
    return counts, items


def quotes_of(exemplars: Sequence[dict], corpus: CodedCorpus, settings: ThemeSettings) -> list[disclosure.Quote]:
    """What the exemplar quotes' attributions say: a participant of these groups voiced this code."""
    shown = [name for _, name, _, _ in string.Formatter().parse(settings.attribution) if name in settings.attributes]
    by_id = {participant.id: participant for participant in corpus.participants.values()}
    return [
        disclosure.Quote(row["participant_id"], tuple((a, by_id[row["participant_id"]].attributes.get(a, NOT_RECORDED)) for a in shown),
                         f"code:{row['code_id']}")
        for row in exemplars
    ]


def prevalence(corpus: CodedCorpus, settings: ThemeSettings, marks: disclosure.Marks | None = None) -> list[dict[str, Any]]:
    """The prevalence table (columns :data:`PREVALENCE_COLUMNS`), hidden as ``marks`` say (by
    default the small counts alone, see scripts/disclosure.py: primary_marks)."""
    counts, items = release_counts(corpus, settings)
    if marks is None:
        marks = disclosure.primary_marks(counts, settings.suppress_below)
    rows = []
    for attribute in [EVERYONE, *settings.attributes]:
        groups = [EVERYONE] if attribute == EVERYONE else counts.attributes[attribute]
        for item in items:
            for group in groups:
                key = (_item_key(item), attribute, group)
                size = counts.total if attribute == EVERYONE else counts.sizes[(attribute, group)]
                cell = Cell(counts.participants[key], counts.segments[key], size, marks.cells.get(key, ""))
                rows.append(_row(item, attribute, group, cell))
    return rows


def _row(item: dict, attribute: str, group: str, cell: Cell) -> dict[str, Any]:
    share = "" if cell.hidden or cell.group_size == 0 else f"{cell.participants / cell.group_size:.3f}"
    return {
        "level": item["level"], "theme_id": item["theme_id"], "theme_label": item["theme_label"],
        "code_id": item["code_id"], "code_label": item["code_label"], "attribute": attribute, "group": group,
        "group_participants": cell.group_size,
        "participants": cell.hidden or cell.participants,
        "participants_share": share,
        "segments": cell.hidden or cell.segments,
    }


# ---------------------------------------------------------------------------------------------
# Co-occurrence, code by participant, saturation
# ---------------------------------------------------------------------------------------------


def cooccurrence(corpus: CodedCorpus, by: str) -> list[dict[str, Any]]:
    """Code x code counts of segments (``by="segments"``) or participants where both occur.

    The diagonal holds the code's own count.
    """
    if by == "segments":
        matrix = corpus.labels.T @ corpus.labels if len(corpus.segments) else np.zeros((len(corpus.code_ids),) * 2, dtype=int)
    else:
        _, _, present = corpus.presence(corpus.labels)
        matrix = present.T @ present
    return [{"code_id": code_id, **{other: int(matrix[i, j]) for j, other in enumerate(corpus.code_ids)}}
            for i, code_id in enumerate(corpus.code_ids)]


def code_by_participant(corpus: CodedCorpus) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows: codes (theme_id, code_id, code_label, then one column per participant: segments)."""
    ids, counts, _ = corpus.presence(corpus.labels)
    rows = []
    for k, code in enumerate(corpus.codebook.codes):
        rows.append({"theme_id": code.theme_id, "code_id": code.id, "code_label": code.label,
                     **{participant: int(counts[i, k]) for i, participant in enumerate(ids)}})
    return rows, ["theme_id", "code_id", "code_label", *ids]


def interview_order(transcripts: Sequence[str], participants_rows: Sequence[dict[str, str]], order_by: str) -> list[str]:
    """Transcripts in the order they were collected: by ``order_by`` (blank values last), then ID.

    Dates sort as text, so they must be written YYYY-MM-DD (ISO 8601).
    """
    if order_by == "transcript_id":
        return sorted(transcripts)
    values = {row["transcript_id"]: row.get(order_by, "") for row in participants_rows}
    return sorted(transcripts, key=lambda t: (not values.get(t, ""), values.get(t, ""), t))


def saturation(corpus: CodedCorpus, participants_rows: Sequence[dict[str, str]], order_by: str) -> list[dict[str, Any]]:
    """New codes per added interview, in collection order, and the cumulative count."""
    codes_of: dict[str, set[str]] = defaultdict(set)
    for row, values in zip(corpus.segments, corpus.labels):
        codes_of[row["transcript_id"]].update(corpus.code_ids[k] for k in np.flatnonzero(values))
    transcripts = sorted({row["transcript_id"] for row in corpus.segments})
    dates = {row["transcript_id"]: row.get("interview_date", "") for row in participants_rows}
    seen: set[str] = set()
    rows = []
    for order, transcript_id in enumerate(interview_order(transcripts, participants_rows, order_by), start=1):
        new = [code_id for code_id in corpus.code_ids if code_id in codes_of[transcript_id] and code_id not in seen]
        seen.update(new)
        rows.append({
            "order": order, "transcript_id": transcript_id, "participant_id": corpus.participants[transcript_id].id,
            "interview_date": dates.get(transcript_id, ""), "new_codes": len(new), "cumulative_codes": len(seen),
            "new_code_ids": ",".join(new),
        })
    return rows


# ---------------------------------------------------------------------------------------------
# Exemplar quotes
# ---------------------------------------------------------------------------------------------


WITHHELD = "(not shown)"


def attribution(participant: Participant, transcript_id: str, template: str, withheld: Iterable[str] = ()) -> str:
    """The quote's attribution from the template, e.g. "P07, client, site A" (never a name); an
    attribute in ``withheld`` shows as "(not shown)" (disclosure control: scripts/disclosure.py)."""
    values = {**participant.attributes, "participant_id": participant.id, "transcript_id": transcript_id}
    return template.format(**{**values, **{attribute: WITHHELD for attribute in withheld}})


def choose_exemplars(corpus: CodedCorpus, settings: ThemeSettings) -> list[dict[str, Any]]:
    """Up to ``per_code`` quotes per code, spread across participants (see the module docstring)."""
    rows = []
    for k, code in enumerate(corpus.codebook.codes):
        candidates = []
        for index in np.flatnonzero(corpus.labels[:, k]) if len(corpus.segments) else []:
            segment = corpus.segments[int(index)]
            words = len(WORD.findall(segment["text"]))
            candidates.append((segment, words, (segment["segment_id"], code.id) in corpus.exemplars))
        quoted: Counter = Counter()
        chosen: list[tuple[dict, int, bool]] = []
        while candidates and len(chosen) < settings.per_code:
            def preference(candidate):
                segment, words, marked = candidate
                return (not marked, quoted[corpus.participant_of(segment).id], words < settings.min_words,
                        abs(words - settings.ideal_words), segment["segment_id"])
            best = min(candidates, key=preference)
            candidates.remove(best)
            chosen.append(best)
            quoted[corpus.participant_of(best[0]).id] += 1
        for rank, (segment, words, marked) in enumerate(chosen, start=1):
            participant = corpus.participant_of(segment)
            rows.append({
                "theme_id": code.theme_id, "code_id": code.id, "code_label": code.label, "rank": rank,
                "segment_id": segment["segment_id"], "participant_id": participant.id,
                "attribution": attribution(participant, segment["transcript_id"], settings.attribution),
                "marked_exemplar": "yes" if marked else "no", "words": words, "text": segment["text"],
            })
    return rows


# ---------------------------------------------------------------------------------------------
# Publication tables: Markdown and Word
# ---------------------------------------------------------------------------------------------


@dataclass
class Table:
    """A publication table: title, header, body rows (first cell is the row label), notes."""

    title: str
    header: list[str]
    rows: list[list[str]]
    bold_rows: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def _cell_text(participants: Any, share: str) -> str:
    if isinstance(participants, str) and not participants.isdigit():
        return participants
    return f"{participants} ({float(share) * 100:.0f}%)" if share != "" else str(participants)


def suppression_note(k: int) -> str:
    return (f"<{k}: between 1 and {k - 1} participants, or any count of a group of fewer than {k}, not shown so that no "
            f"participant in a small group can be singled out; {SECONDARY}: not shown (it may be any count) so that no hidden "
            "count can be worked out from what these tables, the figures and the attributed quotes show together "
            "(audited: results/themes/disclosure_audit.tsv).")


def uncoded_participants(participant_rows: Sequence[dict[str, str]], transcripts: Iterable[str], coded: Iterable[str]) -> list[str]:
    """Participant IDs (pseudonymous, as in participants.csv; else the transcript ID) of the
    study's transcripts that the final coding does not cover yet, sorted."""
    by_transcript = {row["transcript_id"]: row.get("participant_id") or row["transcript_id"] for row in participant_rows}
    interviewed = {by_transcript.get(transcript, transcript) for transcript in transcripts}
    return sorted(interviewed - set(coded))


def coverage_note(coded_participants: int, not_coded: Sequence[str]) -> str:
    """Table 1's note on who is counted: the participants not coded yet, by ID."""
    if not not_coded:
        return f"Every participant interviewed so far ({coded_participants}) is in the final coding."
    return (f"Not coded yet, so not counted: {len(not_coded)} participant(s) interviewed, {', '.join(not_coded)}; "
            f"the shares are of the {coded_participants} coded participants.")


def group_header(group: str, size: Any) -> tuple[str, str | None]:
    """A group's column header, and a note when its size is not shown as a number."""
    if isinstance(size, int) or str(size).isdigit():
        return f"{group} (n = {size})", None
    if str(size).startswith("<"):
        return f"{group} (n {size})", f"{group}: the group has {size} participants; its exact size is not shown."
    return (f"{group} (n not shown)", f"{group}: the size of this group is not shown, so that no hidden count can be "
            "worked out from the totals.")


def publication_tables(prevalence_rows: Sequence[dict], settings: ThemeSettings, coded_participants: int, codebook_version: str,
                       not_coded: Sequence[str] = ()) -> list[Table]:
    """Table 1 (whole sample) and one table per participant attribute. ``not_coded``: the
    participants interviewed whom the final coding does not cover yet (named in Table 1's note)."""
    overall = [row for row in prevalence_rows if row["attribute"] == EVERYONE]
    tables = []
    body, bold = [], set()
    for row in overall:
        label = row["theme_label"] if row["level"] == "theme" else row["code_label"]
        if row["level"] == "theme":
            bold.add(len(body))
        body.append([label, _cell_text(row["participants"], row["participants_share"]), str(row["segments"])])
    tables.append(Table(
        f"Themes and codes: participants who voiced each (N = {coded_participants} coded participants)",
        ["Theme / code", "Participants, n (%)", "Coded segments"], body, bold,
        [f"A participant voiced a theme when at least one of their segments carries one of its codes. Codebook version {codebook_version}.",
         coverage_note(coded_participants, not_coded)],
    ))
    for attribute in settings.attributes:
        rows = [row for row in prevalence_rows if row["attribute"] == attribute]
        groups: list[tuple[str, Any]] = []
        for row in rows:
            if row["group"] not in [group for group, _ in groups]:
                groups.append((row["group"], row["group_participants"]))
        headers = [group_header(group, size) for group, size in groups]
        header = ["Theme / code", *[text for text, _ in headers]]
        body, bold = [], set()
        by_item: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
        order: list[tuple[str, str, str, str]] = []
        for row in rows:
            key = (row["theme_id"], row["code_id"])
            if key not in by_item:
                order.append((row["level"], row["theme_label"], row["code_label"], key))
            by_item[key][row["group"]] = row
        for level, theme_label, code_label, key in order:
            if level == "theme":
                bold.add(len(body))
            cells = [_cell_text(by_item[key][group]["participants"], by_item[key][group]["participants_share"]) for group, _ in groups]
            body.append([theme_label if level == "theme" else code_label, *cells])
        notes = ["Participants who voiced each theme and code, n (% of the group)."]
        notes += [note for _, note in headers if note]
        if settings.suppress_below > 1:
            notes.append(suppression_note(settings.suppress_below))
        tables.append(Table(f"Themes and codes by {attribute.replace('_', ' ')}", header, body, bold, notes))
    return tables


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(tables: Sequence[Table], exemplars: Sequence[dict], codebook: Codebook) -> str:
    """Every table and the exemplar quotes as one Markdown document."""
    lines = ["# Theme tables", ""]
    for number, table in enumerate(tables, start=1):
        lines += [f"**Table {number}. {table.title}**", ""]
        lines.append("| " + " | ".join(_markdown_escape(cell) for cell in table.header) + " |")
        lines.append("|" + "|".join([":---"] + ["---:"] * (len(table.header) - 1)) + "|")
        for index, row in enumerate(table.rows):
            label = f"**{_markdown_escape(row[0])}**" if index in table.bold_rows else _markdown_escape(row[0])
            lines.append("| " + " | ".join([label, *(_markdown_escape(cell) for cell in row[1:])]) + " |")
        lines.append("")
        lines += [f"*{_markdown_escape(note)}*" for note in table.notes]
        lines.append("")
    lines += ["# Exemplar quotes", ""]
    by_code: dict[str, list[dict]] = defaultdict(list)
    for row in exemplars:
        by_code[row["code_id"]].append(row)
    for theme in codebook.themes:
        lines += [f"## {theme.label}", ""]
        for code_id in theme.code_ids:
            code = codebook.code(code_id)
            lines += [f"### {code.label}", ""]
            quotes = by_code.get(code_id, [])
            if not quotes:
                lines += ["*No coded segment.*", ""]
            for row in quotes:
                lines += [f"> \u201c{_markdown_escape(row['text'])}\u201d ({_markdown_escape(row['attribution'])})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def word_document(tables: Sequence[Table], exemplars: Sequence[dict], codebook: Codebook):
    """The same content as :func:`markdown`, as a python-docx Document (landscape, 9 pt tables)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    document = docx.Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    document.core_properties.author = "qualflow"
    document.core_properties.last_modified_by = "qualflow"
    document.add_heading("Theme tables", level=1)
    for number, table in enumerate(tables, start=1):
        caption = document.add_paragraph()
        caption.add_run(f"Table {number}. ").bold = True
        caption.add_run(table.title)
        grid = document.add_table(rows=1, cols=len(table.header))
        grid.style = "Table Grid"
        repeat_as_header(grid.rows[0])
        for cell, text in zip(grid.rows[0].cells, table.header):
            run = cell.paragraphs[0].add_run(text)
            run.bold = True
            run.font.size = Pt(9)
        for index, row in enumerate(table.rows):
            added = grid.add_row()
            keep_on_one_page(added)
            cells = added.cells
            for column, (cell, text) in enumerate(zip(cells, row)):
                run = cell.paragraphs[0].add_run(text if index in table.bold_rows or column else f"   {text}")
                run.bold = index in table.bold_rows
                run.font.size = Pt(9)
        for note in table.notes:
            run = document.add_paragraph().add_run(note)
            run.italic = True
            run.font.size = Pt(8)
    document.add_heading("Exemplar quotes", level=1)
    by_code: dict[str, list[dict]] = defaultdict(list)
    for row in exemplars:
        by_code[row["code_id"]].append(row)
    for theme in codebook.themes:
        document.add_heading(theme.label, level=2)
        for code_id in theme.code_ids:
            document.add_heading(codebook.code(code_id).label, level=3)
            for row in by_code.get(code_id, []) or [{"text": "", "attribution": ""}]:
                if not row["text"]:
                    document.add_paragraph("No coded segment.").runs[0].italic = True
                    continue
                paragraph = document.add_paragraph(style="Quote")
                paragraph.add_run(f"\u201c{row['text']}\u201d ")
                paragraph.add_run(f"({row['attribution']})").italic = True
    return document


def _row_property(row, name: str) -> None:
    """Set an on/off property of a Word table row (``w:trPr``), e.g. ``w:tblHeader``."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = row._tr.get_or_add_trPr()
    if properties.find(qn(name)) is None:
        element = OxmlElement(name)
        element.set(qn("w:val"), "true")
        properties.append(element)


def repeat_as_header(row) -> None:
    """Word repeats this row at the top of every page the table continues on (``w:tblHeader``)."""
    _row_property(row, "w:tblHeader")


def keep_on_one_page(row) -> None:
    """A row is never split across two pages (``w:cantSplit``)."""
    _row_property(row, "w:cantSplit")


def save_word_document(document, path: str | Path) -> None:
    """Save with fixed document and zip times (python-docx stamps the save time)."""
    import io

    from scripts.contracts import write_zip_deterministic

    buffer = io.BytesIO()
    document.save(buffer)
    write_zip_deterministic(Path(path), buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# The rule
# ---------------------------------------------------------------------------------------------


def build(
    codebook_path: str, anchored: Sequence[str], coders: Sequence[str], segment_paths: Sequence[str], participants_path: str,
    coding: dict, settings: ThemeSettings, corpus_transcripts: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the ``themes`` rule writes, as plain data. ``anchored``: rule anchor_codings's
    codings, transcripts and problems tables; ``coders``: the final coding's folders;
    ``corpus_transcripts``: every transcript of the study (those not coded are named in a note)."""
    from scripts import learned
    from scripts.anchor_codings import load_anchored

    codebook = load_codebook(codebook_path)
    participant_rows = load_participants(Path(participants_path))
    columns = [column for column in (participant_rows[0] if participant_rows else {}) if column not in ("transcript_id", "participant_id")]
    check_settings(settings, columns, participants_path)
    if not coders:
        raise ConfigurationError(
            "config.yaml", f"no files for the final coding ({coding.get('final', 'consensus')})",
            "Set coding.final to a coder folder with codings, or to union",
        )
    segments = coding_files.load_segments(segment_paths)
    parsed = load_anchored(anchored, coders=coders)
    final = learned.load_final_coding((), segments, codebook, coding, parsed=parsed)
    participants = participants_by_transcript(participant_rows, segments.transcripts, [*columns])
    corpus = coded_corpus(final, codebook, participants, parsed)
    exemplar_rows = choose_exemplars(corpus, settings)
    # Disclosure control over the whole release (tables, figures, attributions): what to hide,
    # proved by an audit of every hidden count (scripts/disclosure.py)
    counts, _ = release_counts(corpus, settings)
    try:
        marks, audit = disclosure.protect(counts, quotes_of(exemplar_rows, corpus, settings), settings.suppress_below)
    except disclosure.DisclosureError as error:
        raise DisclosureControlError(
            participants_path, str(error),
            "Merge small groups of that attribute in participants.csv, leave the attribute out of "
            "participants.attributes, or raise themes.suppress_below",
        ) from None
    prevalence_rows = prevalence(corpus, settings, marks)
    withheld: dict[str, set[str]] = defaultdict(set)
    for participant, attribute in marks.withheld:
        withheld[participant].add(attribute)
    by_id = {participant.id: participant for participant in corpus.participants.values()}
    for row in exemplar_rows:
        participant = by_id[row["participant_id"]]
        transcript = row["segment_id"].rsplit("-", 2)[0]
        row["attribution"] = attribution(participant, transcript, settings.attribution, withheld.get(participant.id, ()))
    matrix, matrix_columns = code_by_participant(corpus)
    not_coded = uncoded_participants(participant_rows, corpus_transcripts, corpus.participant_ids)
    tables = publication_tables(prevalence_rows, settings, len(corpus.participant_ids), codebook.version, not_coded)
    return {
        "codebook": codebook, "corpus": corpus, "prevalence": prevalence_rows, "exemplars": exemplar_rows,
        "disclosure_audit": disclosure.audit_rows(audit),
        "code_by_participant": (matrix, matrix_columns),
        "cooccurrence_segments": cooccurrence(corpus, "segments"),
        "cooccurrence_participants": cooccurrence(corpus, "participants"),
        "saturation": saturation(corpus, participant_rows, settings.order_by),
        "tables": tables,
    }


def themes_job(
    codebook_path: str, anchored: Sequence[str], coders: Sequence[str], segment_paths: Sequence[str], participants_path: str,
    outputs: Any, coding: dict, themes: dict, attributes: Sequence[str], log: str, corpus_transcripts: Sequence[str] = (),
) -> None:
    """Rule ``themes`` → results/themes/ (TSV, Markdown and Word tables, exemplar quotes).
    ``corpus_transcripts``: every transcript of the study (those not coded yet are named)."""
    from scripts.jobs import job_log

    with job_log(log) as logger:
        settings = ThemeSettings.from_config(themes, attributes)
        result = build(codebook_path, anchored, coders, segment_paths, participants_path, coding, settings, corpus_transcripts)
        codebook, corpus = result["codebook"], result["corpus"]
        write_tsv(Path(outputs["prevalence"]), result["prevalence"], PREVALENCE_COLUMNS)
        matrix, matrix_columns = result["code_by_participant"]
        write_tsv(Path(outputs["code_by_participant"]), matrix, matrix_columns)
        code_columns = ["code_id", *codebook.code_ids]
        write_tsv(Path(outputs["cooccurrence_segments"]), result["cooccurrence_segments"], code_columns)
        write_tsv(Path(outputs["cooccurrence_participants"]), result["cooccurrence_participants"], code_columns)
        write_tsv(Path(outputs["saturation"]), result["saturation"], SATURATION_COLUMNS)
        write_tsv(Path(outputs["exemplars"]), result["exemplars"], EXEMPLAR_COLUMNS)
        write_tsv(Path(outputs["disclosure_audit"]), result["disclosure_audit"], disclosure.AUDIT_COLUMNS)
        write_text(Path(outputs["markdown"]), markdown(result["tables"], result["exemplars"], codebook))
        save_word_document(word_document(result["tables"], result["exemplars"], codebook), outputs["word"])
        logger.info(
            "themes: %d coded segments of %d participants, %d codes applied %d times; %d exemplar quotes",
            len(corpus.segments), len(corpus.participant_ids), int((corpus.labels.sum(axis=0) > 0).sum()) if len(corpus.segments) else 0,
            int(corpus.labels.sum()), len(result["exemplars"]),
        )
