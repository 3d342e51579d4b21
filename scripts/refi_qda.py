"""Exchanging work with the coders' own QDA software (NVivo, ATLAS.ti, MAXQDA, QualCoder) in the
REFI-QDA standard: a project (``.qdpx``: a zip holding ``project.qde``, XML, and the source texts
under ``sources/``) and a codebook (``.qdc``, XML). Schemas: ``workflow/schemas/refi-qda/``; the
rules of the exchange: ``workflow/schemas/refi_qda.md``.

* **Export** (rules ``qdpx_export`` and ``qdc_export``): the de-identified transcripts as plain-text sources, each
  rendered from its segment file alone (:func:`render_transcript`: one line per speaker turn,
  ``"Speaker: sentence sentence ...\\n"``), the codebook as codes grouped by theme (the theme is
  the parent code, not codable), the participants as cases with their attributes as variables,
  and optionally the candidate codes as codings by the user ``qualflow-suggestions``. Exports
  are byte-identical when nothing changed: sorted zip members, a fixed zip date, no timestamps
  in the XML, GUIDs derived (uuid5) from a fixed namespace and stable keys.
* **Import** (:func:`read_qdpx_coding`, called by ``scripts/codings.py`` for a ``.qdpx`` in a
  coder folder): plain-text selections become codings of the segments they cover (at least
  ``coding.qdpx_min_overlap`` of a segment's characters), codes are matched to the codebook by
  GUID or by name, sources to transcripts by name, and each coded source is checked against the
  transcript re-rendered from the current segments.

Positions: a plain-text selection runs from ``startPosition`` to ``endPosition`` counted in
characters (Unicode code points) of the source's plain text from 0, end exclusive: Python's
``text[start:end]``.

Messages name the file, the selection (its number in the file and its GUID), codes and sources
by ID or GUID; they never quote transcript text, memos or selection names.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import bisect  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
import zipfile  # noqa: E402
from collections import defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from fractions import Fraction  # noqa: E402
from functools import lru_cache  # noqa: E402
from typing import Any, Callable, Iterable, Iterator, Sequence  # noqa: E402

from lxml import etree  # noqa: E402

from scripts.codebook import Codebook, load_codebook  # noqa: E402
from scripts.codings import CodingError, Mention, Problem, Segments, quoted  # noqa: E402
from scripts.contracts import read_tsv  # noqa: E402
from scripts.errors import QualflowError  # noqa: E402
from scripts.settings import SCHEMA_DIR, load_participants  # noqa: E402

LOGGER = logging.getLogger("qualflow")
PROJECT_NAMESPACE = "urn:QDA-XML:project:1.0"
CODEBOOK_NAMESPACE = "urn:QDA-XML:codebook:1.0"
SCHEMAS = {"project": SCHEMA_DIR / "refi-qda" / "Project.xsd", "codebook": SCHEMA_DIR / "refi-qda" / "Codebook.xsd"}
#: The standard names the project XML inside a .qdpx project.qde and its texts' folder sources.
PROJECT_MEMBER = "project.qde"
SOURCES_FOLDER = "sources"
#: The earliest date a zip can hold: no export time, so re-exports are byte-identical.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: Fixed for good: every exported GUID is uuid5(this, a stable key), so a coder's software and
#: qualflow recognise the same code, source or case across exports. Changing it breaks that.
GUID_NAMESPACE = uuid.UUID("5d0c6c52-9f3e-4a8e-8d43-6a1f0e2b7c19")
QUALFLOW_USER = "qualflow"
SUGGESTIONS_USER = "qualflow-suggestions"
EXCHANGE_FIX = "Export the project again from your QDA program (REFI-QDA project, .qdpx)"
FRESH_EXPORT_FIX = (
    "Code the sources of a fresh export (results/exchange/project.qdpx) without editing their text, "
    "and save that project into the coder's folder"
)
SELECTION_KINDS = ("PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection", "VideoSelection", "TranscriptSelection")
SOURCE_KINDS = ("TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource")


# ---------------------------------------------------------------------------------------------
# GUIDs and the rendered transcript text
# ---------------------------------------------------------------------------------------------


def stable_guid(kind: str, key: str) -> str:
    """The GUID qualflow gives one thing (kind: code, theme, source, case, ...) in every export."""
    return str(uuid.uuid5(GUID_NAMESPACE, f"{kind}:{key}"))


def normalized_guid(value: str | None) -> str:
    """A GUID for comparing: lower case, without the braces the schema also allows."""
    return (value or "").strip().strip("{}").lower()


@dataclass(frozen=True)
class RenderedTranscript:
    """A transcript's plain text as exported, and where each segment is in it ([start, end))."""

    transcript_id: str
    text: str
    spans: tuple[tuple[str, int, int], ...]  # segment_id, start, end; in text order


