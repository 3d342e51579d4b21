"""Tests for scripts/learned.py: final coding, learned suggestions, quality figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scripts import coding_records, learned
from scripts.codebook import load_codebook

from .coding_helpers import write_csv, write_project


def test_quality_rows_per_code_and_micro() -> None:
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    keyword = np.array([[1, 0], [0, 0], [0, 1], [1, 1]])
    rows = learned.quality_rows(truth, {"keyword": keyword}, ["a", "b"])
    by_code = {row["code_id"]: row for row in rows}
    assert by_code["a"] == {
        "code_id": "a",
        "method": "keyword",
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
        "predicted": 2,
        "true_positives": 1,
    }
    assert (by_code["b"]["precision"], by_code["b"]["recall"]) == (0.5, 1.0)
    assert by_code["(micro)"]["true_positives"] == 2 and by_code["(micro)"]["f1"] == round(4 / 7, 4)


def test_undefined_precision_is_blank() -> None:
    rows = learned.quality_rows(np.array([[1], [0]]), {"learned": np.array([[0], [0]])}, ["a"])
    assert rows[0]["precision"] is None and rows[0]["recall"] == 0.0 and rows[0]["f1"] == 0.0


def texts_and_labels(n: int = 40):
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for i in range(n):
        money = i % 2 == 0
        texts.append(
            ("the bus fare cost money" if money else "my mother and my family")
            + f" word{rng.integers(5)}"
        )
        labels.append([int(money), int(not money)])
    return texts, np.array(labels)


def test_fit_predict_learns_and_is_seeded() -> None:
    texts, labels = texts_and_labels()
    settings = learned.LearnedSettings()
    probabilities = learned.fit_predict(
        texts, labels, ["what a fare, so much money", "my family"], settings
    )
    assert probabilities[0, 0] > 0.5 > probabilities[0, 1] and probabilities[1, 1] > 0.5
    assert np.array_equal(
        probabilities,
        learned.fit_predict(texts, labels, ["what a fare, so much money", "my family"], settings),
    )


def test_code_with_too_few_examples_is_not_learned() -> None:
    texts, labels = texts_and_labels()
    labels[:, 1] = 0
    labels[0, 1] = 1
    probabilities = learned.fit_predict(
        texts, labels, ["my family"], learned.LearnedSettings(min_positives=2)
    )
    assert probabilities[0, 1] == 0.0


@pytest.mark.parametrize(
    "final, expected",
    [
        ({"final": "consensus"}, ["consensus"]),
        ({"final": "coder_a"}, ["coder_a"]),
        ({"final": "union", "consensus": "consensus"}, ["coder_a", "coder_b"]),
    ],
)
def test_final_coders(final: dict, expected: list[str]) -> None:
    assert learned.final_coders(final, ["coder_a", "coder_b"]) == expected


def test_final_coding_and_suggestions_for_uncoded_segments(tmp_path: Path) -> None:
    paths = write_project(tmp_path)
    coding = write_csv(
        tmp_path / "coding" / "consensus" / "c.csv",
        [["T1-0002-001", "calm"], ["T1-0004-002", "queue"]],
    )
    segments = coding_records.load_segments([paths["T1"], paths["T2"]])
    final = learned.load_final_coding(
        [str(coding)],
        segments,
        load_codebook(paths["codebook"]),
        {"final": "consensus", "consensus": "consensus", "roles": ["participant"]},
    )
    assert [segments.rows[i]["segment_id"] for i in final.coded] == [
        "T1-0002-001",
        "T1-0002-002",
        "T1-0002-003",
        "T1-0004-001",
        "T1-0004-002",
    ]
    assert final.labels.sum() == 2 and final.labels[0, 0] == 1
    rows = learned.suggest(
        final, ["participant"], learned.LearnedSettings(min_positives=1, threshold=0.0)
    )
    assert {row["segment_id"] for row in rows} == {
        "T2-0002-001",
        "T2-0002-002",
    }  # only the uncoded transcript
    assert all(row["source"] == "learned" and 0 <= row["score"] <= 1 for row in rows)
