"""Tests for scripts/refi_qda*.py: the REFI-QDA export (schemas, positions, determinism), reading a
coder's project back as codings (overlap rule, code and source matching, checks), real exporters'
files (ATLAS.ti) and bad input."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from scripts import (
    coder_folders,
    coding_records,
    codings,
    leak_check,
    refi_qda,
    refi_qda_codings,
    refi_qda_export,
    refi_qda_standard,
)
from scripts import deidentify as deid
from scripts.codebook import load_codebook
from scripts.coding_records import CodingError
from scripts.contracts import SEGMENT_COLUMNS, read_tsv, write_tsv
from scripts.errors import PrivacyError

from . import refi_helpers as qda
from .coding_helpers import write_project

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "workflow" / "schemas" / "refi-qda"
REFERENCE = REPO / "tests" / "data" / "reference" / "refi-qda"
ATLAS_PROJECT = REFERENCE / "atlasti-8.4-standard-project.qdpx"
ATLAS_CODEBOOK = REFERENCE / "atlasti-23.4-codebook.qdc"
PARTICIPANTS = (
    "transcript_id,participant_id,role,site\nT1,P1,client,A\nT2,P2,provider,B\nT9,P9,client,A\n"
)


def code(code_id: str) -> str:
    return refi_qda_standard.stable_guid("code", code_id)


@pytest.fixture
def study(tmp_path: Path) -> dict:
    """Segments of T1 and T2, the codebook, participants, and the exported project and codebook."""
    paths = write_project(tmp_path)
    paths["participants"] = tmp_path / "participants.csv"
    paths["participants"].write_text(PARTICIPANTS, encoding="utf-8")
    paths["qdpx"], paths["qdc"] = export(paths, tmp_path / "exchange")
    segments = coding_records.load_segments([paths["T1"], paths["T2"]])
    rendered = {t: refi_qda_standard.render_transcript(read_tsv(paths[t])) for t in ("T1", "T2")}
    return {
        "paths": paths,
        "segments": segments,
        "codebook": load_codebook(paths["codebook"]),
        "rendered": rendered,
        "span": {
            segment: (start, end) for r in rendered.values() for segment, start, end in r.spans
        },
    }


def export(
    paths: dict, folder: Path, suggestions: bool = False, candidates: tuple = ()
) -> tuple[Path, Path]:
    qdpx, qdc = folder / "project.qdpx", folder / "codebook.qdc"
    inputs = {
        "segments": [str(paths["T1"]), str(paths["T2"])],
        "codebook": str(paths["codebook"]),
        "participants": str(paths["participants"]),
        "candidates": list(candidates),
    }
    settings = {
        "exchange": {"suggestions": suggestions},
        "participants": {"attributes": ["role", "site"]},
    }
    refi_qda_export.qdpx_export(
        inputs, {"project": str(qdpx)}, {"config": settings}, str(folder / "export.log")
    )
    refi_qda_export.qdc_export(
        {"codebook": str(paths["codebook"])},
        {"codebook": str(qdc)},
        {},
        str(folder / "codebook.log"),
    )
    return qdpx, qdc


def read(study: dict, qdpx: Path, min_overlap: float = 0.5):
    return refi_qda_codings.read_qdpx_coding(
        qdpx, "coder_b", study["segments"], study["codebook"], min_overlap
    )


def pairs(mentions) -> set[tuple[str, str]]:
    return {(m.segment_id, m.code_id) for m in mentions}


def kinds(problems) -> list[tuple[str, str]]:
    return [(p.severity, p.kind) for p in problems]


def write_segments(path: Path, transcript: str, turns: list[tuple[str, list[str]]]) -> Path:
    rows = []
    for turn, (role, sentences) in enumerate(turns, start=1):
        for sentence, text in enumerate(sentences, start=1):
            rows.append(
                {
                    "segment_id": f"{transcript}-{turn:04d}-{sentence:03d}",
                    "transcript_id": transcript,
                    "turn": turn,
                    "sentence": sentence,
                    "role": role,
                    "speaker": role.title(),
                    "start_char": 0,
                    "end_char": len(text),
                    "text": text,
                    "text_sha1": hashlib.sha1(text.encode()).hexdigest(),
                }
            )
    write_tsv(path, rows, SEGMENT_COLUMNS)
    return path


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def test_export_validates_against_both_schemas(study: dict) -> None:
    project = etree.fromstring(qda.read_members(study["paths"]["qdpx"])["project.qde"])
    codebook = etree.parse(str(study["paths"]["qdc"]))
    project_schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "Project.xsd")))
    codebook_schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "Codebook.xsd")))
    assert project_schema.validate(project), project_schema.error_log
    assert codebook_schema.validate(codebook), codebook_schema.error_log
    # themes are parent codes nobody codes; codes are their children, with definitions
    themes = project.findall(f"{qda.q('CodeBook')}/{qda.q('Codes')}/{qda.q('Code')}")
    assert [(t.get("name"), t.get("isCodable")) for t in themes] == [
        ("Good things", "false"),
        ("Bad things", "false"),
    ]
    assert [c.get("name") for c in themes[0].findall(qda.q("Code"))] == ["Calm", "Work"]
    assert "Definition: A calmer mind." in themes[0].find(qda.q("Code")).findtext(
        qda.q("Description")
    )
    # participants of exported transcripts are cases with variables and their source
    cases = project.findall(f"{qda.q('Cases')}/{qda.q('Case')}")
    assert [c.get("name") for c in cases] == ["P1", "P2"]  # T9 is not in the corpus
    assert [v.findtext(qda.q("TextValue")) for v in cases[1].findall(qda.q("VariableValue"))] == [
        "provider",
        "B",
    ]
    assert cases[0].find(qda.q("SourceRef")).get("targetGUID") == refi_qda_standard.stable_guid(
        "source", "T1"
    )
    assert "DateTime" not in etree.tostring(project).decode()  # no timestamps


def test_positions_are_exact_code_point_offsets(study: dict, tmp_path: Path) -> None:
    members = qda.read_members(study["paths"]["qdpx"])
    for transcript in ("T1", "T2"):
        text = qda.source_text(members, transcript)
        for row in read_tsv(study["paths"][transcript]):
            start, end = study["span"][row["segment_id"]]
            assert text[start:end] == row["text"]
    # characters outside the Basic Multilingual Plane: code points, not UTF-16 units or bytes
    path = write_segments(
        tmp_path / "U1.tsv",
        "U1",
        [("participant", ["Café au lait 🙂 is nice.", "Ça va 🙂."]), ("interviewer", ["Ok."])],
    )
    rendered = refi_qda_standard.render_transcript(read_tsv(path))
    assert len(rendered.text.encode("utf-16-le")) // 2 > len(rendered.text)
    assert rendered.text == "Participant: Café au lait 🙂 is nice. Ça va 🙂.\nInterviewer: Ok.\n"
    assert [rendered.text[s:e] for _, s, e in rendered.spans] == [r["text"] for r in read_tsv(path)]
    assert rendered.spans[1] == ("U1-0001-002", 37, 45)


def test_suggestions_are_selections_on_exact_spans(study: dict, tmp_path: Path) -> None:
    candidates = tmp_path / "candidates" / "T1.tsv"
    write_tsv(
        candidates,
        [
            {
                "segment_id": "T1-0002-001",
                "code_id": "calm",
                "source": "keyword",
                "score": 0.5,
                "matched_terms": "calm",
                "negated": 0,
            },
            {
                "segment_id": "T1-0002-003",
                "code_id": "queue",
                "source": "keyword",
                "score": 0.5,
                "matched_terms": "queue",
                "negated": 1,
            },
            {
                "segment_id": "T1-0002-003",
                "code_id": "gone",
                "source": "keyword",
                "score": 0.5,
                "matched_terms": "x",
                "negated": 0,
            },
        ],
        ["segment_id", "code_id", "source", "score", "matched_terms", "negated"],
    )
    qdpx, _ = export(
        study["paths"], tmp_path / "with", suggestions=True, candidates=(str(candidates),)
    )
    members = qda.read_members(qdpx)
    root = etree.fromstring(members["project.qde"])
    assert etree.XMLSchema(etree.parse(str(SCHEMAS / "Project.xsd"))).validate(root)
    [selection] = root.iter(
        qda.q("PlainTextSelection")
    )  # negated and unknown codes are not suggested
    text = qda.source_text(members, "T1")
    assert (
        text[int(selection.get("startPosition")) : int(selection.get("endPosition"))]
        == "I am calm now."
    )
    assert selection.find(qda.q("Coding")).find(qda.q("CodeRef")).get("targetGUID") == code("calm")
    helper = next(u for u in root.iter(qda.q("User")) if u.get("name") == "qualflow-suggestions")
    assert selection.get("creatingUser") == helper.get("guid")
    # read back as a coder's project: the suggestions are not the coder's codings
    mentions, problems = read(study, qdpx)
    assert mentions == [] and kinds(problems) == [("warning", "suggestions_ignored")]
    assert refi_qda.coded_source_names(qdpx) == set()


def test_reexport_is_byte_identical(study: dict, tmp_path: Path) -> None:
    again = export(study["paths"], tmp_path / "again")
    assert study["paths"]["qdpx"].read_bytes() == again[0].read_bytes()
    assert study["paths"]["qdc"].read_bytes() == again[1].read_bytes()
    with zipfile.ZipFile(again[0]) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert infos[0].filename == "project.qde" and all(
        i.filename.startswith("sources/") for i in infos[1:]
    )
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    guids = re.findall(r'guid="([^"]+)"', qda.read_members(again[0])["project.qde"].decode())
    assert len(guids) == len(set(guids))  # every GUID unique


def test_rendered_sources_are_kept_by_segment_file_content(
    study: dict, tmp_path: Path, monkeypatch
) -> None:
    files = [str(study["paths"]["T1"]), str(study["paths"]["T2"])]
    cache = tmp_path / "cache" / "qdpx_export"
    fresh = refi_qda_export.rendered_transcripts(files)
    assert refi_qda_export.rendered_transcripts(files, cache) == fresh
    shares = sorted(path.name for path in cache.iterdir())
    assert 1 <= len(shares) <= 2
    read = []
    monkeypatch.setattr(
        refi_qda_export, "read_tsv", lambda path: read.append(path.name) or read_tsv(path)
    )
    assert refi_qda_export.rendered_transcripts(files, cache) == fresh and read == []
    rows = read_tsv(study["paths"]["T2"])
    rows[0]["text"] = "A corrected sentence."
    write_tsv(study["paths"]["T2"], rows, SEGMENT_COLUMNS)
    again = refi_qda_export.rendered_transcripts(files, cache)
    assert read == [study["paths"]["T2"].name]  # the changed file alone is read again
    assert again == refi_qda_export.rendered_transcripts(files) and again[1] != fresh[1]
    assert again[0] == fresh[0]
    # the share of a digest no file has any more is removed with its last entry
    refi_qda_export.rendered_transcripts(files[:1], cache)
    assert len(list(cache.iterdir())) == 1


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------


def test_round_trip_gives_exactly_the_added_codings(study: dict, tmp_path: Path) -> None:
    span = study["span"]
    added = [
        ("T1", *span["T1-0002-001"], [code("calm")]),
        ("T1", span["T1-0002-002"][0], span["T1-0002-003"][1], [code("queue")]),  # two sentences
        ("T2", *span["T2-0002-002"], [code("work"), code("calm")]),
    ]
    coded = qda.coded_copy(
        study["paths"]["qdpx"], tmp_path / "coding" / "coder_b" / "project.qdpx", "Coder B", added
    )
    mentions, problems = read(study, coded)
    assert problems == []
    assert [(m.row, m.segment_id, m.code_id) for m in mentions] == [
        (1, "T1-0002-001", "calm"),
        (2, "T1-0002-002", "queue"),
        (2, "T1-0002-003", "queue"),
        (3, "T2-0002-002", "calm"),
        (3, "T2-0002-002", "work"),
    ]
    # the same through the coder folder, as the agreement rule reads it
    files = coder_folders.discover_coders(tmp_path / "coding")["coder_b"]
    assert coder_folders.coded_transcripts(files, ["T1", "T2", "T3"]) == ["T1", "T2"]
    context = codings.QdpxContext.from_config(
        study["segments"], study["codebook"], {"qdpx_min_overlap": 0.5}
    )
    parsed = {"coder_b": codings.read_coder("coder_b", files, context)}
    checked = codings.check_codings(
        parsed, study["segments"], study["codebook"], ["participant"], [], "coder_b", ["T1", "T2"]
    )
    assert checked.problems == [] and checked.asked["coder_b"] == {"T1", "T2"}
    index, code_index = (
        study["segments"].index,
        {c: k for k, c in enumerate(study["codebook"].code_ids)},
    )
    assert checked.applied["coder_b"] == {(index[s], code_index[c]) for s, c in pairs(mentions)}
    with pytest.raises(
        CodingError, match="project.qdpx: a REFI-QDA project is read against the segments"
    ):
        codings.read_coder("coder_b", files)


@pytest.mark.parametrize(
    "covered, min_overlap, coded",
    [(7, 0.5, True), (6, 0.5, False), (7, 0.75, False), (11, 0.75, True)],
)
def test_overlap_rule_at_the_threshold(
    study: dict, tmp_path: Path, covered: int, min_overlap: float, coded: bool
) -> None:
    start, end = study["span"]["T1-0002-001"]  # "I am calm now.": 14 characters
    assert end - start == 14
    qdpx = qda.coded_copy(
        study["paths"]["qdpx"],
        tmp_path / "c.qdpx",
        "Coder B",
        [("T1", start, start + covered, [code("calm")])],
    )
    mentions, problems = read(study, qdpx, min_overlap)
    assert pairs(mentions) == ({("T1-0002-001", "calm")} if coded else set())
    if not coded:
        [problem] = problems
        assert (problem.severity, problem.kind, problem.row) == (
            "warning",
            "selection_too_small",
            1,
        )
        assert (
            f"at most {covered / 14:.0%} of T1-0002-001" in problem.detail
            and "GUID" in problem.detail
        )


def test_coded_segments_boundary_is_exact() -> None:
    spans = [("a", 0, 10), ("b", 11, 21)]
    assert refi_qda_codings.coded_segments(0, 3, spans, 0.3)[0] == ["a"]  # 3 >= 0.3 x 10, exactly
    assert refi_qda_codings.coded_segments(0, 2, spans, 0.3) == ([], (0.2, "a"))
    assert refi_qda_codings.coded_segments(5, 16, spans, 0.5)[0] == ["a", "b"]
    assert refi_qda_codings.coded_segments(10, 11, spans, 0.5) == (
        [],
        (0.0, ""),
    )  # only the space between


def test_codes_matched_by_guid_then_by_name(study: dict, tmp_path: Path) -> None:
    def edit(root: etree._Element) -> None:
        next(c for c in root.iter(qda.q("Code")) if c.get("guid") == code("calm")).set(
            "name", "Serenity"
        )  # renamed
        for name in ("calm", "  WORK ", "Queues", "Bad things::Queues", "Good things", "Hope"):
            qda.add_code(root, name)

    span = study["span"]
    selections = [
        ("T1", *span["T1-0002-001"], [code("calm")]),  # our GUID wins over the new name
        (
            "T1",
            *span["T1-0002-002"],
            [qda.custom_code_guid("  WORK ")],
        ),  # code ID, any case and spaces
        ("T1", *span["T1-0002-003"], [qda.custom_code_guid("Queues")]),  # label
        (
            "T1",
            *span["T1-0004-001"],
            [qda.custom_code_guid("Bad things::Queues")],
        ),  # ATLAS.ti's Parent::Child
        ("T2", *span["T2-0002-001"], [qda.custom_code_guid("calm")]),
        (
            "T2",
            *span["T2-0002-002"],
            [qda.custom_code_guid("Good things"), qda.custom_code_guid("Hope")],
        ),
    ]
    qdpx = qda.coded_copy(
        study["paths"]["qdpx"], tmp_path / "named.qdpx", "Coder B", selections, edit
    )
    mentions, problems = read(study, qdpx)
    assert pairs(mentions) == {
        ("T1-0002-001", "calm"),
        ("T1-0002-002", "work"),
        ("T1-0002-003", "queue"),
        ("T1-0004-001", "queue"),
        ("T2-0002-001", "calm"),
    }
    theme, unknown = problems
    assert (theme.severity, theme.kind, theme.row, theme.code_id) == (
        "error",
        "theme_coded",
        6,
        "good",
    )
    assert "Apply one of its codes instead (calm, work)" in theme.fix
    assert (unknown.severity, unknown.kind, unknown.row) == ("error", "unknown_code", 6)
    assert (
        f"code Hope (GUID {qda.custom_code_guid('Hope')}) is not a code of the codebook"
        in unknown.message()
    )
    assert unknown.message().startswith(f"{qdpx}, row 6: ")


def test_problems_stop_the_agreement_with_file_and_selection(study: dict, tmp_path: Path) -> None:
    def edit(root: etree._Element) -> None:
        qda.add_code(root, "Hope")

    qdpx = qda.coded_copy(
        study["paths"]["qdpx"],
        tmp_path / "coding" / "coder_b" / "p.qdpx",
        "Coder B",
        [("T1", *study["span"]["T1-0002-001"], [qda.custom_code_guid("Hope")])],
        edit,
    )
    context = codings.QdpxContext(study["segments"], study["codebook"])
    parsed = {"coder_b": codings.read_coder("coder_b", [qdpx], context)}
    checked = codings.check_codings(
        parsed, study["segments"], study["codebook"], ["participant"], [], "coder_b", ["T1", "T2"]
    )
    assert [p.kind for p in checked.errors] == ["unknown_code"]
    with pytest.raises(
        CodingError,
        match=r"p.qdpx, row 1: code Hope \(GUID [0-9a-f-]{36}\) is not a code of the codebook",
    ):
        codings.raise_on_errors(checked, "the log")


def test_a_selection_in_a_changed_text_is_followed_or_sent_to_a_person(
    study: dict, tmp_path: Path
) -> None:
    """The transcript has changed since the export (a turn added before, a word corrected, a
    sentence rewritten): each selection is followed by alignment, never mapped by its offsets."""
    from .coding_helpers import TRANSCRIPTS

    coded = qda.coded_copy(
        study["paths"]["qdpx"],
        tmp_path / "a.qdpx",
        "Coder B",
        [
            ("T1", *study["span"]["T1-0002-001"], [code("calm")]),
            ("T1", *study["span"]["T1-0002-003"], [code("queue")]),
            ("T1", *study["span"]["T1-0004-002"], [code("queue")]),
        ],
    )
    turns = [("interviewer", ["Hello there."])] + [
        (role, list(sentences)) for role, sentences in TRANSCRIPTS["T1"]
    ]
    turns[2][1][0] = "I am cool now."  # one word corrected (turn 2 is now turn 3)
    turns[4][1][1] = "Nobody knows why at all."  # rewritten
    changed = coding_records.load_segments(
        [write_segments(tmp_path / "T1.tsv", "T1", turns), study["paths"]["T2"]]
    )
    mentions, problems = refi_qda_codings.read_qdpx_coding(
        coded, "coder_b", changed, study["codebook"]
    )
    found = {(mention.coded_code_id, mention.segment_id, mention.status) for mention in mentions}
    assert ("calm", "T1-0003-001", "moved") in found  # a small edit, above the similarity threshold
    assert ("queue", "T1-0003-003", "carried") in found  # the same words, under another ID
    assert ("queue", "", "recheck") in found  # nothing close enough: a person looks
    [recheck] = [mention for mention in mentions if mention.status == "recheck"]
    assert recheck.transcript_id == "T1" and recheck.coded_text == "We wait all day."
    assert [problem for problem in problems if problem.severity == "error"] == []


def test_windows_line_ends_are_mapped(study: dict, tmp_path: Path) -> None:
    members = qda.read_members(study["paths"]["qdpx"])
    member = next(
        name for name in members if members[name].decode().startswith("Interviewer: How are you?")
    )
    text = members[member].decode().replace("\n", "\r\n")
    members[member] = text.encode()
    crlf = qda.write_members(tmp_path / "crlf.qdpx", members)
    start = text.index("The queue")  # positions in the text as saved, with CR LF
    qdpx = qda.coded_copy(
        crlf,
        tmp_path / "coded.qdpx",
        "Coder B",
        [("T1", start, start + len("The queue is long."), [code("queue")])],
    )
    mentions, problems = read(study, qdpx)
    assert pairs(mentions) == {("T1-0002-003", "queue")} and problems == []


def test_tolerates_vendor_layouts_and_reports_deviations(study: dict, tmp_path: Path) -> None:
    """Project.qde with a capital P, a Sources/ folder, a namespace prefix, an attribute the
    schema does not know, codings on the interviewer's question, and several users."""
    qdpx = qda.coded_copy(
        study["paths"]["qdpx"],
        tmp_path / "a.qdpx",
        "Coder B",
        [
            ("T1", *study["span"]["T1-0002-001"], [code("calm")]),
            ("T1", *study["span"]["T1-0001-001"], [code("queue")]),
        ],
    )
    members = qda.read_members(qdpx)
    xml = members.pop("project.qde").decode()
    xml = re.sub(r"<(/?)([A-Za-z])", r"<\1qda:\2", xml).replace('xmlns="urn', 'xmlns:qda="urn')
    xml = xml.replace('isCodable="true"', 'isCodable="true" vendorColour="12"', 1)
    root = etree.fromstring(xml.encode())
    qda.add_selection(
        root,
        "T2",
        *study["span"]["T2-0002-002"],
        [code("work")],
        qda.add_user(root, "Coder B's colleague"),
    )
    vendor = {"Project.qde": etree.tostring(root, encoding="UTF-8")}
    vendor.update({name.replace("sources/", "Sources/"): data for name, data in members.items()})
    path = qda.write_members(tmp_path / "vendor.qdpx", vendor)
    mentions, problems = read(study, path)
    assert pairs(mentions) == {
        ("T1-0002-001", "calm"),
        ("T1-0001-001", "queue"),
        ("T2-0002-002", "work"),
    }
    assert kinds(problems) == [("warning", "qdpx_format"), ("warning", "several_users")]
    assert (
        "does not follow the REFI-QDA project schema at line" in problems[0].detail
        and "attribute vendorColour" in problems[0].detail
    )
    # the interviewer's question is not compared: check_codings warns, as for CSV codings
    checked = codings.check_codings(
        {"coder_b": coding_records.CoderFiles("coder_b", [str(path)], mentions, problems=problems)},
        study["segments"],
        study["codebook"],
        ["participant"],
        [],
        "coder_b",
        ["T1", "T2"],
    )
    assert "outside_roles" in [p.kind for p in checked.warnings] and not checked.errors