def render_transcript(rows: Sequence[dict[str, str]]) -> RenderedTranscript:
    """The plain text of one transcript from its segment rows alone: one line per speaker turn,
    ``"Speaker: sentence sentence ...\\n"``, sentences joined by one space.

    Import re-renders the text the same way to check that a coded source is still the transcript
    qualflow knows and to map selections to segments.
    """
    ordered = sorted(rows, key=lambda row: (int(row["turn"]), int(row["sentence"])))
    pieces: list[str] = []
    spans: list[tuple[str, int, int]] = []
    position = 0
    turn = None
    for row in ordered:
        if row["turn"] != turn:
            if turn is not None:
                pieces.append("\n")
                position += 1
            turn = row["turn"]
            label = f"{row.get('speaker') or row['role'].title()}: "
        else:
            label = " "
        pieces.append(label)
        position += len(label)
        spans.append((row["segment_id"], position, position + len(row["text"])))
        pieces.append(row["text"])
        position += len(row["text"])
    if ordered:
        pieces.append("\n")
    transcript_id = ordered[0]["transcript_id"] if ordered else ""
    return RenderedTranscript(transcript_id, "".join(pieces), tuple(spans))


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def _element(parent: etree._Element | None, element_name: str, namespace: str = PROJECT_NAMESPACE, **attributes: str) -> etree._Element:
    # attributes as keywords, so the element's own name cannot be called "name" (an attribute)
    tag = f"{{{namespace}}}{element_name}"
    if parent is None:
        return etree.Element(tag, attributes, nsmap={None: namespace})
    return etree.SubElement(parent, tag, attributes)


def _text_element(parent: etree._Element, name: str, text: str, namespace: str = PROJECT_NAMESPACE) -> etree._Element:
    child = _element(parent, name, namespace)
    child.text = text
    return child


def _code_description(codebook: Codebook, code_id: str) -> str:
    code = codebook.code(code_id)
    document = next(
        entry for theme in codebook.document["themes"] for entry in theme["codes"] if entry["id"] == code_id
    )
    lines = [f"Code ID: {code.id}", f"Definition: {code.definition.strip()}"]
    for key, label in (("include", "Include"), ("exclude", "Exclude")):
        if document.get(key):
            lines.append(f"{label}: {str(document[key]).strip()}")
    return "\n".join(lines)


def _add_codes(parent: etree._Element, codebook: Codebook, namespace: str) -> None:
    """Themes as parent codes (not codable), their codes as children, in codebook order."""
    codes = _element(parent, "Codes", namespace)
    for theme in codebook.themes:
        theme_code = _element(codes, "Code", namespace, guid=stable_guid("theme", theme.id), name=theme.label, isCodable="false")
        description = f"Theme ID: {theme.id}" + (f"\n{theme.description.strip()}" if theme.description else "")
        _text_element(theme_code, "Description", description, namespace)
        for code_id in theme.code_ids:
            code = codebook.code(code_id)
            child = _element(theme_code, "Code", namespace, guid=stable_guid("code", code.id), name=code.label, isCodable="true")
            _text_element(child, "Description", _code_description(codebook, code.id), namespace)


def codebook_document(codebook: Codebook) -> bytes:
    """The codebook as a REFI-QDA codebook (.qdc): themes as parent codes, codes as children."""
    root = _element(None, "CodeBook", CODEBOOK_NAMESPACE, origin="qualflow")
    _add_codes(root, codebook, CODEBOOK_NAMESPACE)
    return _xml_bytes(root, "codebook")


@dataclass(frozen=True)
class Case:
    """A participant: the transcripts they were interviewed in and their attributes."""

    name: str
    transcripts: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]


def participant_cases(participants: Sequence[dict[str, str]], attributes: Sequence[str], transcripts: Iterable[str]) -> list[Case]:
    """One case per participant (participant_id, or the transcript ID when there is none) with the
    configured attributes, for the exported transcripts only; sorted by name."""
    exported = set(transcripts)
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in participants:
        if row.get("transcript_id") in exported:
            grouped[(row.get("participant_id") or "").strip() or row["transcript_id"]].append(row)
    cases = []
    for name, rows in sorted(grouped.items()):
        rows = sorted(rows, key=lambda row: row["transcript_id"])
        values = tuple((attribute, (rows[0].get(attribute) or "").strip()) for attribute in attributes)
        if any(tuple((a, (row.get(a) or "").strip()) for a in attributes) != values for row in rows[1:]):
            LOGGER.warning("participant %s: attributes differ between transcripts; the first transcript's are exported", quoted(name))
        cases.append(Case(name, tuple(row["transcript_id"] for row in rows), values))
    return cases


