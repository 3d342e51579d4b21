"""Tests for scripts/taguette.py: the codebook CSV Taguette imports (its own import is run by
tests/workflow/test_coders_desk.py, with Taguette installed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from scripts import taguette
from scripts.codebook import load_codebook

from .coding_helpers import write_project


def test_one_tag_per_code_named_by_its_id_with_its_description(tmp_path: Path) -> None:
    codebook = load_codebook(write_project(tmp_path)["codebook"])
    text = taguette.codebook_csv(codebook)
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    # Taguette wants exactly one of tag, name, path, and reads description
    assert (
        header == ["tag", "description"]
        and sum(name in header for name in ("tag", "name", "path")) == 1
    )
    assert [row["tag"] for row in rows] == list(codebook.code_ids)
    assert rows[0]["description"] == "Calm (theme: Good things). A calmer mind."
    assert text == taguette.codebook_csv(codebook)  # deterministic


def test_description_says_when_to_apply_the_code() -> None:
    text = taguette.code_description(
        "Stigma", "Challenges", "Being shamed.\n", "Insults.", "Fear alone."
    )
    assert (
        text == "Stigma (theme: Challenges). Being shamed. Include: Insults. Exclude: Fear alone."
    )