def test_unknown_and_missing_sources(study: dict, tmp_path: Path) -> None:
    members = qda.read_members(
        qda.coded_copy(
            study["paths"]["qdpx"],
            tmp_path / "a.qdpx",
            "Coder B",
            [
                ("T1", *study["span"]["T1-0002-001"], [code("calm")]),
                ("T2", *study["span"]["T2-0002-001"], [code("calm")]),
            ],
        )
    )
    xml = (
        members["project.qde"]
        .decode()
        .replace('name="T1"', 'name="t1.TXT"')
        .replace('name="T2"', 'name="Interview 2"')
    )
    members["project.qde"] = xml.encode()
    renamed = qda.write_members(tmp_path / "renamed.qdpx", members)
    mentions, problems = read(study, renamed)
    assert pairs(mentions) == {("T1-0002-001", "calm")}  # extension and case tolerated
    [problem] = problems
    assert (problem.kind, problem.row) == (
        "unknown_source",
        2,
    ) and "is coded but is not a transcript of the corpus" in problem.detail
    assert refi_qda.coded_source_names(renamed) == {"t1", "Interview 2"}
    assert coder_folders.coded_transcripts([renamed], ["T1", "T2"]) == ["T1"]
    del members[
        next(
            name
            for name in members
            if name.startswith("sources/") and members[name].startswith(b"Interviewer: How")
        )
    ]
    missing = qda.write_members(tmp_path / "missing.qdpx", members)
    _, problems = read(study, missing)
    assert [p.kind for p in problems] == ["missing_source_text", "unknown_source"]
    assert "is not in the project file" in problems[0].detail


