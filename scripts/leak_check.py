"""The leak check: no entry of the identifier list survives in any output outside results/private/.

Rules ``leak_check_part`` (the shareable files of the transcripts in one part of the corpus) and
``leak_check`` (the corpus-level files, and the parts' tables) fail the workflow, naming the file
and line but never the text, if any form of a listed entry is found: in file names, in text files,
and in the XML and texts inside .xlsx, .docx and .qdpx archives.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Sequence

from scripts.contracts import read_tsv, write_text, write_tsv
from scripts.errors import PrivacyError
from scripts.identifiers import IdentifierList, load_identifier_list
from scripts.rule_jobs import job_log, rule_job


def find_leaks(text: str, identifiers: IdentifierList) -> list[tuple[int, str]]:
    """(position, entry source) of every identifier-list form present in text."""
    return [(start, entry.source) for start, _, entry in identifiers.find(text)]


def check_files_for_leaks(
    paths: Iterable[Path],
    identifiers: IdentifierList,
    checked: dict[str, int] | None = None,
    added: IdentifierList | None = None,
) -> list[dict]:
    """One row per file checked: path, lines, leaks. File names are checked too.

    ``checked``: SHA-256 of file contents already found clean → their line count. Such a file is
    searched only for ``added``, the forms the list gained since (none: not searched again); clean
    files found here are added to it, files with a leak taken out. An archive's (.xlsx, .docx,
    .qdpx) lines are its text members' lines, one member after the other; a REFI-QDA project is
    remembered member by member (``members``: their keys), so that a project with a new
    interview's source in it is searched for that source alone (the other archives are one
    transcript's or change as a whole).
    """
    rows = []
    checked = {} if checked is None else checked
    new_forms = added if added is not None and (added.forms or added.case_sensitive_forms) else None
    for path in sorted(Path(path) for path in paths):
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        members: list[str] = []
        suffix = path.suffix.lower()
        if suffix in _REMEMBERED_BY_MEMBER:
            found, lines, members = _check_archive(path, data, identifiers, checked, new_forms)
        else:
            found = []
            if digest in checked:
                lines, search = checked[digest], new_forms
            else:
                lines, search = None, identifiers
            if search is not None:
                if suffix in _ARCHIVE_MEMBERS:
                    found, lines, _ = _check_archive(path, data, search, {}, None)
                else:
                    text = _file_text(path)
                    found, lines = _leak_lines(text, search), _line_count(text)
                if found:
                    checked.pop(digest, None)
                else:
                    checked[digest] = lines
        leaks = [(0, source) for _, source in find_leaks(path.name, identifiers)] + found
        rows.append(
            {
                "file": str(path),
                "lines": lines,
                "leaks": len(leaks),
                "first": leaks[0] if leaks else None,
                "sha256": digest,
                "members": members,
            }
        )
    return rows


def _leak_lines(text: str, search: IdentifierList) -> list[tuple[int, str]]:
    """(line, entry source) of each form found: one pass over the whole text (per-line matching
    cost seconds on a corpus), line numbers worked out only for what is found."""
    return [
        (text.count("\n", 0, position) + 1, source) for position, source in find_leaks(text, search)
    ]


def _line_count(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def _check_archive(
    path: Path,
    data: bytes,
    identifiers: IdentifierList,
    checked: dict[str, int],
    new_forms: IdentifierList | None,
) -> tuple[list[tuple[int, str]], int, list[str]]:
    """(leaks as (line, entry source), lines, member keys) of an archive's text members, read
    one by one: a member whose content was found clean before (its key in ``checked``) is
    searched only for ``new_forms``. XML members are unescaped, so that "O&apos;Brien" is found as
    "O'Brien"; a member's lines follow the lines of the members before it."""
    import html
    import io
    import zipfile

    found: list[tuple[int, str]] = []
    keys: list[str] = []
    offset = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(
            name
            for name in archive.namelist()
            if name.lower().endswith(_ARCHIVE_MEMBERS[path.suffix.lower()])
        )
        for name in names:
            content = archive.read(name)
            unescaped = not name.lower().endswith(".txt")
            key = hashlib.sha256(
                b"qualflow leak check member\0"
                + (b"xml" if unescaped else b"text")
                + b"\0"
                + content
            ).hexdigest()
            keys.append(key)
            lines, search = (checked[key], new_forms) if key in checked else (0, identifiers)
            if search is not None:
                text = content.decode("utf-8", errors="replace")
                text = html.unescape(text) if unescaped else text
                leaks = _leak_lines(text, search)
                lines = _line_count(text)
                if leaks:
                    checked.pop(key, None)
                    found += [(offset + line, source) for line, source in leaks]
                else:
                    checked[key] = lines
            offset += lines
    return found, offset, keys


def leak_check_forms(identifiers: IdentifierList) -> dict[str, str]:
    """The forms the leak check searches for, by a salted digest of each (what the check's memory
    keeps: never the forms, which are names)."""
    forms = [(form, b"i") for form in identifiers.forms] + [
        (form, b"c") for form in identifiers.case_sensitive_forms
    ]
    return {
        hashlib.sha256(
            b"qualflow leak check form\0" + case + b"\0" + form.encode("utf-8")
        ).hexdigest(): form
        for form, case in sorted(forms)
    }


