"""The contract between a Snakemake rule and its code, checked when the workflow is parsed.

Rule ``themes`` runs the function ``themes`` of its stage's module, and the rules of a part of the
corpus (``segment_07``) the function of their stage (``segment``). A job function is marked with
:func:`rule_job` (the way spaCy registers its factories) and takes exactly four named arguments:

- ``input``, ``output``: the rule's named inputs and outputs, ``{name: path or list of paths}``;
- ``params``: the rule's params, ``{name: value}`` (plain data: a job's settings are its params,
  so that a change of them reruns it);
- ``log``: the path of the job's log.

The workflow finds the job functions by reading the modules' source (:func:`find_jobs`: no module
is imported to parse the workflow), so a rule without its function, or a function with other
arguments, stops the workflow when it is parsed, not when the job runs. What reruns a rule when
its code changes is derived the same way: the job's module and every ``scripts`` module it imports,
directly or not (:func:`modules_behind`).
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from scripts.errors import QualflowError

#: The arguments of every job function, in this order.
JOB_ARGUMENTS = ("input", "output", "params", "log")
#: A rule of a part of the corpus: its stage's name and the part's number (scripts/parts.py).
PART_RULE = re.compile(r"^(?P<stage>\w+?)_(?P<part>\d\d)$")

LOGGER = logging.getLogger("qualflow")
# Set once: jobs running as concurrent threads must not save and restore a shared level.
LOGGER.setLevel(logging.INFO)
LOGGER.propagate = False  # each job attaches its own file and console handlers

Function = TypeVar("Function", bound=Callable[..., None])


class RuleJobError(QualflowError):
    """A rule and its code do not match (a developer's error, found when the workflow is parsed)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            "workflow", message, "Name the job function after its rule (scripts/rule_jobs.py)"
        )


def rule_job(function: Function) -> Function:
    """Mark ``function`` as the job of the rule of the same name (checked when imported, too)."""
    arguments = function.__code__.co_varnames[: function.__code__.co_argcount]
    if tuple(arguments) != JOB_ARGUMENTS:
        raise RuleJobError(f"job {function.__name__} takes {arguments}, not {JOB_ARGUMENTS}")
    return function


@dataclass(frozen=True)
class Job:
    """Where a rule's job function is: ``scripts.{module}:{name}``."""

    module: str
    name: str

    @property
    def target(self) -> str:
        return f"scripts.{self.module}:{self.name}"


def job_name(rule: str) -> str:
    """The job function's name for a rule: the rule's name, without a part's number."""
    found = PART_RULE.match(rule)
    return found["stage"] if found else rule


def _is_rule_job(decorator: ast.expr) -> bool:
    return (isinstance(decorator, ast.Name) and decorator.id == "rule_job") or (
        isinstance(decorator, ast.Attribute) and decorator.attr == "rule_job"
    )


@dataclass(frozen=True)
class _Module:
    """What the workflow reads of one module's source: its job functions (name, arguments) and
    the ``scripts`` modules it imports (anywhere in it)."""

    jobs: tuple[tuple[str, tuple[str, ...]], ...]
    imports: frozenset[str]


def _read_module(path: Path, source: bytes) -> _Module:
    tree = ast.parse(source, str(path))
    jobs = tuple(
        (node.name, tuple(argument.arg for argument in node.args.args))
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(map(_is_rule_job, node.decorator_list))
    )
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "scripts":
            imported.update(alias.name for alias in node.names)
        elif (
            isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scripts.")
        ):
            imported.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            imported.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("scripts.")
            )
    return _Module(jobs, frozenset(imported))


#: The modules read in this process, by scripts folder (the workflow asks for every rule).
_READ: dict[str, dict[str, _Module]] = {}
#: The layout of the file keeping what modules' source says between runs.
MODULES_CACHE_VERSION = 1


