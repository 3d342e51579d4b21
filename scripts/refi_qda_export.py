"""The export to the coders' QDA software in the REFI-QDA standard (rules ``qdpx_export`` and
``qdc_export``): ``results/exchange/project.qdpx`` and ``results/exchange/codebook.qdc``.

The de-identified transcripts are plain-text sources, each rendered from its segment file alone
(:func:`scripts.refi_qda_standard.render_transcript`: one line per speaker turn, ``"Speaker:
sentence sentence ...\\n"``), the codebook is codes grouped by theme (the theme is the parent
code, not codable), the participants are cases with their attributes as variables, and
optionally the candidate codes are codings by the user ``qualflow-suggestions``. Exports are
byte-identical when nothing changed: sorted zip members, a fixed zip date, no timestamps in the
XML, GUIDs derived (uuid5) from a fixed namespace and stable keys.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from lxml import etree

from scripts.codebook import Codebook, load_codebook
from scripts.coding_records import quoted
from scripts.contracts import read_tsv, write_text
from scripts.refi_qda_standard import (
    CODEBOOK_NAMESPACE,
    PROJECT_MEMBER,
    PROJECT_NAMESPACE,
    QUALFLOW_USER,
    SOURCES_FOLDER,
    SUGGESTIONS_USER,
    RenderedTranscript,
    render_transcript,
    schema_errors,
    stable_guid,
)
from scripts.rule_jobs import job_log, rule_job
from scripts.settings import load_participants

LOGGER = logging.getLogger("qualflow")
#: The earliest date a zip can hold: no export time, so re-exports are byte-identical.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _element(
    parent: etree._Element | None,
    element_name: str,
    namespace: str = PROJECT_NAMESPACE,
    **attributes: str,
) -> etree._Element:
    # attributes as keywords, so the element's own name cannot be called "name" (an attribute)
    tag = f"{{{namespace}}}{element_name}"
    if parent is None:
        return etree.Element(tag, attributes, nsmap={None: namespace})
    return etree.SubElement(parent, tag, attributes)


def _text_element(
    parent: etree._Element, name: str, text: str, namespace: str = PROJECT_NAMESPACE
) -> etree._Element:
    child = _element(parent, name, namespace)
    child.text = text
    return child


def _code_description(codebook: Codebook, code_id: str) -> str:
    code = codebook.code(code_id)
    document = next(
        entry
        for theme in codebook.document["themes"]
        for entry in theme["codes"]
        if entry["id"] == code_id
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
        theme_code = _element(
            codes,
            "Code",
            namespace,
            guid=stable_guid("theme", theme.id),
            name=theme.label,
            isCodable="false",
        )
        description = f"Theme ID: {theme.id}" + (
            f"\n{theme.description.strip()}" if theme.description else ""
        )
        _text_element(theme_code, "Description", description, namespace)
        for code_id in theme.code_ids:
            code = codebook.code(code_id)
            child = _element(
                theme_code,
                "Code",
                namespace,
                guid=stable_guid("code", code.id),
                name=code.label,
                isCodable="true",
            )
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


def participant_cases(
    participants: Sequence[dict[str, str]], attributes: Sequence[str], transcripts: Iterable[str]
) -> list[Case]:
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
        values = tuple(
            (attribute, (rows[0].get(attribute) or "").strip()) for attribute in attributes
        )
        if any(
            tuple((a, (row.get(a) or "").strip()) for a in attributes) != values for row in rows[1:]
        ):
            LOGGER.warning(
                "participant %s: attributes differ between transcripts; the first transcript's are exported",
                quoted(name),
            )
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
    root = _element(
        None,
        "Project",
        name=f"qualflow (codebook version {codebook.version})",
        origin="qualflow",
        creatingUserGUID=qualflow,
    )
    users = _element(root, "Users")
    _element(users, "User", guid=qualflow, name=QUALFLOW_USER)
    if suggestions is not None:
        _element(users, "User", guid=helper, name=SUGGESTIONS_USER)
    codebook_element = _element(root, "CodeBook")
    _add_codes(codebook_element, codebook, PROJECT_NAMESPACE)
    if cases and attributes:
        variables = _element(root, "Variables")
        for attribute in attributes:
            _element(
                variables,
                "Variable",
                guid=stable_guid("variable", attribute),
                name=attribute,
                typeOfVariable="Text",
            )
    if cases:
        cases_element = _element(root, "Cases")
        for case in cases:
            case_element = _element(
                cases_element, "Case", guid=stable_guid("case", case.name), name=case.name
            )
            for attribute, value in case.attributes:
                if value:
                    variable_value = _element(case_element, "VariableValue")
                    _element(
                        variable_value, "VariableRef", targetGUID=stable_guid("variable", attribute)
                    )
                    _text_element(variable_value, "TextValue", value)
            for transcript_id in case.transcripts:
                _element(case_element, "SourceRef", targetGUID=stable_guid("source", transcript_id))
    if transcripts:
        sources = _element(root, "Sources")
        for rendered in transcripts:
            guid = stable_guid("source", rendered.transcript_id)
            source = _element(
                sources,
                "TextSource",
                guid=guid,
                name=rendered.transcript_id,
                plainTextPath=f"internal://{guid}.txt",
            )
            if suggestions is not None:
                _add_suggestions(
                    source, rendered, suggestions.get(rendered.transcript_id, []), helper
                )
    _text_element(
        root,
        "Description",
        "De-identified transcripts exported by qualflow. Code the sources without editing their text, then "
        "save the project (.qdpx) into data/coding/<your coder name>/ and run the workflow again.",
    )
    return _xml_bytes(root, "project")


def _add_suggestions(
    source: etree._Element,
    rendered: RenderedTranscript,
    pairs: Sequence[tuple[str, str]],
    user: str,
) -> None:
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
            source,
            "PlainTextSelection",
            guid=stable_guid("suggestion", segment_id),
            name=segment_id,
            startPosition=str(start),
            endPosition=str(end),
            creatingUser=user,
        )
        for code_id in sorted(codes_by_segment[segment_id]):
            coding = _element(
                selection,
                "Coding",
                guid=stable_guid("suggestion", f"{segment_id}:{code_id}"),
                creatingUser=user,
            )
            _element(coding, "CodeRef", targetGUID=stable_guid("code", code_id))


def _xml_bytes(root: etree._Element, kind: str) -> bytes:
    errors = schema_errors(root, kind)
    if errors:  # our own export breaking the standard is a bug, not a user mistake
        raise RuntimeError(
            f"the exported {kind} does not follow the REFI-QDA schema: {'; '.join(errors[:3])}"
        )
    # the declaration written by hand: lxml's uses single quotes, which some importers refuse
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        root, encoding="UTF-8", pretty_print=True
    )


def project_members(
    codebook: Codebook,
    transcripts: Sequence[RenderedTranscript],
    cases: Sequence[Case],
    attributes: Sequence[str],
    suggestions: dict[str, list[tuple[str, str]]] | None = None,
) -> dict[str, bytes]:
    """The files of the .qdpx: project.qde and sources/{source GUID}.txt (UTF-8, no BOM)."""
    members = {
        PROJECT_MEMBER: project_document(codebook, transcripts, cases, attributes, suggestions)
    }
    for rendered in transcripts:
        members[f"{SOURCES_FOLDER}/{stable_guid('source', rendered.transcript_id)}.txt"] = (
            rendered.text.encode("utf-8")
        )
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
    return [
        (row["segment_id"], row["code_id"])
        for row in rows
        if row.get("negated", "0") != "1" and row["code_id"] in known
    ]


#: The layout of the rendered sources kept between exports: another layout is not read.
RENDERED_CACHE_VERSION = 1


def rendered_transcripts(
    segment_files: Sequence[str], cache: str | Path | None = None
) -> list[RenderedTranscript]:
    """Each segment file's transcript rendered (:func:`render_transcript`), in file order.

    ``cache``: a folder keeping each file's rendered transcript by the SHA-256 of its bytes
    (de-identified text, the sources the project holds anyway), in 256 JSON files by the digest's
    first two hex digits: a file unchanged since the last export is not read as a table and
    rendered again (a new interview in a study of 1,000 transcripts: 0.9 s of an export's 1.3 s),
    and only the files of the digests that came or went are written again.
    """
    kept: dict[str, dict[str, list]] = {}
    if cache is not None:
        for path in sorted(Path(cache).glob("*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
                if document.get("version") == RENDERED_CACHE_VERSION:
                    kept[path.stem] = dict(document["transcripts"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                continue  # unreadable: its transcripts are rendered again
    known = {digest: entry for share in kept.values() for digest, entry in share.items()}
    rendered, current = [], defaultdict(dict)
    for path in segment_files:
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        entry = known.get(digest)
        if isinstance(entry, list) and len(entry) == 3:
            transcript = RenderedTranscript(entry[0], entry[1], tuple(map(tuple, entry[2])))
        else:
            transcript = render_transcript(read_tsv(Path(path)))
        rendered.append(transcript)
        current[digest[:2]][digest] = [transcript.transcript_id, transcript.text, transcript.spans]
    if cache is not None:
        for share in sorted(set(kept) | set(current)):
            path = Path(cache) / f"{share}.json"
            if share not in current:
                path.unlink(missing_ok=True)
            elif sorted(current[share]) != sorted(kept.get(share, {})):
                document = {"transcripts": current[share], "version": RENDERED_CACHE_VERSION}
                write_text(path, json.dumps(document, ensure_ascii=False, sort_keys=True) + "\n")
    return rendered


@rule_job
def qdpx_export(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule qdpx_export: inputs segments (a list), codebook, participants and candidates (a list,
    read when ``exchange.suggestions`` is on); output project (results/exchange/project.qdpx);
    params cache (the rendered sources kept between exports: :func:`rendered_transcripts`)."""
    with job_log(log) as logger:
        settings = params["config"]
        attributes = settings["participants"]["attributes"]
        codebook = load_codebook(input["codebook"])
        transcripts = [
            rendered
            for rendered in rendered_transcripts(sorted(input["segments"]), params.get("cache"))
            if rendered.transcript_id
        ]
        cases = participant_cases(
            load_participants(Path(input["participants"])),
            attributes,
            [t.transcript_id for t in transcripts],
        )
        suggestions = None
        if settings["exchange"].get("suggestions", False):
            suggestions = {
                Path(path).stem: candidate_pairs(read_tsv(Path(path)), codebook)
                for path in input["candidates"]
            }
        members = project_members(codebook, transcripts, cases, attributes, suggestions)
        Path(output["project"]).parent.mkdir(parents=True, exist_ok=True)
        Path(output["project"]).write_bytes(zip_bytes(members))
        logger.info(
            "%d transcripts, %d segments, %d codes in %d themes, %d cases, %s",
            len(transcripts),
            sum(len(t.spans) for t in transcripts),
            len(codebook.codes),
            len(codebook.themes),
            len(cases),
            f"{sum(len(pairs) for pairs in suggestions.values())} suggested codings"
            if suggestions is not None
            else "no suggestions",
        )


@rule_job
def qdc_export(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule qdc_export: input codebook; output codebook (results/exchange/codebook.qdc), the
    codebook alone (a rule of its own: a new interview does not rewrite it)."""
    with job_log(log) as logger:
        codebook = load_codebook(input["codebook"])
        Path(output["codebook"]).parent.mkdir(parents=True, exist_ok=True)
        Path(output["codebook"]).write_bytes(codebook_document(codebook))
        logger.info("%d codes in %d themes", len(codebook.codes), len(codebook.themes))
