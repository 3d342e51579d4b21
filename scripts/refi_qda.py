"""Exchanging work with the coders' own QDA software (NVivo, ATLAS.ti, MAXQDA, QualCoder) in the
REFI-QDA standard: a project (``.qdpx``: a zip holding ``project.qde``, XML, and the source texts
under ``sources/``) and a codebook (``.qdc``, XML). Schemas: ``workflow/schemas/refi-qda/``; the
rules of the exchange: ``workflow/schemas/refi_qda.md``.

This module reads a ``.qdpx`` or ``.qdc`` as it is (:func:`read_exchange`), summarises it from
the command line (``scripts/refi_qda.py --summary FILE``) and names the sources a coder coded
(:func:`coded_source_names`). The rest of the exchange:

* :mod:`scripts.refi_qda_standard`: the standard's names and schemas, qualflow's stable GUIDs and
  a transcript's plain text as exported;
* :mod:`scripts.refi_qda_export`: the export (rules ``qdpx_export`` and ``qdc_export``);
* :mod:`scripts.refi_qda_codings`: a coder's project read back as codings.

Messages name the file, the selection (its number in the file and its GUID), codes and sources
by ID or GUID; they never quote transcript text, memos or selection names.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import zipfile  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Callable, Iterable, Iterator, Sequence  # noqa: E402

from lxml import etree  # noqa: E402

from scripts.coding_records import CodingError, quoted  # noqa: E402
from scripts.errors import QualflowError  # noqa: E402
from scripts.refi_qda_standard import (  # noqa: E402
    PROJECT_MEMBER,
    SOURCES_FOLDER,
    SUGGESTIONS_USER,
    normalized_guid,
    schema_errors,
    stable_guid,
)

EXCHANGE_FIX = "Export the project again from your QDA program (REFI-QDA project, .qdpx)"
SELECTION_KINDS = (
    "PlainTextSelection",
    "PictureSelection",
    "PDFSelection",
    "AudioSelection",
    "VideoSelection",
    "TranscriptSelection",
)
SOURCE_KINDS = ("TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource")


# ---------------------------------------------------------------------------------------------
# Reading a .qdpx or .qdc
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """A plain-text selection and its codings (code GUID, creating user GUID or None)."""

    guid: str
    number: int  # 1-based position among the file's plain-text selections, in document order
    start: int
    end: int
    codings: tuple[tuple[str, str | None], ...]


@dataclass
class TextSourceEntry:
    """A text source: its name, its plain text (None when the file does not hold it) and selections."""

    guid: str
    name: str
    text: str | None
    selections: list[Selection]
    missing: str = ""  # why the text is not there


@dataclass(frozen=True)
class CodeEntry:
    """A code of the file's codebook: its GUID, its name and whether it may be applied."""

    guid: str
    name: str
    codable: bool


@dataclass
class ExchangeFile:
    """What a .qdpx or .qdc holds, as far as qualflow reads it."""

    path: Path
    kind: str  # project or codebook
    counts: dict[str, int]
    codes: dict[str, CodeEntry] = field(default_factory=dict)  # by normalized GUID
    users: dict[str, str] = field(default_factory=dict)  # normalized GUID → name
    text_sources: list[TextSourceEntry] = field(default_factory=list)
    problems: list[str] = field(
        default_factory=list
    )  # departures from the standard, what is not read
    checks: list[str] = field(
        default_factory=list
    )  # missing texts, unknown code GUIDs, selections outside their source


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    # by local name: some exporters use another namespace version or prefixes
    return (child for child in element if _local(child) == name)


def _descendants(element: etree._Element, names: Iterable[str]) -> Iterator[etree._Element]:
    wanted = set(names)
    return (child for child in element.iter() if _local(child) in wanted)


def _parse_xml(data: bytes, path: Path, what: str) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else "?"
        raise CodingError(
            path, f"{what} is not well-formed XML (line {line})", EXCHANGE_FIX
        ) from None


