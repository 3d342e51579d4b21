"""Bad input: one clear error line naming the file and the problem, a non-zero exit, no partial outputs."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable

import pytest

from .conftest import run_workflow

pytestmark = pytest.mark.workflow


def empty_file(project: Path) -> str:
    (project / "data" / "raw" / "C01.txt").write_bytes(b"")
    return "C01"


def binary_txt(project: Path) -> str:
    (project / "data" / "raw" / "C01.txt").write_bytes(bytes(range(256)) * 40)
    return "C01"


def broken_vtt_timestamp(project: Path) -> str:
    (project / "data" / "raw" / "C01.vtt").write_text(
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Interviewer>Hi.\n\n00:00:03.000 -> 00:00:04.000\n<v Participant>Hi.\n",
        encoding="utf-8",
    )
    return "C01"


def docx_that_is_another_zip(project: Path) -> str:
    with zipfile.ZipFile(project / "data" / "raw" / "C01.docx", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    return "C01"


def unknown_format(project: Path) -> str:
    (project / "data" / "raw" / "C01.pdf").write_bytes(b"%PDF-1.4\n")
    return "C01"


def duplicate_transcript_id(project: Path) -> str:
    (project / "data" / "raw" / "A01.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nI: Hi\n", encoding="utf-8"
    )
    return "A01"


def malformed_config(project: Path) -> str:
    config = project / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  batch_size: 64", "  batch_size: [64"), encoding="utf-8")
    line = text[: text.index("  batch_size: 64")].count("\n") + 1
    assert f"flow sequence started on line {line})" in run_workflow(project).stderr
    return ""


def invalid_config_setting(project: Path) -> str:
    config = project / "config.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "layers: [identifiers, patterns, ner]", "layers: [identifiers, regex]"
        ),
        encoding="utf-8",
    )
    return ""


def malformed_identifiers(project: Path) -> str:
    identifiers = project / "data" / "identifiers.yaml"
    identifiers.write_text(
        identifiers.read_text(encoding="utf-8") + "  - name: [Unclosed\n", encoding="utf-8"
    )
    return ""


def unknown_key_in_identifiers(project: Path) -> str:
    identifiers = project / "data" / "identifiers.yaml"
    identifiers.write_text(
        identifiers.read_text(encoding="utf-8").replace(
            "    role: other\n", "    role: other\n    nickname: Remy\n"
        ),
        encoding="utf-8",
    )
    return ""


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "empty file": (empty_file, r"C01.txt: the file is empty"),
    "binary file named .txt": (binary_txt, r"C01.txt: is not a text file"),
    "vtt with broken timestamps": (
        broken_vtt_timestamp,
        r"C01.vtt, line 6: broken caption timestamp",
    ),
    "docx that is a zip of something else": (
        docx_that_is_another_zip,
        r"C01.docx: is not a Word document",
    ),
    "unknown format": (unknown_format, r"C01.pdf: unknown transcript format '.pdf'"),
    "two raw files with one transcript ID": (
        duplicate_transcript_id,
        r"A01.txt: transcript ID A01 is also used by A01.srt",
    ),
    "malformed config.yaml": (
        malformed_config,
        r"config.yaml, line \d+: is not valid YAML \(.*flow sequence started on line \d+\)",
    ),
    "invalid config setting": (
        invalid_config_setting,
        r"config.yaml, line \d+: deidentify.layers\[1\] must be one of",
    ),
    "malformed identifiers.yaml": (
        malformed_identifiers,
        r"identifiers.yaml, line \d+: is not valid YAML",
    ),
    "unknown key in identifiers.yaml": (
        unknown_key_in_identifiers,
        r"identifiers.yaml, line 8: unknown key\(s\) nickname under people\[1\]",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_stops_with_a_clear_error(project: Path, case: str) -> None:
    import re

    spoil, expected = CASES[case]
    transcript = spoil(project)
    completed = run_workflow(project)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert re.search(expected, output), output[-3000:]
    # The message is one line, and the run leaves no half-results behind.
    assert any(re.search(expected, line) for line in output.splitlines())
    results = project / "results"
    assert not (results / "deidentified" / "leak_check.tsv").exists()
    assert not (results / "corpus" / "transcripts.tsv").exists()
    if transcript:  # only the failed job's log, which says what went wrong
        leftovers = [
            path for path in results.glob(f"**/{transcript}.*") if "logs" not in path.parts
        ]
        assert not leftovers or case == "two raw files with one transcript ID"
    assert (
        "Remy" not in output and "Unclosed" not in output
    )  # error messages never echo the lists' names


def test_no_speaker_labels_is_a_warning_not_an_error(project: Path) -> None:
    (project / "data" / "raw" / "C01.txt").write_text(
        "I grew up by the lake.\n\nThen I moved to town.\n", encoding="utf-8"
    )
    completed = run_workflow(project)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "C01.txt: no speaker labels found" in completed.stderr
    from scripts.parts import part_of

    assert "no speaker labels found" in (
        project / "results" / "logs" / "ingest" / f"{part_of('C01')}.log"
    ).read_text(encoding="utf-8")