# ---------------------------------------------------------------------------------------------
# Bad input and real exporters
# ---------------------------------------------------------------------------------------------


def replace_project(study: dict, path: Path, old: str, new: str) -> Path:
    members = qda.read_members(
        qda.coded_copy(
            study["paths"]["qdpx"],
            path.with_suffix(".tmp.qdpx"),
            "Coder B",
            [("T1", *study["span"]["T1-0002-001"], [code("calm")])],
        )
    )
    xml = members["project.qde"].decode()
    assert old in xml
    members["project.qde"] = xml.replace(old, new, 1).encode()
    return qda.write_members(path, members)


def test_bad_inputs_name_the_file(study: dict, tmp_path: Path) -> None:
    start, end = study["span"]["T1-0002-001"]
    not_zip = tmp_path / "not_zip.qdpx"
    not_zip.write_text("segment_id,code_id\n", encoding="utf-8")
    no_qde = qda.write_members(tmp_path / "no_qde.qdpx", {"notes.txt": b"hello"})
    cases = [
        (
            not_zip,
            r"not_zip.qdpx: is not a REFI-QDA project: a .qdpx is a zip archive and this file is not one",
        ),
        (
            no_qde,
            r"no_qde.qdpx: is a zip archive but not a REFI-QDA project: it holds no project.qde",
        ),
        (
            replace_project(study, tmp_path / "schema.qdpx", f'endPosition="{end}"', ""),
            r"schema.qdpx: does not follow the REFI-QDA project schema: line \d+, element PlainTextSelection has no endPosition",
        ),
        (
            replace_project(
                study, tmp_path / "word.qdpx", f'startPosition="{start}"', 'startPosition="seven"'
            ),
            r"word.qdpx: does not follow the REFI-QDA project schema: line \d+, startPosition of a plain-text selection is not a whole number",
        ),
        (
            replace_project(study, tmp_path / "broken.qdpx", "<Users>", "<Users"),
            r"broken.qdpx: project.qde is not well-formed XML \(line \d+\)",
        ),
        (
            replace_project(
                study, tmp_path / "outside.qdpx", f'endPosition="{end}"', 'endPosition="5000"'
            ),
            r"outside.qdpx: selection 1 \(GUID [0-9a-f-]{36}\) runs from \d+ to 5000, outside the 160 characters of source T1",
        ),
    ]
    for path, expected in cases:
        with pytest.raises(CodingError, match=expected):
            read(study, path)
    with pytest.raises(CodingError, match="codebook.qdc: is a REFI-QDA codebook, not a project"):
        read(study, study["paths"]["qdc"])
    assert refi_qda.coded_source_names(not_zip) == set()  # lenient while the job graph is built
    assert coder_folders.coded_transcripts([no_qde], ["T1"]) == []