#: Zip archives whose members hold text: member suffixes read for each.
_ARCHIVE_MEMBERS = {".xlsx": (".xml",), ".docx": (".xml",), ".qdpx": (".qde", ".txt")}
#: Archives remembered member by member (a member's key: its content's SHA-256, salted).
_REMEMBERED_BY_MEMBER = {".qdpx"}


def _file_text(path: Path) -> str:
    """The text of a file (not an archive: :func:`_check_archive`); a REFI-QDA codebook (.qdc)
    unescaped."""
    import html

    text = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(text) if path.suffix.lower() == ".qdc" else text


def raise_on_leaks(rows: Sequence[dict]) -> None:
    leaking = [row for row in rows if row["leaks"]]
    if leaking:
        first = leaking[0]
        line, source = first["first"]
        total = sum(row["leaks"] for row in leaking)
        raise PrivacyError(
            first["file"],
            f"identifier list entry {source} survives de-identification ({total} occurrence(s) in "
            f"{len(leaking)} file(s))",
            "Do not share results/. Rerun with 'snakemake --forcerun deidentify'; if it persists, report a bug",
            line=line or None,
        )


LEAK_CHECK_COLUMNS = ["file", "lines", "leaks"]
#: The layout of the leak check's memory (.snakemake/qualflow/): another layout is not read.
LEAK_CHECK_CACHE_VERSION = 3


def check_for_leaks(
    files: Sequence[str],
    identifiers: IdentifierList,
    output: str,
    cache: str | None = None,
    parts: Sequence[str] = (),
) -> int:
    """Fail if any identifier-list entry survives in one of ``files``; write the table of files
    checked to ``output`` and return how many rows it has.

    ``cache``: a JSON file remembering the contents (by SHA-256) found clean and the forms of the
    list they were searched for (by salted digest), so that a rerun after a new interview searches
    only the files that changed (a corpus of 1,000 interviews has ~7,000 files to check), and a
    rerun after a change of the list searches the files for the new forms alone. It holds digests
    and line counts, no text.
    ``parts``: the tables of the parts of the check already run (rule leak_check_part, one per
    share of the transcripts); their rows join this check's in the table written.
    """
    forms = leak_check_forms(identifiers)
    remembered: dict[str, int] = {}
    searched: set[str] = set()
    if cache and Path(cache).is_file():
        try:
            document = json.loads(Path(cache).read_text(encoding="utf-8"))
            if document.get("version") == LEAK_CHECK_CACHE_VERSION:
                remembered = {str(key): int(value) for key, value in document["clean"].items()}
                searched = set(document["forms"])
        except (ValueError, KeyError, TypeError, AttributeError):
            remembered = {}  # unreadable: check everything again
    # contents found clean before need searching only for the forms the list gained since
    added = identifiers.only(form for digest, form in forms.items() if digest not in searched)
    clean = dict(remembered)
    rows = check_files_for_leaks([Path(file) for file in files], identifiers, clean, added)
    raise_on_leaks(rows)
    checked = [{column: row[column] for column in LEAK_CHECK_COLUMNS} for row in rows]
    for part in parts:
        for row in read_tsv(Path(part)):
            if row["leaks"] != "0":  # a part with a leak fails its own job: this one was edited
                raise PrivacyError(
                    part,
                    f"the leak check part reports {row['leaks']} leak(s) in {row['file']}",
                    "Do not share results/. Delete this file and rerun snakemake",
                )
            checked.append({"file": row["file"], "lines": int(row["lines"]), "leaks": 0})
    write_tsv(Path(output), sorted(checked, key=lambda row: row["file"]), LEAK_CHECK_COLUMNS)
    if cache:
        current = {row["sha256"] for row in rows} | {key for row in rows for key in row["members"]}
        kept = {key: lines for key, lines in sorted(clean.items()) if key in current}
        document = {"version": LEAK_CHECK_CACHE_VERSION, "forms": sorted(forms), "clean": kept}
        write_text(Path(cache), json.dumps(document, sort_keys=True) + "\n")
    return len(checked)


def _identifiers(input: dict, params: dict) -> IdentifierList:
    return load_identifier_list(
        input["identifiers"], name_parts=params["config"]["deidentify"]["name_parts"]
    )


@rule_job
def leak_check_part(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule leak_check_part: the leak check of the shareable files of one part's transcripts."""
    with job_log(log) as logger:
        checked = check_for_leaks(
            input["checked"], _identifiers(input, params), output["table"], params["cache"]
        )
        # (not how many were searched: the log must be the same whether or not a cache was there)
        logger.info("%d files checked; no identifier-list entry found", checked)


@rule_job
def leak_check(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule leak_check: the corpus-level files, joined with the parts' tables into one table."""
    with job_log(log) as logger:
        checked = check_for_leaks(
            input["checked"],
            _identifiers(input, params),
            output["table"],
            params["cache"],
            input["parts"],
        )
        logger.info("%d files checked; no identifier-list entry found", checked)