def project_document(
    codebook: Codebook,
    transcripts: Sequence[RenderedTranscript],
    cases: Sequence[Case],
    attributes: Sequence[str],
    suggestions: dict[str, list[tuple[str, str]]] | None = None,
) -> bytes:
    """The project XML (project.qde). ``suggestions``: transcript → (segment_id, code_id) pairs,
    written as codings by the user qualflow-suggestions (None: no suggestions)."""
    qualflow = stable_guid("user", QUALFLOW_USER)
    helper = stable_guid("user", SUGGESTIONS_USER)
    root = _element(None, "Project", name=f"qualflow (codebook version {codebook.version})", origin="qualflow", creatingUserGUID=qualflow)
    users = _element(root, "Users")
    _element(users, "User", guid=qualflow, name=QUALFLOW_USER)
    if suggestions is not None:
        _element(users, "User", guid=helper, name=SUGGESTIONS_USER)
    codebook_element = _element(root, "CodeBook")
    _add_codes(codebook_element, codebook, PROJECT_NAMESPACE)
    if cases and attributes:
        variables = _element(root, "Variables")
        for attribute in attributes:
            _element(variables, "Variable", guid=stable_guid("variable", attribute), name=attribute, typeOfVariable="Text")
    if cases:
        cases_element = _element(root, "Cases")
        for case in cases:
            case_element = _element(cases_element, "Case", guid=stable_guid("case", case.name), name=case.name)
            for attribute, value in case.attributes:
                if value:
                    variable_value = _element(case_element, "VariableValue")
                    _element(variable_value, "VariableRef", targetGUID=stable_guid("variable", attribute))
                    _text_element(variable_value, "TextValue", value)
            for transcript_id in case.transcripts:
                _element(case_element, "SourceRef", targetGUID=stable_guid("source", transcript_id))
    if transcripts:
        sources = _element(root, "Sources")
        for rendered in transcripts:
            guid = stable_guid("source", rendered.transcript_id)
            source = _element(sources, "TextSource", guid=guid, name=rendered.transcript_id, plainTextPath=f"internal://{guid}.txt")
            if suggestions is not None:
                _add_suggestions(source, rendered, suggestions.get(rendered.transcript_id, []), helper)
    _text_element(
        root, "Description",
        "De-identified transcripts exported by qualflow. Code the sources without editing their text, then "
        "save the project (.qdpx) into data/coding/<your coder name>/ and run the workflow again.",
    )
    return _xml_bytes(root, "project")


def _add_suggestions(source: etree._Element, rendered: RenderedTranscript, pairs: Sequence[tuple[str, str]], user: str) -> None:
    span_of = {segment_id: (start, end) for segment_id, start, end in rendered.spans}
    codes_by_segment: dict[str, list[str]] = defaultdict(list)
    for segment_id, code_id in pairs:
        if segment_id in span_of and code_id not in codes_by_segment[segment_id]:
            codes_by_segment[segment_id].append(code_id)
    for segment_id, _, _ in rendered.spans:  # text order
        if not codes_by_segment.get(segment_id):
            continue
        start, end = span_of[segment_id]
        selection = _element(
            source, "PlainTextSelection", guid=stable_guid("suggestion", segment_id), name=segment_id,
            startPosition=str(start), endPosition=str(end), creatingUser=user,
        )
        for code_id in sorted(codes_by_segment[segment_id]):
            coding = _element(selection, "Coding", guid=stable_guid("suggestion", f"{segment_id}:{code_id}"), creatingUser=user)
            _element(coding, "CodeRef", targetGUID=stable_guid("code", code_id))


def _xml_bytes(root: etree._Element, kind: str) -> bytes:
    errors = schema_errors(root, kind)
    if errors:  # our own export breaking the standard is a bug, not a user mistake
        raise RuntimeError(f"the exported {kind} does not follow the REFI-QDA schema: {'; '.join(errors[:3])}")
    # the declaration written by hand: lxml's uses single quotes, which some importers refuse
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8", pretty_print=True)


