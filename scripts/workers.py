"""The jobs' work in worker processes shared by every job of one Snakemake run.

Jobs run as threads of the Snakemake process (--force-use-threads), so a model is loaded once per
run instead of once per transcript; but threads working in that process are held back by the GIL,
which the scheduler needs too (two threads on two cores measured ~1.2 cores busy). A job
therefore hands its work to one of a few worker processes (one per core), each of which loads
its models once and keeps them, and waits (the GIL released) for the result.

The workers are plain subprocesses speaking length-prefixed pickles over their pipes
(multiprocessing's spawn would re-run ``python -m snakemake``, whose __main__ is not guarded).
A request names a function of a ``scripts.`` module and its arguments (plain data); the worker
imports the module by its package name, so results unpickle as the same classes on both sides.
A worker's :class:`~scripts.errors.QualflowError` comes back whole (its message is written to be
safe to print: file, line, what to do); of any other error only its type and where it was raised,
never its message: messages could quote text. A worker's standard output goes to its standard
error: the pipe is for the replies alone.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
_WORKER = "import sys; from scripts.workers import serve; sys.exit(serve())"


_PIPELINES = threading.local()


def load_spacy(model: str, exclude: tuple[str, ...] = (), disable: tuple[str, ...] = ()):
    """A spaCy pipeline, loaded once per thread (spaCy's objects are not safe to share)."""
    loaded = getattr(_PIPELINES, "by_key", None)
    if loaded is None:
        loaded = _PIPELINES.by_key = {}
    key = (model, tuple(exclude), tuple(disable))
    if key not in loaded:
        import spacy

        from scripts.errors import ConfigurationError

        try:
            nlp = spacy.load(model, exclude=list(exclude), disable=list(disable))
            if "parser" in exclude and "senter" in nlp.disabled:
                nlp.enable_pipe("senter")  # sentences without the dependency parse
            loaded[key] = nlp
        except OSError:
            raise ConfigurationError(
                "config.yaml",
                f"spaCy model '{model}' is not installed",
                "Run 'make install' or set spacy.model to an installed pipeline",
            ) from None
    return loaded[key]


def loaded_pipelines() -> list[tuple]:
    """The spaCy pipelines this thread holds, as (model, exclude, disable): what a worker has
    loaded so far (its warm-up included)."""
    return sorted(getattr(_PIPELINES, "by_key", {}))


#: Allocations between two collections of the youngest generation (Python's default: 700).
GARBAGE_COLLECTION_THRESHOLD = 20_000
_COLLECTOR_TUNED = False


def tune_garbage_collector() -> None:
    """Fewer cyclic garbage collections in the Snakemake process, and none at its exit.

    Snakemake holds its DAG as several objects per job, alive for the whole run. Python's cyclic
    collector walks every such object at each full collection, and once more when the
    interpreter exits: at 1,000 transcripts (5,000 jobs) a run that has nothing to do spent 1.8 s
    in collections during the run and 1.5 s at exit, of 7.7 s (benchmarks/bench_workflow.py).
    Reference counting still frees almost everything; a larger threshold makes the collections
    rare (peak memory measured the same), and at exit the objects are frozen, so the process
    ends without walking them (memory goes back to the system with the process).
    """
    import gc

    global _COLLECTOR_TUNED
    if _COLLECTOR_TUNED:
        return
    _COLLECTOR_TUNED = True
    gc.set_threshold(GARBAGE_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    atexit.register(gc.freeze)


def end_pending_timers() -> None:
    """Let the Snakemake process exit as soon as its run is over.

    After each scheduling round Snakemake starts a ``threading.Timer`` (the timespan of its
    job-rate limiter: 10 minutes in the default profile, one second by default; a shorter one
    cannot be set: Snakemake 9.27 reads "100ms" as 100 minutes) to schedule again, and Python
    waits for every such thread before it exits: up to a timespan at the end of every run.
    Called when the run is over (onsuccess, onerror), when there is nothing left to schedule.
    """
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


class WorkerError(RuntimeError):
    """A worker process failed; the message holds the error's type and place only."""


def plain(value: Any) -> Any:
    """Snakemake's file names and lists as built-in str, list and dict: a worker need not import
    Snakemake to read its arguments."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    if isinstance(value, list):  # Snakemake's Namedlist too
        return [plain(item) for item in value]
    return value


class WorkerPool:
    def __init__(self, processes: int, warm_up: tuple[str, tuple] | None = None) -> None:
        """processes workers. With warm_up, (function, arguments), the first worker runs it before
        its first job, in a thread of this process: a model loads on one core while this process
        goes on with the other. The other workers take jobs at once (the first jobs of a run,
        ingest, need no model) and load a model when a job first needs it: warmed one after the
        other, they kept the first jobs of a run waiting (0.75 s of a rerun after 10 new
        interviews)."""
        path = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
        self._environment = {**os.environ, "PYTHONPATH": path}
        self._workers = [self._start() for _ in range(processes)]
        self._idle: queue.Queue = queue.Queue()
        self._closed = False
        for worker in self._workers[0 if warm_up is None else 1 :]:
            self._idle.put(worker)
        if warm_up is not None:
            threading.Thread(
                target=self._warm_up, args=(warm_up,), name="qualflow-warm-up", daemon=True
            ).start()

    def _warm_up(self, request: tuple[str, tuple]) -> None:
        worker = self._workers[0]
        if self._closed:  # the run ended first
            return
        try:
            _send(worker.stdin, request)
            _receive(
                worker.stdout
            )  # a failed warm-up (say, no such model) fails the job again, which reports it
        except (EOFError, OSError, ValueError):  # the worker died, or the run ended
            if self._closed:
                return
            worker.wait()
            worker = self._workers[0] = self._start()
        self._idle.put(worker)

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", _WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._environment,
        )

    def call(self, function: str, *arguments: Any) -> Any:
        """Run scripts.module:function(*arguments) in an idle worker and return its result."""
        worker = self._idle.get()
        try:
            _send(worker.stdin, (function, arguments))
            status, payload = _receive(worker.stdout)
        except (EOFError, BrokenPipeError):
            # the worker died (killed, out of memory): a new one takes its place for later jobs
            code = worker.wait()
            replacement = self._start()
            self._workers[self._workers.index(worker)] = replacement
            worker = replacement
            raise WorkerError(
                f"a worker process ended while running {function} (exit code {code})"
            ) from None
        finally:
            self._idle.put(worker)
        if status == "qualflow":
            raise payload
        if status != "ok":
            raise WorkerError(f"a worker process failed running {function} ({payload})")
        return payload

    def close(self) -> None:
        self._closed = True
        for worker in self._workers:
            if worker.stdin and not worker.stdin.closed:
                worker.stdin.close()
        for worker in self._workers:
            worker.wait(timeout=30)


_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def _pool(processes: int, warm_up: tuple[str, tuple] | None = None) -> tuple[WorkerPool, bool]:
    """The run's pool of processes workers, and whether this call started it (with warm_up)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(processes)
        if pool is not None:
            return pool, False
        pool = _POOLS[processes] = WorkerPool(processes, warm_up)
        atexit.register(pool.close)
        return pool, True


def start(processes: int, function: str, *arguments: Any) -> bool:
    """Start the run's pool of processes workers now, each of them running
    scripts.module:function(*arguments) first (say, loading the spaCy model) while this process
    goes on (building Snakemake's DAG). False if there is no pool (processes=0) or it runs already.
    """
    return processes > 0 and _pool(processes, (function, plain(arguments)))[1]


def call(processes: int, function: str, *arguments: Any) -> Any:
    """scripts.module:function(*arguments), in this thread (processes=0) or in the shared pool."""
    arguments = plain(arguments)
    if processes <= 0:
        return _resolve(function)(*arguments)
    return _pool(processes)[0].call(function, *arguments)


def _resolve(function: str):
    module, _, name = function.partition(":")
    if not module.startswith("scripts."):
        raise ValueError("workers only run functions of qualflow's scripts package")
    return getattr(importlib.import_module(module), name)


def _send(stream, message) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    (length,) = struct.unpack("!Q", header)
    return pickle.loads(stream.read(length))


def serve() -> int:
    """A worker process: answer requests until the input closes."""
    from scripts.errors import QualflowError

    # replies go to the original standard output; anything else written there (by a library, or
    # at the C level) goes to standard error instead of into the replies
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    while True:
        try:
            function, arguments = _receive(sys.stdin.buffer)
        except EOFError:
            # The run is over: leave without tearing down the loaded models one object at a time
            # (seconds at the end of every run). Every reply is sent; each job closed its files.
            replies.close()
            sys.stderr.flush()
            os._exit(0)
        try:
            reply = ("ok", _resolve(function)(*arguments))
        except QualflowError as error:  # written to be printed: file, line, what to do
            reply = ("qualflow", error)
        except Exception as error:  # type and place only: messages could quote text
            reply = ("error", _where(error))
        _send(replies, reply)


def _where(error: Exception) -> str:
    """An error's type and the innermost line of qualflow's code it passed through."""
    import traceback

    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if f"{os.sep}scripts{os.sep}" in frame.filename
    ]
    place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return type(error).__name__ + place