def _project_xml(archive: zipfile.ZipFile, path: Path) -> tuple[str, bytes]:
    """The project XML member: project.qde (any case), else the only .qde of the archive."""
    candidates = [name for name in archive.namelist() if name.lower().endswith(".qde")]
    at_root = [name for name in candidates if "/" not in name.strip("/")]
    named = [name for name in at_root if name.lower() == PROJECT_MEMBER]
    chosen = named or at_root or candidates
    if not chosen:
        raise CodingError(
            path,
            "is a zip archive but not a REFI-QDA project: it holds no project.qde",
            EXCHANGE_FIX,
        )
    if len(chosen) > 1:
        raise CodingError(
            path,
            f"holds {len(chosen)} project files (.qde); a REFI-QDA project holds one",
            EXCHANGE_FIX,
        )
    return chosen[0], archive.read(chosen[0])


def read_exchange(path: str | Path) -> ExchangeFile:
    """Read a REFI-QDA project (.qdpx) or codebook (.qdc, any other suffix that is not a zip).

    Unreadable files (not a zip, no project.qde, not XML, not REFI-QDA, missing what qualflow
    needs) raise :class:`~scripts.coding_records.CodingError` naming the file. Departures from the
    schema that do not stop reading, source texts that are missing and sources qualflow does not
    read are listed in ``problems``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CodingError(
            path,
            f"cannot be read ({error.strerror or type(error).__name__})",
            "Check the file name and its permissions",
        ) from None
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                member, xml = _project_xml(archive, path)
                root = _parse_xml(xml, path, member)
                members = {name.lower(): name for name in archive.namelist()}
                exchange = _read_project(
                    root, path, lambda target: _member_text(archive, members, target)
                )
                if member.lower() != PROJECT_MEMBER and "/" not in member:
                    exchange.problems.insert(
                        0,
                        f"the project XML is named {quoted(member)}, not project.qde (read anyway)",
                    )
                return exchange
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError):
            raise CodingError(path, "is a damaged zip archive", EXCHANGE_FIX) from None
    if path.suffix.lower() == ".qdpx":
        raise CodingError(
            path,
            "is not a REFI-QDA project: a .qdpx is a zip archive and this file is not one",
            EXCHANGE_FIX,
        )
    root = _parse_xml(data, path, "the file")
    if _local(root) == "Project":  # a bare project.qde: no source texts come with it
        return _read_project(
            root, path, lambda target: (None, "the texts are not inside a bare .qde; use the .qdpx")
        )
    if _local(root) != "CodeBook":
        raise CodingError(
            path,
            f"is XML but not a REFI-QDA codebook or project (root element {_local(root)})",
            EXCHANGE_FIX,
        )
    return _read_codebook(root, path)


def _member_text(
    archive: zipfile.ZipFile, members: dict[str, str], target: str
) -> tuple[str | None, str]:
    """The text of a source's plain-text file (internal://NAME → sources/NAME, any case)."""
    if not target.startswith("internal://"):
        return None, "its text is outside the project file (a relative or absolute path)"
    name = target[len("internal://") :].lstrip("/")
    member = members.get(f"{SOURCES_FOLDER}/{name}".lower()) or members.get(name.lower())
    if member is None:
        return None, f"its text {quoted(name)} is not in the project file"
    try:
        return archive.read(member).decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return None, f"its text {quoted(name)} is not UTF-8"


def _read_codebook(root: etree._Element, path: Path) -> ExchangeFile:
    exchange = ExchangeFile(path, "codebook", {})
    exchange.problems.extend(_schema_problems(root, "codebook"))
    for codes in _children(root, "Codes"):
        _read_codes(codes, path, exchange.codes, "codebook")
    exchange.counts = {
        "codes": len(list(_descendants(root, ["Code"]))),
        "sources": 0,
        "selections": 0,
        "codings": 0,
        "users": 0,
        "cases": 0,
    }
    return exchange


def _schema_problems(root: etree._Element, kind: str) -> list[str]:
    errors = schema_errors(root, kind)
    if not errors:
        return []
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return [
        f"does not follow the REFI-QDA {kind} schema at {'; '.join(errors[:3])}{more} (read anyway)"
    ]


def _required(element: etree._Element, attribute: str, path: Path, kind: str = "project") -> str:
    value = element.get(attribute)
    if value is None or not value.strip():
        raise CodingError(
            path,
            f"does not follow the REFI-QDA {kind} schema: line {element.sourceline}, element {_local(element)} has no {attribute}",
            EXCHANGE_FIX,
        )
    return value.strip()