def project_members(
    codebook: Codebook,
    transcripts: Sequence[RenderedTranscript],
    cases: Sequence[Case],
    attributes: Sequence[str],
    suggestions: dict[str, list[tuple[str, str]]] | None = None,
) -> dict[str, bytes]:
    """The files of the .qdpx: project.qde and sources/{source GUID}.txt (UTF-8, no BOM)."""
    members = {PROJECT_MEMBER: project_document(codebook, transcripts, cases, attributes, suggestions)}
    for rendered in transcripts:
        members[f"{SOURCES_FOLDER}/{stable_guid('source', rendered.transcript_id)}.txt"] = rendered.text.encode("utf-8")
    return members


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A deterministic zip: members sorted, fixed date and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name], compresslevel=9)
    return buffer.getvalue()


def candidate_pairs(rows: Iterable[dict[str, str]], codebook: Codebook) -> list[tuple[str, str]]:
    """(segment_id, code_id) of candidate codes worth suggesting: codebook codes, not negated."""
    known = set(codebook.code_ids)
    return [(row["segment_id"], row["code_id"]) for row in rows if row.get("negated", "0") != "1" and row["code_id"] in known]


def export_job(
    segment_paths: Sequence[str], codebook_path: str, participants_path: str, candidate_paths: Sequence[str],
    project_output: str, exchange: dict, attributes: Sequence[str], log: str,
) -> None:
    """The ``qdpx_export`` rule: results/exchange/project.qdpx."""
    from scripts.jobs import job_log

    with job_log(log) as logger:
        codebook = load_codebook(codebook_path)
        transcripts = [render_transcript(read_tsv(Path(path))) for path in sorted(segment_paths)]
        transcripts = [rendered for rendered in transcripts if rendered.transcript_id]
        cases = participant_cases(load_participants(Path(participants_path)), attributes, [t.transcript_id for t in transcripts])
        suggestions = None
        if exchange.get("suggestions", False):
            suggestions = {Path(path).stem: candidate_pairs(read_tsv(Path(path)), codebook) for path in candidate_paths}
        members = project_members(codebook, transcripts, cases, attributes, suggestions)
        Path(project_output).parent.mkdir(parents=True, exist_ok=True)
        Path(project_output).write_bytes(zip_bytes(members))
        logger.info(
            "%d transcripts, %d segments, %d codes in %d themes, %d cases, %s",
            len(transcripts), sum(len(t.spans) for t in transcripts), len(codebook.codes), len(codebook.themes), len(cases),
            f"{sum(len(pairs) for pairs in suggestions.values())} suggested codings" if suggestions is not None else "no suggestions",
        )


def codebook_job(codebook_path: str, output: str, log: str) -> None:
    """The ``qdc_export`` rule: results/exchange/codebook.qdc, the codebook alone (a rule of its
    own: a new interview does not rewrite it)."""
    from scripts.jobs import job_log

    with job_log(log) as logger:
        codebook = load_codebook(codebook_path)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_bytes(codebook_document(codebook))
        logger.info("%d codes in %d themes", len(codebook.codes), len(codebook.themes))


# ---------------------------------------------------------------------------------------------
# Reading a .qdpx or .qdc
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _schema(kind: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS[kind])))


# A schema object keeps the errors of its last validation: jobs running as threads take turns.
_SCHEMA_LOCK = threading.Lock()


_ELEMENT_NAME = re.compile(r"Element '(?:\{[^}]*\})?([^']+)'")
_ATTRIBUTE_NAME = re.compile(r"attribute '([^']+)'")


def schema_errors(root: etree._Element, kind: str) -> list[str]:
    """Where an XML document departs from the REFI-QDA schema ('line N: element X (attribute Y)').

    Only line numbers and element and attribute names: lxml's own messages can quote values.
    """
    with _SCHEMA_LOCK:
        schema = _schema(kind)
        if schema.validate(root):
            return []
        log = list(schema.error_log)
    found = []
    for error in log:
        element = _ELEMENT_NAME.search(error.message)
        attribute = _ATTRIBUTE_NAME.search(error.message)
        where = f"line {error.line}: element {element.group(1) if element else '(unknown)'}"
        found.append(where + (f" (attribute {attribute.group(1)})" if attribute else ""))
    return found


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
    problems: list[str] = field(default_factory=list)  # departures from the standard, what is not read
    checks: list[str] = field(default_factory=list)  # missing texts, unknown code GUIDs, selections outside their source


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    # by local name: some exporters use another namespace version or prefixes
    return (child for child in element if _local(child) == name)


