"""Publication tables of the themes: Table 1 (the whole sample) and one table per participant
attribute, with their notes, and the exemplar quotes, as Markdown and as a Word document.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from scripts.codebook import Codebook
from scripts.coded_corpus import ThemeSettings
from scripts.disclosure import EVERYONE, SECONDARY


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
    return (
        f"<{k}: between 1 and {k - 1} participants, or any count of a group of fewer than {k}, not shown so that no "
        f"participant in a small group can be singled out; {SECONDARY}: not shown (it may be any count) so that no hidden "
        "count can be worked out from what these tables, the figures and the attributed quotes show together "
        "(audited: results/themes/disclosure_audit.tsv)."
    )


def uncoded_participants(
    participant_rows: Sequence[dict[str, str]], transcripts: Iterable[str], coded: Iterable[str]
) -> list[str]:
    """Participant IDs (pseudonymous, as in participants.csv; else the transcript ID) of the
    study's transcripts that the final coding does not cover yet, sorted."""
    by_transcript = {
        row["transcript_id"]: row.get("participant_id") or row["transcript_id"]
        for row in participant_rows
    }
    interviewed = {by_transcript.get(transcript, transcript) for transcript in transcripts}
    return sorted(interviewed - set(coded))


def coverage_note(coded_participants: int, not_coded: Sequence[str]) -> str:
    """Table 1's note on who is counted: the participants not coded yet, by ID."""
    if not not_coded:
        return (
            f"Every participant interviewed so far ({coded_participants}) is in the final coding."
        )
    return (
        f"Not coded yet, so not counted: {len(not_coded)} participant(s) interviewed, {', '.join(not_coded)}; "
        f"the shares are of the {coded_participants} coded participants."
    )


def group_header(group: str, size: Any) -> tuple[str, str | None]:
    """A group's column header, and a note when its size is not shown as a number."""
    if isinstance(size, int) or str(size).isdigit():
        return f"{group} (n = {size})", None
    if str(size).startswith("<"):
        return (
            f"{group} (n {size})",
            f"{group}: the group has {size} participants; its exact size is not shown.",
        )
    return (
        f"{group} (n not shown)",
        f"{group}: the size of this group is not shown, so that no hidden count can be "
        "worked out from the totals.",
    )


def publication_tables(
    prevalence_rows: Sequence[dict],
    settings: ThemeSettings,
    coded_participants: int,
    codebook_version: str,
    not_coded: Sequence[str] = (),
) -> list[Table]:
    """Table 1 (whole sample) and one table per participant attribute. ``not_coded``: the
    participants interviewed whom the final coding does not cover yet (named in Table 1's note)."""
    overall = [row for row in prevalence_rows if row["attribute"] == EVERYONE]
    tables = []
    body, bold = [], set()
    for row in overall:
        label = row["theme_label"] if row["level"] == "theme" else row["code_label"]
        if row["level"] == "theme":
            bold.add(len(body))
        body.append(
            [
                label,
                _cell_text(row["participants"], row["participants_share"]),
                str(row["segments"]),
            ]
        )
    tables.append(
        Table(
            f"Themes and codes: participants who voiced each (N = {coded_participants} coded participants)",
            ["Theme / code", "Participants, n (%)", "Coded segments"],
            body,
            bold,
            [
                f"A participant voiced a theme when at least one of their segments carries one of its codes. Codebook version {codebook_version}.",
                coverage_note(coded_participants, not_coded),
            ],
        )
    )
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
            cells = [
                _cell_text(
                    by_item[key][group]["participants"], by_item[key][group]["participants_share"]
                )
                for group, _ in groups
            ]
            body.append([theme_label if level == "theme" else code_label, *cells])
        notes = ["Participants who voiced each theme and code, n (% of the group)."]
        notes += [note for _, note in headers if note]
        if settings.suppress_below > 1:
            notes.append(suppression_note(settings.suppress_below))
        tables.append(
            Table(f"Themes and codes by {attribute.replace('_', ' ')}", header, body, bold, notes)
        )
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
            label = (
                f"**{_markdown_escape(row[0])}**"
                if index in table.bold_rows
                else _markdown_escape(row[0])
            )
            lines.append(
                "| " + " | ".join([label, *(_markdown_escape(cell) for cell in row[1:])]) + " |"
            )
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
                lines += [
                    f"> \u201c{_markdown_escape(row['text'])}\u201d ({_markdown_escape(row['attribution'])})",
                    "",
                ]
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
                run = cell.paragraphs[0].add_run(
                    text if index in table.bold_rows or column else f"   {text}"
                )
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
