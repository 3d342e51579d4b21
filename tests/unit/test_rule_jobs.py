"""The contract between rules and code (scripts/rule_jobs.py), and the structure of scripts/: no
import cycles, no module over 600 lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import rule_jobs
from scripts.rule_jobs import Job, RuleJobError

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
#: The longest a module of scripts/ may be.
MOST_LINES = 600

GOOD = """
from scripts.rule_jobs import rule_job
from scripts import helper


@rule_job
def themes(input, output, params, log):
    pass


def not_a_job(a, b):
    pass
"""


def _scripts(tmp_path: Path, **modules: str) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir()
    for name, text in modules.items():
        (folder / f"{name}.py").write_text(text, encoding="utf-8")
    return folder


def test_job_functions_are_found_in_the_source_by_their_decorator(tmp_path: Path) -> None:
    folder = _scripts(tmp_path, stage=GOOD, helper="import json\n")
    jobs = rule_jobs.find_jobs(folder)
    assert jobs == {"themes": Job("stage", "themes")}
    assert rule_jobs.job_for(jobs, "themes").target == "scripts.stage:themes"
    assert rule_jobs.modules_behind(folder, "stage") == ["helper", "stage"]


def test_what_the_source_says_is_kept_by_each_module_digest(tmp_path: Path, monkeypatch) -> None:
    folder = _scripts(tmp_path, stage=GOOD, helper="import json\n")
    cache = tmp_path / ".snakemake" / "rule_jobs.json"
    assert rule_jobs.find_jobs(folder, cache) == {"themes": Job("stage", "themes")}
    parsed = []
    original = rule_jobs._read_module
    monkeypatch.setattr(
        rule_jobs,
        "_read_module",
        lambda path, source: parsed.append(path.name) or original(path, source),
    )
    rule_jobs._READ.clear()  # another run of the workflow
    assert rule_jobs.find_jobs(folder, cache) == {"themes": Job("stage", "themes")} and parsed == []
    assert rule_jobs._modules(str(folder)) == {
        "helper": rule_jobs._Module((), frozenset()),
        "stage": rule_jobs._Module(
            (("themes", rule_jobs.JOB_ARGUMENTS),), frozenset({"helper", "rule_jobs"})
        ),
    }
    (folder / "helper.py").write_text(GOOD.replace("themes", "segment"), encoding="utf-8")
    rule_jobs._READ.clear()
    jobs = rule_jobs.find_jobs(folder, cache)
    assert parsed == ["helper.py"]  # the changed module alone is parsed again
    assert jobs == {"themes": Job("stage", "themes"), "segment": Job("helper", "segment")}


def test_a_rule_per_part_reaches_its_stage_function() -> None:
    assert rule_jobs.job_name("candidate_codes_07") == "candidate_codes"
    assert rule_jobs.job_name("leak_check_part") == "leak_check_part"
    assert rule_jobs.job_name("themes") == "themes"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("@rule_job\ndef themes(input, output, params):\n    pass\n", "takes"),
        ("@rule_job\ndef themes(output, input, params, log):\n    pass\n", "takes"),
    ],
)
def test_a_job_function_with_other_arguments_is_an_error_before_anything_runs(
    tmp_path: Path, source: str, message: str
) -> None:
    with pytest.raises(RuleJobError, match=message):
        rule_jobs.find_jobs(_scripts(tmp_path, stage=source))


def test_two_job_functions_of_one_name_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleJobError, match="two jobs named themes"):
        rule_jobs.find_jobs(_scripts(tmp_path, stage=GOOD, other=GOOD, helper=""))


def test_a_rule_without_its_job_function_is_an_error() -> None:
    with pytest.raises(
        RuleJobError, match=r"rule themes_07 has no job function: define @rule_job def themes"
    ):
        rule_jobs.job_for({}, "themes_07")


def test_the_decorator_checks_the_arguments_too() -> None:
    with pytest.raises(RuleJobError):
        rule_jobs.rule_job(lambda input, output: None)


def test_import_cycles_are_found() -> None:
    graph = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"], "e": ["e"]}
    assert rule_jobs.import_cycles(graph) == [["a", "b", "c"]]
    assert rule_jobs.import_cycles({"a": ["b"], "b": []}) == []


def test_no_import_cycles_among_the_project_modules() -> None:
    graph = rule_jobs.import_graph(SCRIPTS)
    assert len(graph) > 20  # the graph was read
    assert rule_jobs.import_cycles(graph) == []


def test_every_job_function_is_named_after_a_rule_and_takes_the_four_arguments() -> None:
    jobs = rule_jobs.find_jobs(SCRIPTS)
    rules = "\n".join(
        path.read_text(encoding="utf-8") for path in (REPO / "workflow" / "rules").glob("*.smk")
    )
    for name in jobs:
        assert f"rule {name}:" in rules or f'f"{name}_{{part}}"' in rules, f"job {name} has no rule"


def test_no_module_is_over_600_lines() -> None:
    lengths = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in SCRIPTS.glob("*.py")
    }
    assert {name: lines for name, lines in lengths.items() if lines > MOST_LINES} == {}


class _Rule:
    """What rule_problems reads of a Snakemake rule."""

    def __init__(
        self, name: str, code: str, inputs: dict, unnamed: tuple = (), logs: int = 1
    ) -> None:
        from snakemake.iocontainers import Namedlist

        self.name = name
        self.params = {"code": code}
        self.input = Namedlist(toclone=[*unnamed])
        for key, value in inputs.items():
            start = len(self.input)
            self.input.extend(value if isinstance(value, list) else [value])
            self.input._set_name(key, start, len(self.input) if isinstance(value, list) else None)
        self.output = Namedlist(fromdict={"table": "t.tsv"})
        self.log = Namedlist(toclone=[f"{name}.log"] * logs)


def test_rules_that_break_the_contract_are_named() -> None:
    def code_of(rule: str) -> str:
        return f"digest of {rule_jobs.job_name(rule)}"

    good = _Rule("segment_07", "digest of segment", {"raw": ["a.txt", "b.txt"], "list": "ids.yaml"})
    assert rule_jobs.rule_problems([good], code_of) == []
    wrong_code = _Rule("themes", "digest of figures", {"codebook": "c.yaml"})
    unnamed = _Rule("figures", "digest of figures", {"codebook": "c.yaml"}, unnamed=("x.tsv",))
    two_logs = _Rule("provenance", "digest of provenance", {}, logs=2)
    assert rule_jobs.rule_problems([wrong_code, unnamed, two_logs], code_of) == [
        "rule themes: params code=job_code(...) must name the rule 'themes'",
        "rule figures: name every input (its job reads them by name)",
        "rule provenance: one log file per rule",
    ]