def _descendants(element: etree._Element, names: Iterable[str]) -> Iterator[etree._Element]:
    wanted = set(names)
    return (child for child in element.iter() if _local(child) in wanted)


def _parse_xml(data: bytes, path: Path, what: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno else "?"
        raise CodingError(path, f"{what} is not well-formed XML (line {line})", EXCHANGE_FIX) from None


def _project_xml(archive: zipfile.ZipFile, path: Path) -> tuple[str, bytes]:
    """The project XML member: project.qde (any case), else the only .qde of the archive."""
    candidates = [name for name in archive.namelist() if name.lower().endswith(".qde")]
    at_root = [name for name in candidates if "/" not in name.strip("/")]
    named = [name for name in at_root if name.lower() == PROJECT_MEMBER]
    chosen = named or at_root or candidates
    if not chosen:
        raise CodingError(path, "is a zip archive but not a REFI-QDA project: it holds no project.qde", EXCHANGE_FIX)
    if len(chosen) > 1:
        raise CodingError(path, f"holds {len(chosen)} project files (.qde); a REFI-QDA project holds one", EXCHANGE_FIX)
    return chosen[0], archive.read(chosen[0])


def read_exchange(path: str | Path) -> ExchangeFile:
    """Read a REFI-QDA project (.qdpx) or codebook (.qdc, any other suffix that is not a zip).

    Unreadable files (not a zip, no project.qde, not XML, not REFI-QDA, missing what qualflow
    needs) raise :class:`~scripts.codings.CodingError` naming the file. Departures from the
    schema that do not stop reading, source texts that are missing and sources qualflow does not
    read are listed in ``problems``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CodingError(path, f"cannot be read ({error.strerror or type(error).__name__})", "Check the file name and its permissions") from None
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                member, xml = _project_xml(archive, path)
                root = _parse_xml(xml, path, member)
                members = {name.lower(): name for name in archive.namelist()}
                exchange = _read_project(root, path, lambda target: _member_text(archive, members, target))
                if member.lower() != PROJECT_MEMBER and "/" not in member:
                    exchange.problems.insert(0, f"the project XML is named {quoted(member)}, not project.qde (read anyway)")
                return exchange
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError):
            raise CodingError(path, "is a damaged zip archive", EXCHANGE_FIX) from None
    if path.suffix.lower() == ".qdpx":
        raise CodingError(path, "is not a REFI-QDA project: a .qdpx is a zip archive and this file is not one", EXCHANGE_FIX)
    root = _parse_xml(data, path, "the file")
    if _local(root) == "Project":  # a bare project.qde: no source texts come with it
        return _read_project(root, path, lambda target: (None, "the texts are not inside a bare .qde; use the .qdpx"))
    if _local(root) != "CodeBook":
        raise CodingError(path, f"is XML but not a REFI-QDA codebook or project (root element {_local(root)})", EXCHANGE_FIX)
    return _read_codebook(root, path)


def _member_text(archive: zipfile.ZipFile, members: dict[str, str], target: str) -> tuple[str | None, str]:
    """The text of a source's plain-text file (internal://NAME → sources/NAME, any case)."""
    if not target.startswith("internal://"):
        return None, "its text is outside the project file (a relative or absolute path)"
    name = target[len("internal://"):].lstrip("/")
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
    exchange.counts = {"codes": len(list(_descendants(root, ["Code"]))), "sources": 0, "selections": 0, "codings": 0, "users": 0, "cases": 0}
    return exchange


def _schema_problems(root: etree._Element, kind: str) -> list[str]:
    errors = schema_errors(root, kind)
    if not errors:
        return []
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return [f"does not follow the REFI-QDA {kind} schema at {'; '.join(errors[:3])}{more} (read anyway)"]


def _required(element: etree._Element, attribute: str, path: Path, kind: str = "project") -> str:
    value = element.get(attribute)
    if value is None or not value.strip():
        raise CodingError(
            path, f"does not follow the REFI-QDA {kind} schema: line {element.sourceline}, element {_local(element)} has no {attribute}",
            EXCHANGE_FIX,
        )
    return value.strip()


def _read_codes(parent: etree._Element, path: Path, into: dict[str, CodeEntry], kind: str = "project") -> None:
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
            path, f"does not follow the REFI-QDA project schema: line {element.sourceline}, {attribute} of a plain-text selection is not a whole number",
            EXCHANGE_FIX,
        ) from None