def test_atlasti_files_read_with_exact_counts(study: dict) -> None:
    """Counted by hand (lxml XPath over the files): the ATLAS.ti 8.4 standard project has 14 codes,
    12 sources (6 text, 1 picture, 2 PDF, 1 audio, 2 video), 15 selections (8 plain-text, 1 picture,
    4 PDF, 2 video), 16 codings (7 on the plain-text selections of text sources), 3 users, no
    cases, and no source texts (Sources/ is empty); the ATLAS.ti 23.4 codebook has 1 code."""
    project = refi_qda.summarize(ATLAS_PROJECT)
    assert {
        k: project[k]
        for k in ("kind", "codes", "sources", "selections", "codings", "users", "cases")
    } == {
        "kind": "project",
        "codes": 14,
        "sources": 12,
        "selections": 15,
        "codings": 16,
        "users": 3,
        "cases": 0,
    }
    assert len(project["problems"]) == 7
    assert project["problems"][0].startswith("9 coding(s) on picture, PDF, audio or video sources")
    assert sum("is not in the project file" in problem for problem in project["problems"]) == 6
    assert all(
        "Mabel is not" not in problem and "breakfast" not in problem
        for problem in project["problems"]
    )
    codebook = refi_qda.summarize(ATLAS_CODEBOOK)
    assert {
        k: codebook[k]
        for k in ("kind", "codes", "sources", "selections", "codings", "users", "cases", "problems")
    } == {
        "kind": "codebook",
        "codes": 1,
        "sources": 0,
        "selections": 0,
        "codings": 0,
        "users": 0,
        "cases": 0,
        "problems": [],
    }
    exchange = refi_qda.read_exchange(ATLAS_PROJECT)
    assert [len(source.selections) for source in exchange.text_sources] == [0, 0, 1, 1, 1, 3]
    assert refi_qda.coded_source_names(ATLAS_PROJECT) == {
        "1994 Diet Coke-Diet Coke Break",
        "Mabel",
        "Simon",
    }
    # as a coder's project: nothing is a transcript of this corpus, and that is said, not crashed on
    mentions, problems = read(study, ATLAS_PROJECT)
    assert mentions == [] and [p.kind for p in problems] == [
        "qdpx_format",
        "unknown_source",
        "unknown_source",
        "unknown_source",
    ]


