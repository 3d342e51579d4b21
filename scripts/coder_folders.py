"""The coders' folders (``data/coding/{coder}/``): which coders there are, their files, and the
transcripts each coder's files mention. Read while the workflow is parsed (workflow/rules/common.smk),
so that a new, uncoded interview reruns none of the coders' stages.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Iterable

from scripts.coding_file_readers import (
    TRANSCRIPT_LIST,
    read_csv_coding,
    read_sheet_coding,
    read_transcript_list,
)
from scripts.coding_records import CodingError, transcript_of

CODER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
CODING_SUFFIXES = (".csv", ".xlsx", ".qdpx")
#: Formats a coder might save that we do not read: refused rather than silently skipped.
REFUSED_SUFFIXES = {
    ".xls": "Save the sheet as .xlsx (Excel Workbook)",
    ".xlsm": "Save the sheet as .xlsx (Excel Workbook, no macros)",
    ".ods": "Save the sheet as .xlsx (Excel Workbook)",
    ".tsv": "Save it as CSV (comma-separated)",
    ".qde": "Save the whole project as a REFI-QDA project (.qdpx), not its .qde alone",
    # QDA programs' own project formats (NVivo, ATLAS.ti, MAXQDA): only the exchange format is read
    **{
        suffix: "Export the project as a REFI-QDA project (.qdpx) and save that here"
        for suffix in (".nvp", ".nvpx", ".atlproj", ".mx24", ".mx22", ".mx20")
    },
}


# ---------------------------------------------------------------------------------------------
# Finding the coder folders
# ---------------------------------------------------------------------------------------------


def discover_coders(folder: str | Path) -> dict[str, list[Path]]:
    """Coder name → the files of its folder (sorted), for every folder under ``folder``.

    No folder: no coders. Coding files outside a coder folder, badly named coder folders and
    formats we cannot read stop the run (every coding must be read or refused, never skipped).
    Other files (notes, READMEs) are not codings and are left alone.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    coders: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "~$")):
            continue
        if not entry.is_dir():
            if entry.suffix.lower() in (*CODING_SUFFIXES, *REFUSED_SUFFIXES):
                raise CodingError(
                    entry,
                    "a coding file outside a coder folder",
                    f"Move it into {folder}/<coder name>/",
                )
            continue
        if not CODER_NAME.match(entry.name):
            raise CodingError(
                entry,
                "a coder folder name must be letters, digits, - and _",
                "Rename the folder, e.g. coder_a",
            )
        files = []
        for path in sorted(entry.rglob("*")):
            relative = path.relative_to(entry)
            if any(part.startswith((".", "~$")) for part in relative.parts) or path.is_dir():
                continue
            suffix = path.suffix.lower()
            if suffix in REFUSED_SUFFIXES:
                raise CodingError(path, f"cannot read {suffix} codings", REFUSED_SUFFIXES[suffix])
            if suffix in CODING_SUFFIXES or path.name == TRANSCRIPT_LIST:
                if len(relative.parts) > 1:  # the coder is the folder a file is in
                    raise CodingError(
                        path,
                        "a coding file in a sub-folder of a coder folder",
                        f"Move it into {entry}/",
                    )
                files.append(path)
        coders[entry.name] = files
    return coders


def coded_transcripts(
    files: Iterable[str | Path], transcripts: Iterable[str], cache: str | Path | None = None
) -> list[str]:
    """Transcripts (among ``transcripts``) any of these coding files mention, sorted.

    Lenient (used while Snakemake builds the job graph): an unreadable file adds nothing here;
    the agreement job reports it with its file and row. ``cache``: a JSON file remembering what
    each file mentions, keyed by its size and modification time (a coding sheet of 20,000 rows
    takes openpyxl seconds to read, and the job graph is built on every Snakemake call).
    """
    import json

    entries: dict = {}
    if cache is not None and Path(cache).is_file():
        try:
            entries = json.loads(Path(cache).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
    fresh: dict = {}
    found: set[str] = set()
    for path in files:
        path = Path(path)
        try:
            stat = path.stat()
        except OSError:
            continue
        signature = [stat.st_mtime_ns, stat.st_size]
        entry = entries.get(str(path))
        if not (isinstance(entry, dict) and entry.get("signature") == signature):
            entry = {"signature": signature, "transcripts": sorted(_mentioned_transcripts(path))}
        fresh[str(path)] = entry
        found.update(entry["transcripts"])
    if cache is not None and fresh != entries:
        try:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            Path(cache).write_text(json.dumps(fresh, sort_keys=True) + "\n", encoding="utf-8")
        except OSError:
            pass  # a cache that cannot be written only costs time
    # A REFI-QDA source is named after its transcript, but the coder's software may change the
    # case of the name; segment IDs in CSV and XLSX codings match exactly either way.
    by_folded = defaultdict(list)
    for transcript in transcripts:
        by_folded[transcript.casefold()].append(transcript)
    matched = set()
    for name in found:
        folded = by_folded.get(name.casefold(), [])
        matched.update([name] if name in folded else folded[:1] if len(folded) == 1 else [])
    return sorted(matched)


def _mentioned_transcripts(path: Path) -> set[str]:
    try:
        if path.name == TRANSCRIPT_LIST:
            return {transcript for transcript, _ in read_transcript_list(path)}
        if path.suffix.lower() == ".csv":
            return {
                transcript_of(mention.segment_id)
                for mention in read_csv_coding(path, path.parent.name)
            }
        if path.suffix.lower() == ".xlsx":
            return {
                transcript_of(mention.segment_id)
                for mention in read_sheet_coding(path, path.parent.name)[0]
            }
        if path.suffix.lower() == ".qdpx":
            from scripts import refi_qda  # lxml, loaded only where a project is read

            return refi_qda.coded_source_names(path)
    except CodingError:
        pass
    return set()