def _read_project(root: etree._Element, path: Path, source_text: Callable[[str], tuple[str | None, str]]) -> ExchangeFile:
    if _local(root) != "Project":
        raise CodingError(path, f"is not a REFI-QDA project (root element {_local(root)}, expected Project)", EXCHANGE_FIX)
    counts = {
        "codes": sum(1 for codebook in _children(root, "CodeBook") for _ in _descendants(codebook, ["Code"])),
        "sources": sum(1 for sources in _children(root, "Sources") for child in sources if _local(child) in SOURCE_KINDS),
        "selections": sum(1 for _ in _descendants(root, SELECTION_KINDS)),
        "codings": sum(1 for _ in _descendants(root, ["Coding"])),
        "users": sum(1 for users in _children(root, "Users") for _ in _children(users, "User")),
        "cases": sum(1 for cases in _children(root, "Cases") for _ in _children(cases, "Case")),
    }
    exchange = ExchangeFile(path, "project", counts)
    exchange.problems.extend(_schema_problems(root, "project"))
    for users in _children(root, "Users"):
        for user in _children(users, "User"):
            exchange.users[normalized_guid(_required(user, "guid", path))] = (user.get("name") or "").strip()
    for codebook in _children(root, "CodeBook"):
        for codes in _children(codebook, "Codes"):
            _read_codes(codes, path, exchange.codes)
    numbers = {element: number for number, element in enumerate(_descendants(root, ["PlainTextSelection"]), start=1)}
    other_codings = 0
    for sources in _children(root, "Sources"):
        for source in sources:
            if _local(source) == "TextSource":
                exchange.text_sources.append(_read_text_source(source, path, numbers, source_text))
                other_codings += sum(1 for _ in _children(source, "Coding"))  # codes on a whole source
            elif _local(source) in SOURCE_KINDS:
                other_codings += sum(1 for _ in _descendants(source, ["Coding"]))
    if other_codings:
        exchange.problems.append(
            f"{other_codings} coding(s) on picture, PDF, audio or video sources or on whole sources are not read "
            "(qualflow reads the plain-text selections of text sources)"
        )
    # Checked by the import only for the sources it reads; listed here for the summary.
    known = set(exchange.codes)
    used = {guid for source in exchange.text_sources for selection in source.selections for guid, _ in selection.codings}
    unknown = sorted(guid for guid in used if normalized_guid(guid) not in known)
    if unknown:
        exchange.checks.append(f"{len(unknown)} code GUID(s) used by codings are not in the file's codebook: {', '.join(unknown[:5])}")
    for source in exchange.text_sources:
        if source.text is None:
            exchange.checks.append(f"text source {quoted(source.name)} (GUID {source.guid}): {source.missing}")
            continue
        for selection in source.selections:
            if not 0 <= selection.start <= selection.end <= len(source.text):
                exchange.checks.append(_outside(selection, source))
    return exchange


def _outside(selection: Selection, source: TextSourceEntry) -> str:
    return (
        f"selection {selection.number} (GUID {selection.guid}) runs from {selection.start} to {selection.end}, outside "
        f"the {len(source.text or '')} characters of source {quoted(source.name)}"
    )


def _read_text_source(
    source: etree._Element, path: Path, numbers: dict[etree._Element, int], source_text: Callable[[str], tuple[str | None, str]],
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
                    path, f"does not follow the REFI-QDA project schema: line {coding.sourceline}, a Coding has no CodeRef", EXCHANGE_FIX,
                )
            user = coding.get("creatingUser") or element.get("creatingUser")
            codings.append((_required(reference, "targetGUID", path), normalized_guid(user) if user else None))
        selections.append(Selection(
            _required(element, "guid", path), numbers[element], _position(element, "startPosition", path),
            _position(element, "endPosition", path), tuple(codings),
        ))
    return TextSourceEntry(guid, (source.get("name") or "").strip(), text, selections, missing)


def summarize(path: str | Path) -> dict[str, Any]:
    """Counts (codes, sources, selections, codings, users, cases: elements of the file, of any
    media type) and problems of a .qdpx or .qdc, without the workflow."""
    exchange = read_exchange(path)
    return {"file": str(path), "kind": exchange.kind, **exchange.counts, "problems": [*exchange.problems, *exchange.checks]}


# ---------------------------------------------------------------------------------------------
# Import: a coder's .qdpx as codings
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


def source_transcript(name: str, transcripts: Iterable[str]) -> str | None:
    """The transcript a source is (its name is the transcript ID, with or without an extension, in
    any case); None when there is none or more than one."""
    stem = source_stem(name)
    transcripts = list(transcripts)
    if stem in transcripts:
        return stem
    matches = [transcript for transcript in transcripts if transcript.casefold() == stem.casefold()]
    return matches[0] if len(matches) == 1 else None


