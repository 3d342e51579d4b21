"""Coders' work survives the study's evolution (issue 16), on a copy of the demo study, one change
after the other: a person named nowhere listed, a name the NER caught listed, a word corrected
(changing sentence boundaries), a code renamed, a code merged, a sentence deleted. Each change is
checked for the coders' CSV files (coder_a, coder_c, the consensus), the filled-in sheet
(coder_b, .xlsx) and a coded REFI-QDA project (coder_d, .qdpx, coded from the workflow's export)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from .conftest import REPO, run_workflow

pytestmark = pytest.mark.workflow

AGREEMENT_TABLES = ("by_code.tsv", "by_pair.tsv", "summary.tsv")


def agreement_tables(results: Path) -> dict:
    """The agreement figures, and the disagreements without their text and its context (which
    change with a placeholder)."""
    tables = {name: (results / "agreement" / name).read_bytes() for name in AGREEMENT_TABLES}
    tables["disagreements"] = [
        {
            key: value
            for key, value in row.items()
            if key not in ("text", "context_before", "context_after")
        }
        for row in read(results / "agreement" / "disagreements.tsv")
    ]
    return tables


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def digests(folder: Path, pattern: str = "*") -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob(pattern))
        if p.is_file()
    }


def run(project: Path) -> str:
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return completed.stdout + completed.stderr


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def ledger(project: Path) -> list[dict[str, str]]:
    return read(project / "results" / "coding" / "anchoring.tsv")


def segment_texts(project: Path, transcript: str) -> dict[str, str]:
    return {
        row["segment_id"]: row["text"]
        for row in read(project / "results" / "segments" / f"{transcript}.tsv")
    }


def code_qdpx(project: Path) -> None:
    """coder_d codes the exported project in a QDA program: the consensus codes of DSM01 and NYC04,
    and the sentences of NYC04 about Marcus."""
    from scripts import refi_qda_standard
    from tests.unit.refi_helpers import coded_copy

    selections = []
    consensus = list(
        csv.DictReader(
            open(project / "data" / "coding" / "consensus" / "consensus.csv", encoding="utf-8")
        )
    )
    for transcript in ("DSM01", "NYC04"):
        rows = read(project / "results" / "segments" / f"{transcript}.tsv")
        spans = {
            segment: (start, end)
            for segment, start, end in refi_qda_standard.render_transcript(rows).spans
        }
        for row in consensus:
            if row["segment_id"] in spans and row["code_id"]:
                selections.append(
                    (
                        transcript,
                        *spans[row["segment_id"]],
                        [refi_qda_standard.stable_guid("code", row["code_id"])],
                    )
                )
        # and what NYC04 says of Marcus (his full name, and his first name alone, which the
        # model takes for an organisation: one placeholder all the same)
        for row in rows:
            if "[PERSON_u" in row["text"] and row["role"] == "participant":
                selections.append(
                    (
                        transcript,
                        *spans[row["segment_id"]],
                        [refi_qda_standard.stable_guid("code", "social_connection")],
                    )
                )
    coded_copy(
        project / "results" / "exchange" / "project.qdpx",
        project / "data" / "coding" / "coder_d" / "project.qdpx",
        "Coder D",
        selections,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "data", project / "data")
    shutil.copy(REPO / "config.yaml", project / "config.yaml")
    run(project)
    code_qdpx(project)
    run(project)
    assert {row["status"] for row in ledger(project)} <= {"no_column"}  # nothing has moved yet
    return project


def test_the_study_evolves_and_every_coding_follows_its_text(demo: Path) -> None:
    results = demo / "results"
    identifiers = demo / "data" / "identifiers.yaml"

    # 1. A person named in no transcript, inserted at the top of people: nothing changes.
    segments, agreement = digests(results / "segments", "*.tsv"), agreement_tables(results)
    edit(identifiers, "people:\n", "people:\n  - name: Wilhelmina Zzyzx\n    role: other\n")
    run(demo)
    assert digests(results / "segments", "*.tsv") == segments  # every segment file byte-identical
    assert agreement_tables(results) == agreement
    assert ledger(demo) == []

    # 2. A name the NER caught (Marcus Green, NYC04; "Marcus" alone, which the model calls an
    # organisation, has his placeholder all the same) listed without an id: his tag is kept, nothing
    # changes. Then given an id: the codings of the sentences whose placeholder changed are
    # carried, agreement is the same.
    before = segment_texts(demo, "NYC04")
    edit(identifiers, "places:\n", "  - name: Marcus Green\n    role: other\nplaces:\n")
    run(demo)
    assert digests(results / "segments", "*.tsv") == segments and ledger(demo) == []
    edit(identifiers, "  - name: Marcus Green\n", "  - id: 90\n    name: Marcus Green\n")
    run(demo)
    after = segment_texts(demo, "NYC04")
    changed = {segment for segment in before if before[segment] != after.get(segment)}
    assert changed and set(before) == set(after)
    assert agreement_tables(results) == agreement
    followed = ledger(demo)
    assert followed and {row["status"] for row in followed} == {"carried"}
    assert {row["segment_id"] for row in followed} <= changed
    assert {row["coder"] for row in followed} >= {
        "coder_b",
        "coder_d",
    }  # the sheet's rows and the project's selections

    # 3. One word corrected in a consensus-coded sentence of DSM01.txt, which spaCy now cuts in two:
    # the coding is split onto both parts; the later sentences of the turn moved one ID on.
    old = segment_texts(demo, "DSM01")
    edit(
        demo / "data" / "raw" / "DSM01.txt",
        "The cough finished, they tested",
        "The cough vanished, they tested",
    )
    run(demo)
    new = segment_texts(demo, "DSM01")
    coded = "DSM01-0012-004"
    assert "finished" in old[coded]
    rows = [
        row
        for row in ledger(demo)
        if row["segment_id"] == coded and row["code_id"] == "physical_stability"
    ]
    assert {row["coder"] for row in rows} >= {"consensus", "coder_a", "coder_b", "coder_d"}
    for row in rows:
        targets = row["current_segment_ids"].split(";")
        assert row["status"] == "split" and len(targets) == 2
        assert " ".join(new[target] for target in targets) == old[coded].replace(
            "finished", "vanished"
        )
    moved = {
        (row["coder"], row["segment_id"]): row for row in ledger(demo) if row["status"] == "moved"
    }
    for (coder, segment), row in moved.items():
        if segment.startswith("DSM01-0012"):
            assert (
                new[row["current_segment_ids"]] == old[segment]
            )  # the coding is on the same words, checked against the text
    assert ("consensus", "DSM01-0012-005") in moved and moved[("consensus", "DSM01-0012-005")][
        "current_segment_ids"
    ] == "DSM01-0012-006"
    consensus = {
        (row["segment_id"], row["code_id"])
        for row in read(results / "coding" / "consensus" / "codings.tsv")
    }
    assert ("DSM01-0012-006", "physical_stability") in consensus and (
        "DSM01-0012-005",
        "physical_stability",
    ) in consensus
    quotes = read(results / "themes" / "exemplars.tsv")
    assert all(
        quote["text"] == new[quote["segment_id"]] for quote in quotes if quote["segment_id"] in new
    )

    # 4. A code renamed, declared with renamed_from: its agreement is the same under the new ID.
    by_code = {row["code_id"]: row for row in read(results / "agreement" / "by_code.tsv")}
    codebook = demo / "data" / "codebook.yaml"
    edit(
        codebook,
        "      - id: psychosocial_care\n",
        "      - id: psychosocial_support\n        renamed_from: [psychosocial_care]\n",
    )
    run(demo)
    renamed = {row["code_id"]: row for row in read(results / "agreement" / "by_code.tsv")}
    assert "psychosocial_care" not in renamed
    assert (
        renamed["psychosocial_support"]["krippendorff_alpha"]
        == by_code["psychosocial_care"]["krippendorff_alpha"]
    )
    assert sum(row["code_change"] == "renamed" for row in ledger(demo)) > 100

    # 5. A code merged into another (merged_from): counted as the other, each mapping in the ledger;
    # the coding sheet's column of the old code counts too.
    text = codebook.read_text(encoding="utf-8")
    start = text.index("      - id: more_providers\n")
    end = text.index("      - id:", start + 10)
    codebook.write_text(text[:start] + text[end:], encoding="utf-8")
    edit(
        codebook,
        "      - id: overburdened_services\n",
        "      - id: overburdened_services\n        merged_from: [more_providers]\n",
    )
    run(demo)
    merged = [row for row in ledger(demo) if row["code_change"] == "merged"]
    assert merged and {row["current_code_id"] for row in merged} == {"overburdened_services"}
    assert "coder_b" in {row["coder"] for row in merged}
    assert "more_providers" not in {
        row["code_id"] for row in read(results / "agreement" / "by_code.tsv")
    }

    # 6. A sentence deleted: its codings wait for a person, reported with both texts; the run goes on.
    edit(demo / "data" / "raw" / "DSM01.txt", "\nAnd the mind also. ", "\n")
    output = run(demo)
    waiting = [row for row in ledger(demo) if row["status"] == "recheck"]
    assert waiting and {row["coded_text"] for row in waiting} == {"And the mind also."}
    assert {row["coder"] for row in waiting if row["code_id"]} >= {
        "consensus",
        "coder_a",
        "coder_b",
        "coder_c",
    }
    assert (
        "is left out until a person re-checks it" in output
        and "do not go by the segment ID" in output
    )
    report = (results / "agreement" / "report.html").read_text(encoding="utf-8")
    assert 'id="recheck-table"' in report and "And the mind also." in report
    assert not any(
        row["segment_id"] == ""
        for row in read(results / "coding" / "consensus" / "codings.tsv")
        if row["status"] != "recheck"
    )
