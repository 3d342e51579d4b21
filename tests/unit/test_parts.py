"""A part of the corpus per job, and only the changed transcripts worked on (scripts/parts.py)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from scripts import parts


def test_a_transcript_stays_in_its_part_whatever_else_is_added() -> None:
    first = parts.by_part([f"T{number:04d}" for number in range(200)])
    grown = parts.by_part([f"T{number:04d}" for number in range(1000)])
    assert all(set(transcripts) <= set(grown[part]) for part, transcripts in first.items())
    assert set(grown) == {f"{part:02d}" for part in range(parts.PARTS)}
    assert parts.part_of("DSM01") == parts.part_of("DSM01")  # CRC-32: the same on every machine
    assert parts.by_part([]) == {}


def setup(tmp_path: Path, names: list[str]) -> dict:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / f"{name}.txt").write_text(f"text of {name}\n", encoding="utf-8")
    return {
        "cache": tmp_path / ".snakemake" / "parts",
        "private": tmp_path / "results" / "private" / "cache",
        "works": [
            parts.Work(
                name,
                [str(folder / f"{name}.txt")],
                {
                    "out": str(tmp_path / "results" / "out" / f"{name}.txt"),
                    "key": str(tmp_path / "results" / "private" / "keys" / f"{name}.txt"),
                },
            )
            for name in names
        ],
    }


def run(
    study: dict, worked: list[str], settings: str = "v1", logger: logging.Logger | None = None
) -> parts.Done:
    def work_on(work: parts.Work) -> None:
        worked.append(work.transcript)
        (logger or logging.getLogger("qualflow")).info("%s: worked on", work.transcript)
        text = Path(work.inputs[0]).read_text(encoding="utf-8")
        for path in work.outputs.values():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text.upper(), encoding="utf-8")

    for work in study["works"]:  # Snakemake removes a job's outputs before it runs
        for path in work.outputs.values():
            Path(path).unlink(missing_ok=True)
    return parts.run_part(
        "stage", "07", study["works"], settings, work_on, study["cache"], study["private"], logger
    )


def test_only_changed_transcripts_are_worked_on_and_the_others_come_back(tmp_path: Path) -> None:
    study = setup(tmp_path, ["A", "B", "C"])
    worked: list[str] = []
    assert run(study, worked).worked == ["A", "B", "C"] and worked == ["A", "B", "C"]
    worked.clear()
    done = run(study, worked)
    assert worked == [] and done.reused == ["A", "B", "C"]
    assert Path(study["works"][1].outputs["out"]).read_text(encoding="utf-8") == "TEXT OF B\n"
    # a changed input: that transcript alone
    Path(study["works"][1].inputs[0]).write_text("new text of B\n", encoding="utf-8")
    worked.clear()
    run(study, worked)
    assert (
        worked == ["B"]
        and Path(study["works"][1].outputs["out"]).read_text(encoding="utf-8") == "NEW TEXT OF B\n"
    )
    # changed settings (the stage's code or config): every transcript
    worked.clear()
    run(study, worked, settings="v2")
    assert worked == ["A", "B", "C"]


def test_private_outputs_are_kept_in_the_private_folder_only(tmp_path: Path) -> None:
    study = setup(tmp_path, ["A"])
    run(study, [])
    private = study["private"] / "stage" / "A" / "key"
    assert private.is_file() and stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert not (study["cache"] / "stage" / "A" / "key").exists()
    assert (study["cache"] / "stage" / "A" / "out").is_file()


def test_a_lost_output_or_cache_is_made_again_and_a_removed_transcript_forgotten(
    tmp_path: Path,
) -> None:
    study = setup(tmp_path, ["A", "B"])
    run(study, [])
    (study["cache"] / "stage" / "A" / "out").unlink()
    worked: list[str] = []
    run(study, worked)
    assert worked == ["A"]
    study["works"] = study["works"][:1]
    run(study, [])
    assert not (study["cache"] / "stage" / "B").exists()


def test_the_log_is_the_same_whichever_transcripts_were_worked_on(tmp_path: Path) -> None:
    study = setup(tmp_path, ["A", "B"])
    logger = logging.getLogger("qualflow.test_parts")
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        run(study, [], logger=logger)
        first = list(seen)
        seen.clear()
        run(study, [], logger=logger)
    finally:
        logger.removeHandler(handler)
    assert first == ["A: worked on", "B: worked on"] and seen == first


def test_a_part_jobs_record_lists_its_files_by_transcript_the_same_each_time(
    tmp_path: Path,
) -> None:
    outputs = {
        "versions": ["results/segments/versions/A01.jsonl", "results/segments/versions/B02.jsonl"],
        "segments": ["results/segments/A01.tsv", "results/segments/B02.tsv"],
    }
    record = tmp_path / "results" / "parts" / "segment" / "07.tsv"
    parts.write_record(record, ["A01", "B02"], outputs)
    assert record.read_text(encoding="utf-8").splitlines() == [
        "transcript\toutput\tfile",
        "A01\tsegments\tresults/segments/A01.tsv",
        "A01\tversions\tresults/segments/versions/A01.jsonl",
        "B02\tsegments\tresults/segments/B02.tsv",
        "B02\tversions\tresults/segments/versions/B02.jsonl",
    ]
    first = record.read_bytes()
    parts.write_record(record, ["A01", "B02"], dict(reversed(list(outputs.items()))))
    assert record.read_bytes() == first  # no time, no order of the names: the same record


def test_a_part_jobs_files_are_removed_before_it_runs(tmp_path: Path) -> None:
    made = [tmp_path / "A01.tsv", tmp_path / "B02.tsv"]
    made[0].write_text("old\n", encoding="utf-8")
    parts.remove_files({"segments": [str(path) for path in made]})  # one missing: no error
    assert not any(path.exists() for path in made)