def coded_source_names(path: str | Path) -> set[str]:
    """Names (extension dropped) of the text sources a coder coded in a .qdpx: those with a coding
    by anyone but qualflow-suggestions. Cheap (the XML only): used while Snakemake builds the job
    graph; see :func:`scripts.codings.coded_transcripts` for how names are matched to transcripts."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            member, xml = _project_xml(archive, path)
            root = _parse_xml(xml, path, member)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError):
        return set()
    users = {normalized_guid(user.get("guid")): (user.get("name") or "").strip() for user in _descendants(root, ["User"])}
    helpers = suggestion_users(users)
    names = set()
    for sources in _children(root, "Sources"):
        for source in _children(sources, "TextSource"):
            for selection in _children(source, "PlainTextSelection"):
                for coding in _children(selection, "Coding"):
                    if normalized_guid(coding.get("creatingUser") or selection.get("creatingUser")) not in helpers:
                        names.add(source_stem(source.get("name") or ""))
    return names


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
        self.by_guid = {normalized_guid(stable_guid("code", code.id)): code.id for code in codebook.codes}
        self.theme_by_guid = {normalized_guid(stable_guid("theme", theme.id)): theme.id for theme in codebook.themes}
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
        return CodeMatch(reason=f"code {quoted(entry.name)} (GUID {guid}) is not a code of the codebook")

    def _by_name(self, name: str) -> CodeMatch | None:
        if name in self.code_ids:
            return CodeMatch(code_id=self.code_ids[name])
        labelled = self.code_names.get(name, set())
        if len(labelled) == 1:
            return CodeMatch(code_id=next(iter(labelled)))
        if len(labelled) > 1:
            return CodeMatch(reason=f"code label {quoted(name)} belongs to {len(labelled)} codes ({', '.join(sorted(labelled))})")
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


def coded_segments(start: int, end: int, spans: Sequence[tuple[str, int, int]], min_overlap: float) -> tuple[list[str], tuple[float, str]]:
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
    path: str | Path, coder: str, segments: Segments, codebook: Codebook, min_overlap: float = 0.5, similarity: float = 0.6,
    versions: Any = None,
) -> tuple[list[Mention], list[Problem]]:
    """A coder's REFI-QDA project as codings (one :class:`~scripts.codings.Mention` per segment
    and code, ``row`` = the selection's number in the file) and the problems found.

    Raises :class:`~scripts.codings.CodingError` for a file that cannot be read and for a
    selection outside its source's text. Sources are matched to transcripts by name and
    compared with the transcript re-rendered from ``segments``. Where the transcript has changed
    since the export: if ``versions`` (the kept segment versions, scripts/anchor_codings.py) hold
    the version exported, the selections code its segments (with their text SHA-1), to be followed
    like any coding; else each selection is followed into the text as it is now
    (:func:`scripts.anchoring.map_selection`): ``carried`` (the same words), ``moved`` (at least
    ``similarity`` of its words found again) or ``recheck`` (a mention with no segment, left out
    until a person looks). Codings by qualflow-suggestions are left out (with a warning).
    """
    from scripts import anchoring

    path = Path(path)
    exchange = read_exchange(path)
    if exchange.kind != "project":
        raise CodingError(path, "is a REFI-QDA codebook, not a project with codings", "Save the coded project (.qdpx) here instead")
    file = str(path)
    problems = [Problem("warning", "qdpx_format", coder, file, None, problem, EXCHANGE_FIX) for problem in exchange.problems]
    helpers = suggestion_users(exchange.users)
    matcher = CodeMatcher(codebook, exchange.codes)
    rows_by_transcript: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in segments.rows:
        rows_by_transcript[row["transcript_id"]].append(row)
    mentions: dict[tuple[str, str], Mention] = {}
    bad_codes: dict[tuple[str, str], list[int]] = defaultdict(list)  # (kind, detail) → selection numbers
    ignored, users = 0, set()
    for source in exchange.text_sources:
        counted = [selection for selection in source.selections if any(user not in helpers for _, user in selection.codings)]
        ignored += sum(1 for selection in source.selections for _, user in selection.codings if user in helpers)
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
            exported = next(((kept, digests) for kept, digests in versions.rendered(transcript) if kept.text == plain), None)
            if exported is not None:  # the version exported is kept: code its segments, followed later
                rendered, sha1, to_rendered = exported[0], exported[1], to_plain
        for selection in counted:
            if not 0 <= selection.start <= selection.end <= len(source.text):
                raise CodingError(path, _outside(selection, source), FRESH_EXPORT_FIX)
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
                        mentions.setdefault(("", f"{selection.number}:{code_id}"), Mention(
                            coder, file, selection.number, "", code_id, status="recheck",
                            similarity=where[2] if where else 0.0, coded_code_id=code_id, coded_text=coded_text,
                            transcript_id=transcript,
                        ))
                    continue
                start, end, share = where
                status = "carried" if anchoring.same_words(coded_text, rendered.text[start:end]) else "moved"
            covered, (largest, nearest) = coded_segments(start, end, rendered.spans, min_overlap)
            if not covered:
                problems.append(_too_small(coder, file, selection, codes, largest, nearest, min_overlap))
            for segment_id in covered:
                for code_id in codes:
                    mentions.setdefault((segment_id, code_id), Mention(
                        coder, file, selection.number, segment_id, code_id, status=status, similarity=share,
                        text_sha1=sha1.get(segment_id) if status == "unchanged" else None,
                        coded_code_id=code_id, coded_text=coded_text if status != "unchanged" else "",
                    ))
    problems.extend(_code_problems(coder, file, bad_codes, codebook))
    if ignored:
        problems.append(Problem(
            "warning", "suggestions_ignored", coder, file, None,
            f"{ignored} coding(s) by the user {SUGGESTIONS_USER} left out: they are candidate codes, not {coder}'s",
            "Nothing to do; to count a suggested code, apply it yourself",
        ))
    named_users = sorted(user for user in users if user is not None)
    if len(named_users) > 1:
        problems.append(Problem(
            "warning", "several_users", coder, file, None,
            f"codings by {len(named_users)} users (GUIDs {', '.join(named_users)}) are all read as {coder}'s coding",
            "Keep one coder's project in each coder folder",
        ))
    return sorted(mentions.values(), key=lambda m: (m.row, segments.index.get(m.segment_id, 0), m.code_id or "")), problems


def _source_problem(coder: str, file: str, source: TextSourceEntry, transcript: str | None, first: int) -> Problem:
    """Why a coded source's selections cannot be read: no transcript, or no text."""
    where = f"source {quoted(source.name)} (GUID {source.guid})"
    if transcript is None:
        kind, detail = "unknown_source", f"{where} is coded but is not a transcript of the corpus (its name must be the transcript ID)"
    else:
        kind, detail = "missing_source_text", f"{where}: {source.missing}"
    return Problem("error", kind, coder, file, first, detail, FRESH_EXPORT_FIX)


