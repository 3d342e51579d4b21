"""The whole workflow, end to end: outputs, incremental reruns, determinism, privacy."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from scripts.parts import part_of

from .conftest import REPO, job_counts, parts_of, run_workflow, stage_counts

pytestmark = pytest.mark.workflow
TRANSCRIPTS = ["A01", "A02", "B01", "B02"]


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_run_rerun_add_one_and_reproduce(project: Path) -> None:
    # A new study's job graph is built without reading the raw transcripts (which entries of the
    # identifier list each holds is worked out when a job's params are first needed).
    planned = run_workflow(project, "--dry-run")
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert not (project / ".snakemake" / "qualflow" / "relevance").exists()
    first = run_workflow(project)
    assert first.returncode == 0, first.stderr[-3000:]
    results = project / "results"
    for transcript in TRANSCRIPTS:
        segments = list(
            csv.DictReader(
                open(results / "segments" / f"{transcript}.tsv", encoding="utf-8"), delimiter="\t"
            )
        )
        assert segments and all(row["segment_id"].startswith(f"{transcript}-") for row in segments)
        assert (results / "deidentified" / f"{transcript}.jsonl").exists()
    corpus = {
        row["transcript_id"]: row
        for row in csv.DictReader(
            open(results / "corpus" / "transcripts.tsv", encoding="utf-8"), delimiter="\t"
        )
    }
    assert sorted(corpus) == TRANSCRIPTS
    assert corpus["B01"]["site"] == "missing" and corpus["A01"]["site"] == "A"
    assert "no row for transcript B01" in first.stderr
    checked = {
        row["file"]: row["leaks"]
        for row in csv.DictReader(
            open(results / "deidentified" / "leak_check.tsv", encoding="utf-8"), delimiter="\t"
        )
    }
    shareable = {
        str(path.relative_to(project))
        for path in results.rglob("*")
        if path.is_file()
        and not {"private", "logs", "leaks", "leak_check"} & set(path.parts)
        and path.name not in ("leak_check.tsv", "quality_gate.tsv")
        and path.suffix != ".png"  # pixels only; the figure's SVG twin, with its text, is checked
    }
    assert set(checked) == shareable  # the leak check reads every output that can be shared
    assert set(checked.values()) == {"0"}

    # Nothing new: nothing to do.
    again = run_workflow(project)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr

    # Editing a stage's code reruns that stage and what reads its outputs, nothing before it: each
    # rule's params carry the digest of its job function's code (profiles/default/ reruns on
    # params, not on Snakemake's "code" trigger). The edit is made in a copy of the workflow's
    # code, with its profiles/: the repository itself is not touched.
    code = project.parent / "code"
    code.mkdir()
    shutil.copy(REPO / "Snakefile", code / "Snakefile")
    for folder in ("workflow", "scripts", "profiles"):
        shutil.copytree(REPO / folder, code / folder, ignore=shutil.ignore_patterns("__pycache__"))
    upstream = {"ingest", "parse", "deidentify", "segment"}
    unedited = stage_counts(
        job_counts(run_workflow(project, "-n", snakefile=code / "Snakefile").stdout)
    )
    assert not upstream & set(unedited), unedited
    with open(code / "scripts" / "segment.py", "a", encoding="utf-8") as module:
        module.write("\n\ndef _an_edit() -> None:\n    return None\n")
    edited = stage_counts(
        job_counts(run_workflow(project, "-n", snakefile=code / "Snakefile").stdout)
    )
    assert edited.get("segment") == parts_of(TRANSCRIPTS), edited
    assert edited["candidate_codes"] == edited["segment"]
    assert not {"ingest", "parse", "deidentify"} & set(edited), edited

    # The leak check's parts list the transcripts' files and their part's corpus tables; the check
    # itself the corpus-level ones.
    parts = sorted((results / "deidentified" / "leak_check").glob("*.tsv"))
    assert {path.stem for path in parts} == {part_of(transcript) for transcript in TRANSCRIPTS}
    assert {path.name for path in (results / "corpus" / "parts").iterdir()} == {
        f"{path.stem}{suffix}" for path in parts for suffix in (".tsv", ".audit.tsv")
    }
    for path in parts:
        in_part = {
            row["file"] for row in csv.DictReader(open(path, encoding="utf-8"), delimiter="\t")
        }
        assert in_part < set(checked)
        assert all(
            Path(file).stem.split(".")[0] in TRANSCRIPTS
            or file.startswith(f"results/corpus/parts/{path.stem}.")
            or (file.startswith("results/parts/") and Path(file).stem == path.stem)
            for file in in_part
        )

    # Snakemake tracks a record per part job, not each transcript's files (scripts/parts.py): the
    # records list every file the part's jobs made, and only the records are Snakemake's outputs.
    tracked = {
        line.split("\t")[0]
        for line in run_workflow(project, "--summary").stdout.splitlines()[1:]
        if line.strip()
    }
    made_by_segment = set()
    for record in sorted((results / "parts" / "segment").glob("*.tsv")):
        assert str(record.relative_to(project)) in tracked
        rows = list(csv.DictReader(open(record, encoding="utf-8"), delimiter="\t"))
        assert {row["transcript"] for row in rows} <= set(TRANSCRIPTS)
        assert all(part_of(row["transcript"]) == record.stem for row in rows)
        made_by_segment |= {row["file"] for row in rows}
    assert made_by_segment == {
        f"results/segments/{folder}{transcript}.{suffix}"
        for transcript in TRANSCRIPTS
        for folder, suffix in (("", "tsv"), ("versions/", "jsonl"))
    }
    assert not made_by_segment & tracked
    assert all((project / file).is_file() for file in made_by_segment)
    corpus_rows = {
        row["transcript_id"]: row
        for path in (results / "corpus" / "parts").glob("??.tsv")
        for row in csv.DictReader(open(path, encoding="utf-8"), delimiter="\t")
    }
    assert sorted(corpus_rows) == TRANSCRIPTS
    provenance = json.loads((results / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["inputs"]["transcripts"] == {
        row["raw_file"]: hashlib.sha256((project / row["raw_file"]).read_bytes()).hexdigest()
        for row in corpus_rows.values()
    }

    # A new interview schedules only its own jobs and the corpus-level ones.
    (project / "data" / "raw" / "A03.txt").write_text(
        "I: How are you?\nP: Better since the clinic.\n", encoding="utf-8"
    )
    planned = run_workflow(project, "--dry-run")
    assert stage_counts(job_counts(planned.stdout)) == {
        # its part's jobs of the per-transcript stages (the others of the part come back unchanged)
        "ingest": 1,
        "parse": 1,
        "deidentify": 1,
        "segment": 1,
        "candidate_codes": 1,
        "coding_sheets": 1,
        "all": 1,
        "audit_summary": 1,
        "corpus_summary": 1,
        # its part's corpus tables; the leak check of its part, then the check of the corpus-level files
        "corpus_part": 1,
        "leak_check_part": 1,
        "leak_check": 1,
        # learned suggestions cover every transcript; candidate_quality only the coded ones (A03 is
        # not coded), so it does not rerun.
        "learned_candidates": 1,
        # the REFI-QDA project for the coders holds every transcript
        "qdpx_export": 1,
        # provenance lists every raw transcript; themes count only coded ones, but Table 1's note
        # names the participants not coded yet (A03 now), and the figures are drawn again from it.
        "provenance": 1,
        "themes": 1,
        "theme_figures": 1,
    }, planned.stdout[-2000:]
    (project / "data" / "raw" / "A03.txt").unlink()

    # From a clean results/, the same inputs give byte-identical outputs.
    before = digest_tree(results)
    for path in sorted(results.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    results.rmdir()
    assert run_workflow(project, "--forceall").returncode == 0
    assert digest_tree(results) == before


def test_private_folder_is_owner_only_and_marked(project: Path) -> None:
    assert run_workflow(project).returncode == 0
    private = project / "results" / "private"
    assert "PRIVATE" in (private / "README.txt").read_text(encoding="utf-8")
    for path in [private, *private.rglob("*")]:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    key = json.loads((private / "keys" / "A01.json").read_text(encoding="utf-8"))
    assert "Baraka" in key["placeholders"]["[PERSON_1]"]


def test_planted_name_never_leaves_the_private_folder(project: Path) -> None:
    """A unique name, as a speaker label and in the text, appears nowhere but results/private/."""
    token = "Quorvalindasz"
    identifiers = project / "data" / "identifiers.yaml"
    identifiers.write_text(
        identifiers.read_text(encoding="utf-8").replace(
            "people:\n", f"people:\n  - name: {token} Mbwilo\n    role: participant\n"
        ),
        encoding="utf-8",
    )
    (project / "data" / "raw" / "C01.txt").write_text(
        f"Interviewer: Hello {token}.\n{token} Mbwilo: Hello. People call me {token.lower()}, "
        f"{token}'s my name. Write to {token.lower()}@example.com.\nInterviewer: And Dr. Xantheriople?\n"
        f"{token} Mbwilo: Dr. Xantheriople is kind.\n",
        encoding="utf-8",
    )
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    private = project / "results" / "private"
    assert token in (private / "ingested" / "C01.jsonl").read_text(
        encoding="utf-8"
    )  # the plant took
    leaks = []
    for path in [*(project / "results").rglob("*"), *(project / ".snakemake").rglob("*")]:
        if path.is_file() and private not in path.parents:
            content = path.read_bytes().lower()
            for planted in (token, "Xantheriople"):
                if planted.lower().encode() in content or planted.lower() in str(path).lower():
                    leaks.append((planted, str(path)))
    assert leaks == []
    console = (completed.stdout + completed.stderr).lower()
    assert token.lower() not in console and "xantheriople" not in console