def _modules(scripts: str, cache: str | Path | None = None) -> dict[str, _Module]:
    """What each module under ``scripts`` says (only that kept, not the syntax trees), read once
    per process. ``cache``: a JSON file keeping it by each module's SHA-256 between runs: parsing
    the 60 modules costs 0.7 s of every run of the workflow, even one with nothing to do; a
    module whose source changed is parsed again."""
    if scripts in _READ:
        return _READ[scripts]
    kept: dict = {}
    if cache is not None:
        try:
            document = json.loads(Path(cache).read_text(encoding="utf-8"))
            if document.get("version") == MODULES_CACHE_VERSION:
                kept = dict(document["modules"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            kept = {}  # unreadable: every module is parsed again
    modules, current = {}, {}
    for path in sorted(Path(scripts).glob("*.py")):
        if path.stem == "__init__":
            continue
        source = path.read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        entry = kept.get(path.stem)
        if isinstance(entry, list) and len(entry) == 3 and entry[0] == digest:
            read = _Module(
                tuple((name, tuple(arguments)) for name, arguments in entry[1]),
                frozenset(entry[2]),
            )
        else:
            read = _read_module(path, source)
        modules[path.stem] = read
        current[path.stem] = [digest, [list(job) for job in read.jobs], sorted(read.imports)]
    if cache is not None and current != kept:
        try:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            Path(cache).write_text(
                json.dumps({"modules": current, "version": MODULES_CACHE_VERSION}, sort_keys=True)
                + "\n",
                encoding="utf-8",
            )
        except OSError:
            pass  # kept for speed only
    _READ[scripts] = modules
    return modules


def find_jobs(scripts: str | Path, cache: str | Path | None = None) -> dict[str, Job]:
    """Every job function under ``scripts/`` by name, from the modules' source (``cache``: see
    :func:`_modules`); a job function with arguments other than :data:`JOB_ARGUMENTS`, or two of
    one name, is an error."""
    jobs: dict[str, Job] = {}
    for module, read in _modules(str(scripts), cache).items():
        for name, arguments in read.jobs:
            if arguments != JOB_ARGUMENTS:
                raise RuleJobError(f"job {module}.{name} takes {arguments}, not {JOB_ARGUMENTS}")
            if name in jobs:
                raise RuleJobError(f"two jobs named {name}: in {jobs[name].module} and {module}")
            jobs[name] = Job(module, name)
    return jobs


def job_for(jobs: dict[str, Job], rule: str) -> Job:
    """The job of a rule, or a :class:`RuleJobError` that says which function is missing."""
    name = job_name(rule)
    if name not in jobs:
        raise RuleJobError(
            f"rule {rule} has no job function: define @rule_job def {name}{JOB_ARGUMENTS} in scripts/"
        )
    return jobs[name]


def _unnamed(values) -> int:
    """How many of a rule's inputs or outputs (Snakemake's Namedlist) have no name; an input
    function, unpacked or named, gives its names only when the job graph is built."""
    from snakemake.io import is_callable

    given = sum(1 for value in values if not is_callable(value))
    named = sum(
        len(value) if isinstance(value, list) else 1
        for _, value in values.items()
        if not is_callable(value)
    )
    return given - named


def rule_problems(rules: Iterable, code_of: Callable[[str], str]) -> list[str]:
    """What breaks the contract in Snakemake's rules (``workflow.rules``): a rule's ``code`` param
    not its own job's digest (``code_of``: the workflow's ``job_code``, which fails for a rule
    without its job function), an unnamed input or output, other than one log file."""
    problems = []
    for rule in rules:
        if rule.name == "all":
            continue
        if rule.params.get("code") != code_of(rule.name):
            problems.append(
                f"rule {rule.name}: params code=job_code(...) must name the rule {rule.name!r}"
            )
        for kind, values in (("input", rule.input), ("output", rule.output)):
            if _unnamed(values) > 0:
                problems.append(f"rule {rule.name}: name every {kind} (its job reads them by name)")
        if len(rule.log) != 1:
            problems.append(f"rule {rule.name}: one log file per rule")
    return problems


def import_graph(scripts: str | Path) -> dict[str, list[str]]:
    """Each module of ``scripts/`` and the ``scripts`` modules it imports (anywhere in it)."""
    return _import_graph(str(scripts))


@cache
def _import_graph(scripts: str) -> dict[str, list[str]]:
    modules = _modules(scripts)
    return {
        module: sorted(name for name in read.imports if name in modules and name != module)
        for module, read in modules.items()
    }


def import_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan's strongly
    connected components of more than one module), each sorted."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in on_stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(cycles)


def modules_behind(scripts: str | Path, module: str) -> list[str]:
    """``module`` and every ``scripts`` module it imports, directly or not, sorted."""
    return list(_modules_behind(str(scripts), module))


@cache
def _modules_behind(scripts: str, module: str) -> tuple[str, ...]:
    graph = _import_graph(scripts)
    found = {module}
    waiting = [module]
    while waiting:
        for imported in graph[waiting.pop()]:
            if imported not in found:
                found.add(imported)
                waiting.append(imported)
    return tuple(sorted(found))


def code_digest(scripts: str | Path, modules: Sequence[str]) -> str:
    """SHA-256 over the source of ``scripts/{module}.py`` for each module, in order (read once per
    process: the workflow asks for one per rule, and a part's rules are 64 of each stage)."""
    return _code_digest(str(scripts), tuple(modules))


@cache
def _code_digest(scripts: str, modules: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for module in modules:
        digest.update(module.encode() + b"\0" + (Path(scripts) / f"{module}.py").read_bytes())
    return digest.hexdigest()


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.thread


@contextmanager
def job_log(log_path: str | Path) -> Iterator[logging.Logger]:
    """Send this job's qualflow messages to its log file and to the console.

    Filtered by thread, because jobs may run as concurrent threads of one process.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    this_thread = _ThisThread()
    to_file = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    to_console = logging.StreamHandler(sys.stderr)
    to_file.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    to_console.setFormatter(logging.Formatter("qualflow %(levelname)s: %(message)s"))
    to_console.setLevel(logging.WARNING)
    for handler in (to_file, to_console):
        handler.addFilter(this_thread)
        LOGGER.addHandler(handler)
    try:
        yield LOGGER
    except QualflowError as error:
        LOGGER.error("%s", error)
        raise
    finally:
        for handler in (to_file, to_console):
            LOGGER.removeHandler(handler)
            handler.close()