def _selection_codes(selection: Selection, helpers: set[str], matcher: CodeMatcher, bad_codes: dict[tuple[str, str], list[int]]) -> list[str]:
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


def _too_small(coder: str, file: str, selection: Selection, codes: list[str], share: float, nearest: str, min_overlap: float) -> Problem:
    if nearest:
        reach = f"covers less than {min_overlap:.0%} of every segment it touches (at most {share:.0%} of {nearest})"
    else:
        reach = "covers no segment's text"
    return Problem(
        "warning", "selection_too_small", coder, file, selection.number,
        f"selection {selection.number} (GUID {selection.guid}) {reach}; its code(s) {', '.join(codes)} are not counted",
        "Widen the selection to the whole sentence, or lower coding.qdpx_min_overlap in config.yaml",
    )


def _code_problems(coder: str, file: str, bad_codes: dict[tuple[str, str], list[int]], codebook: Codebook) -> list[Problem]:
    problems = []
    for (kind, detail), numbers in sorted(bad_codes.items(), key=lambda item: min(item[1])):
        count = f"{len(numbers)} selection(s), the first selection {min(numbers)}"
        if kind == "theme":
            theme = next(theme for theme in codebook.themes if theme.id == detail)
            problems.append(Problem(
                "error", "theme_coded", coder, file, min(numbers),
                f"theme {detail} is applied like a code ({count}); a theme groups codes and is not coded itself",
                f"Apply one of its codes instead ({', '.join(theme.code_ids)})", code_id=detail,
            ))
        else:
            problems.append(Problem(
                "error", "unknown_code", coder, file, min(numbers), f"{detail} (version {codebook.version}); used by {count}",
                "Use the codes of the exported codebook (results/exchange/codebook.qdc), or add the code to data/codebook.yaml",
            ))
    return problems


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
    parser.add_argument("--summary", metavar="FILE", required=True, help="the .qdpx or .qdc to summarise")
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
    print(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) if args.json else _summary_text(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