def _read_codes(
    parent: etree._Element, path: Path, into: dict[str, CodeEntry], kind: str = "project"
) -> None:
    for code in _children(parent, "Code"):
        guid = _required(code, "guid", path, kind)
        codable = (code.get("isCodable") or "true").strip().lower() not in ("false", "0")
        into[normalized_guid(guid)] = CodeEntry(guid, (code.get("name") or "").strip(), codable)
        _read_codes(code, path, into, kind)


def _position(element: etree._Element, attribute: str, path: Path) -> int:
    value = _required(element, attribute, path)
    try:
        return int(value)
    except ValueError:
        raise CodingError(
            path,
            f"does not follow the REFI-QDA project schema: line {element.sourceline}, {attribute} of a plain-text selection is not a whole number",
            EXCHANGE_FIX,
        ) from None


def _read_project(
    root: etree._Element, path: Path, source_text: Callable[[str], tuple[str | None, str]]
) -> ExchangeFile:
    if _local(root) != "Project":
        raise CodingError(
            path,
            f"is not a REFI-QDA project (root element {_local(root)}, expected Project)",
            EXCHANGE_FIX,
        )
    counts = {
        "codes": sum(
            1 for codebook in _children(root, "CodeBook") for _ in _descendants(codebook, ["Code"])
        ),
        "sources": sum(
            1
            for sources in _children(root, "Sources")
            for child in sources
            if _local(child) in SOURCE_KINDS
        ),
        "selections": sum(1 for _ in _descendants(root, SELECTION_KINDS)),
        "codings": sum(1 for _ in _descendants(root, ["Coding"])),
        "users": sum(1 for users in _children(root, "Users") for _ in _children(users, "User")),
        "cases": sum(1 for cases in _children(root, "Cases") for _ in _children(cases, "Case")),
    }
    exchange = ExchangeFile(path, "project", counts)
    exchange.problems.extend(_schema_problems(root, "project"))
    for users in _children(root, "Users"):
        for user in _children(users, "User"):
            exchange.users[normalized_guid(_required(user, "guid", path))] = (
                user.get("name") or ""
            ).strip()
    for codebook in _children(root, "CodeBook"):
        for codes in _children(codebook, "Codes"):
            _read_codes(codes, path, exchange.codes)
    numbers = {
        element: number
        for number, element in enumerate(_descendants(root, ["PlainTextSelection"]), start=1)
    }
    other_codings = 0
    for sources in _children(root, "Sources"):
        for source in sources:
            if _local(source) == "TextSource":
                exchange.text_sources.append(_read_text_source(source, path, numbers, source_text))
                other_codings += sum(
                    1 for _ in _children(source, "Coding")
                )  # codes on a whole source
            elif _local(source) in SOURCE_KINDS:
                other_codings += sum(1 for _ in _descendants(source, ["Coding"]))
    if other_codings:
        exchange.problems.append(
            f"{other_codings} coding(s) on picture, PDF, audio or video sources or on whole sources are not read "
            "(qualflow reads the plain-text selections of text sources)"
        )
    # Checked by the import only for the sources it reads; listed here for the summary.
    known = set(exchange.codes)
    used = {
        guid
        for source in exchange.text_sources
        for selection in source.selections
        for guid, _ in selection.codings
    }
    unknown = sorted(guid for guid in used if normalized_guid(guid) not in known)
    if unknown:
        exchange.checks.append(
            f"{len(unknown)} code GUID(s) used by codings are not in the file's codebook: {', '.join(unknown[:5])}"
        )
    for source in exchange.text_sources:
        if source.text is None:
            exchange.checks.append(
                f"text source {quoted(source.name)} (GUID {source.guid}): {source.missing}"
            )
            continue
        for selection in source.selections:
            if not 0 <= selection.start <= selection.end <= len(source.text):
                exchange.checks.append(selection_outside(selection, source))
    return exchange


def selection_outside(selection: Selection, source: TextSourceEntry) -> str:
    """Where a selection runs past its source's text (a check of the summary, an error of the import)."""
    return (
        f"selection {selection.number} (GUID {selection.guid}) runs from {selection.start} to {selection.end}, outside "
        f"the {len(source.text or '')} characters of source {quoted(source.name)}"
    )