def test_summary_command(tmp_path: Path) -> None:
    command = [sys.executable, str(REPO / "scripts" / "refi_qda.py"), "--summary"]
    completed = subprocess.run(
        [*command, str(ATLAS_PROJECT), "--json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    summary = json.loads(completed.stdout)
    assert all(
        type(summary[key]) is int
        for key in ("codes", "sources", "selections", "codings", "users", "cases")
    )
    assert (summary["codes"], summary["codings"]) == (14, 16) and isinstance(
        summary["problems"], list
    )
    text = subprocess.run(
        [*command, str(ATLAS_CODEBOOK)], capture_output=True, text=True, cwd=tmp_path
    )
    assert (
        text.returncode == 0
        and "REFI-QDA codebook" in text.stdout
        and re.search(r"codes\s+1\n", text.stdout)
    )
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"PK\x03\x04 not really")
    failed = subprocess.run(
        [*command, str(bad), "--json"], capture_output=True, text=True, cwd=tmp_path
    )
    assert failed.returncode != 0 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and "bad.qdpx" in failed.stderr


def test_leak_check_reads_inside_projects_and_codebooks(tmp_path: Path) -> None:
    identifiers_path = tmp_path / "identifiers.yaml"
    identifiers_path.write_text(
        "people:\n  - name: Baraka Mwita\n    role: participant\n", encoding="utf-8"
    )
    identifiers = deid.load_identifier_list(identifiers_path)
    paths = write_project(tmp_path)
    write_segments(
        paths["T1"], "T1", [("participant", ["I met Baraka at the market.", "It was fine."])]
    )
    paths["participants"] = tmp_path / "participants.csv"
    paths["participants"].write_text(PARTICIPANTS, encoding="utf-8")
    qdpx, qdc = export(paths, tmp_path / "exchange")
    rows = {
        Path(row["file"]).name: row
        for row in leak_check.check_files_for_leaks([qdpx, qdc], identifiers)
    }
    assert rows["project.qdpx"]["leaks"] == 1 and rows["codebook.qdc"]["leaks"] == 0
    with pytest.raises(PrivacyError, match="project.qdpx"):
        leak_check.raise_on_leaks(list(rows.values()))
