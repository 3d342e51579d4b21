"""The codebook as a CSV that Taguette imports as it is (rule ``taguette_codebook``):
``results/exchange/taguette_codebook.csv``.

Taguette (the open-source QDA tool, "Import codebook" in a project) reads a CSV whose header
names the tag in exactly one column, ``tag``, ``name`` or ``path``, and may have a
``description`` column; other columns are ignored, rows may not have an empty tag. So: one row per
code, the tag its code ID (so that a project Taguette exports as REFI-QDA is read back code by
code), the description what a coder needs to apply it: label, theme, definition, what to include
and exclude. UTF-8, comma-separated, quoted where needed; the same codebook gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from scripts.codebook import Codebook, load_codebook
from scripts.contracts import write_text
from scripts.rule_jobs import job_log, rule_job

COLUMNS = ["tag", "description"]


def code_description(
    label: str, theme: str, definition: str, include: str = "", exclude: str = ""
) -> str:
    """One line a coder reads in Taguette's tag list: what the code is and when to apply it."""
    parts = [f"{label} (theme: {theme}).", definition.strip()]
    if include.strip():
        parts.append(f"Include: {include.strip()}")
    if exclude.strip():
        parts.append(f"Exclude: {exclude.strip()}")
    return " ".join(part for part in parts if part)


def codebook_rows(codebook: Codebook) -> list[dict[str, str]]:
    """The CSV's rows: one per code, in codebook order."""
    themes = {theme["id"]: theme for theme in codebook.document["themes"]}
    rows = []
    for code in codebook.codes:
        entry = next(item for item in themes[code.theme_id]["codes"] if item["id"] == code.id)
        rows.append(
            {
                "tag": code.id,
                "description": code_description(
                    code.label,
                    themes[code.theme_id]["label"],
                    code.definition,
                    entry.get("include", ""),
                    entry.get("exclude", ""),
                ),
            }
        )
    return rows


def codebook_csv(codebook: Codebook) -> str:
    """The codebook as Taguette's import reads it (header ``tag,description``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    # one line per code: line breaks of the YAML's folded text become spaces
    writer.writerows(
        {column: " ".join(row[column].split()) for column in COLUMNS}
        for row in codebook_rows(codebook)
    )
    return out.getvalue()


@rule_job
def taguette_codebook(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule taguette_codebook: input codebook (data/codebook.yaml); output codebook
    (results/exchange/taguette_codebook.csv)."""
    with job_log(log) as logger:
        codebook = load_codebook(input["codebook"])
        write_text(Path(output["codebook"]), codebook_csv(codebook))
        logger.info(
            "%s: %d codes of codebook version %s, for Taguette's Import codebook",
            output["codebook"],
            len(codebook.codes),
            codebook.version,
        )