def _read_text_source(
    source: etree._Element,
    path: Path,
    numbers: dict[etree._Element, int],
    source_text: Callable[[str], tuple[str | None, str]],
) -> TextSourceEntry:
    guid = _required(source, "guid", path)
    inline = next(_children(source, "PlainTextContent"), None)
    if inline is not None:
        text, missing = inline.text or "", ""
    elif source.get("plainTextPath"):
        text, missing = source_text(source.get("plainTextPath").strip())
    else:
        text, missing = None, "it has neither plain text nor a plainTextPath"
    selections = []
    for element in _children(source, "PlainTextSelection"):
        codings = []
        for coding in _children(element, "Coding"):
            reference = next(_children(coding, "CodeRef"), None)
            if reference is None:
                raise CodingError(
                    path,
                    f"does not follow the REFI-QDA project schema: line {coding.sourceline}, a Coding has no CodeRef",
                    EXCHANGE_FIX,
                )
            user = coding.get("creatingUser") or element.get("creatingUser")
            codings.append(
                (_required(reference, "targetGUID", path), normalized_guid(user) if user else None)
            )
        selections.append(
            Selection(
                _required(element, "guid", path),
                numbers[element],
                _position(element, "startPosition", path),
                _position(element, "endPosition", path),
                tuple(codings),
            )
        )
    return TextSourceEntry(guid, (source.get("name") or "").strip(), text, selections, missing)


def summarize(path: str | Path) -> dict[str, Any]:
    """Counts (codes, sources, selections, codings, users, cases: elements of the file, of any
    media type) and problems of a .qdpx or .qdc, without the workflow."""
    exchange = read_exchange(path)
    return {
        "file": str(path),
        "kind": exchange.kind,
        **exchange.counts,
        "problems": [*exchange.problems, *exchange.checks],
    }


# ---------------------------------------------------------------------------------------------
# The coder's sources and users
# ---------------------------------------------------------------------------------------------


def suggestion_users(users: dict[str, str]) -> set[str]:
    """Normalized GUIDs of the user qualflow-suggestions: ours, and any user of that name (a
    program may give users new GUIDs)."""
    named = {guid for guid, name in users.items() if name.casefold() == SUGGESTIONS_USER}
    return named | {normalized_guid(stable_guid("user", SUGGESTIONS_USER))}


def source_stem(name: str) -> str:
    """A source's name without its extension (``A01.txt`` → ``A01``): transcript IDs have no dot."""
    name = name.strip()
    return name.rsplit(".", 1)[0].strip() if "." in name else name


def coded_source_names(path: str | Path) -> set[str]:
    """Names (extension dropped) of the text sources a coder coded in a .qdpx: those with a coding
    by anyone but qualflow-suggestions. Cheap (the XML only): used while Snakemake builds the job
    graph; see :func:`scripts.coder_folders.coded_transcripts` for how names are matched to transcripts."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member, xml = _project_xml(archive, path)
            root = _parse_xml(xml, path, member)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError):
        return set()
    users = {
        normalized_guid(user.get("guid")): (user.get("name") or "").strip()
        for user in _descendants(root, ["User"])
    }
    helpers = suggestion_users(users)
    names = set()
    for sources in _children(root, "Sources"):
        for source in _children(sources, "TextSource"):
            for selection in _children(source, "PlainTextSelection"):
                for coding in _children(selection, "Coding"):
                    if (
                        normalized_guid(coding.get("creatingUser") or selection.get("creatingUser"))
                        not in helpers
                    ):
                        names.add(source_stem(source.get("name") or ""))
    return names


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _summary_text(summary: dict[str, Any]) -> str:
    what = "REFI-QDA project" if summary["kind"] == "project" else "REFI-QDA codebook"
    lines = [f"{summary['file']}: {what}"]
    for key in ("codes", "sources", "selections", "codings", "users", "cases"):
        lines.append(f"  {key:<11}{summary[key]}")
    lines.append(f"problems: {len(summary['problems'])}")
    lines.extend(f"  - {problem}" for problem in summary["problems"])
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refi_qda.py",
        description="Look inside a REFI-QDA project (.qdpx) or codebook (.qdc) without the workflow.",
    )
    parser.add_argument(
        "--summary", metavar="FILE", required=True, help="the .qdpx or .qdc to summarise"
    )
    parser.add_argument("--json", action="store_true", help="print JSON (counts and problems)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status (2 for a file that cannot be read)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        summary = summarize(args.summary)
    except QualflowError as error:
        print(" ".join(str(error).split()), file=sys.stderr)
        return 2
    print(
        json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False)
        if args.json
        else _summary_text(summary)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
