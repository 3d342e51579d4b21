"""Playing a coder's QDA software in tests: add codings to an exported REFI-QDA project, as a
program like NVivo or QualCoder would save them (plain-text selections with a Coding each)."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

from lxml import etree

NS = "urn:QDA-XML:project:1.0"


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


def read_members(qdpx: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(qdpx) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_members(
    qdpx: Path, members: dict[str, bytes], project_member: str = "project.qde"
) -> Path:
    """A zip as QDA programs write them: whatever order, today's date."""
    qdpx.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(qdpx, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(project_member if name == "project.qde" else name, data)
    return qdpx


def source_text(members: dict[str, bytes], transcript: str) -> str:
    root = etree.fromstring(members["project.qde"])
    source = next(s for s in root.iter(q("TextSource")) if s.get("name") == transcript)
    return members["sources/" + source.get("plainTextPath").split("internal://")[1]].decode("utf-8")


def add_user(root: etree._Element, name: str) -> str:
    guid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"test user {name}")).upper()
    etree.SubElement(root.find(q("Users")), q("User"), guid=guid, name=name)
    return guid


def custom_code_guid(name: str) -> str:
    """The GUID :func:`add_code` gives a code the coder created (one qualflow does not know)."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"test code {name}"))


def add_code(root: etree._Element, name: str, parent_guid: str | None = None) -> str:
    """A code the coder created in their program, under the codebook or a parent code."""
    guid = custom_code_guid(name)
    codes = root.find(q("CodeBook")).find(q("Codes"))
    parent = (
        codes
        if parent_guid is None
        else next(c for c in root.iter(q("Code")) if c.get("guid") == parent_guid)
    )
    etree.SubElement(parent, q("Code"), guid=guid, name=name, isCodable="true")
    return guid


def add_selection(
    root: etree._Element, transcript: str, start: int, end: int, code_guids: list[str], user: str
) -> str:
    """A plain-text selection on the source named ``transcript`` coded with each code by ``user``."""
    source = next(s for s in root.iter(q("TextSource")) if s.get("name") == transcript)
    guid = str(uuid.uuid5(uuid.NAMESPACE_OID, f"selection {transcript} {start} {end} {code_guids}"))
    selection = etree.Element(
        q("PlainTextSelection"),
        guid=guid,
        startPosition=str(start),
        endPosition=str(end),
        creatingUser=user,
    )
    position = sum(
        1
        for child in source
        if child.tag in (q("Description"), q("PlainTextContent"), q("PlainTextSelection"))
    )
    source.insert(position, selection)  # the schema's order: selections before codings and notes
    for code_guid in code_guids:
        coding = etree.SubElement(
            selection,
            q("Coding"),
            guid=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{guid} {code_guid}")),
            creatingUser=user,
        )
        etree.SubElement(coding, q("CodeRef"), targetGUID=code_guid)
    return guid


def coded_copy(
    exported: Path,
    coded: Path,
    user: str,
    selections: list[tuple[str, int, int, list[str]]],
    edit=None,
) -> Path:
    """``exported`` with ``selections`` (transcript, start, end, code GUIDs) by a new user; ``edit``
    may change the project XML first (add codes...)."""
    members = read_members(exported)
    root = etree.fromstring(members["project.qde"])
    user_guid = add_user(root, user)
    if edit is not None:
        edit(root)
    for transcript, start, end, codes in selections:
        add_selection(root, transcript, start, end, codes, user_guid)
    members["project.qde"] = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return write_members(coded, members)
