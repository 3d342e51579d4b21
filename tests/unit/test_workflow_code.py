"""Tests for scripts/workflow_code.py: each rule's run block and job function, for the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import workflow_code
from scripts.rule_jobs import Job, RuleJobError, find_jobs

REPO = Path(__file__).resolve().parents[2]
SMK = '''
rule simple:
    """Does a thing."""
    input:
        "a",
    run:
        run_job(rule, input, output, params, log)


for part, transcripts in PARTS.items():

    rule:
        """Per part."""
        name:
            f"stage_{part}"
        run:
            run_job(
                rule, input, output, params, log
            )
'''
JOBS = {"simple": Job("taguette", "codebook_csv"), "stage": Job("taguette", "code_description")}


def test_rules_their_descriptions_run_blocks_and_job_functions() -> None:
    rules = workflow_code.rules_of(SMK, "x.smk", JOBS)
    assert [(rule.name, rule.description, rule.targets) for rule in rules] == [
        ("simple", "Does a thing.", ("scripts.taguette:codebook_csv",)),
        ("stage_{part}", "Per part.", ("scripts.taguette:code_description",)),
    ]
    assert rules[1].run == "run_job(\n    rule, input, output, params, log\n)"
    page = workflow_code.page(
        rules,
        {
            target: workflow_code.function_source(target)
            for rule in rules
            for target in rule.targets
        },
    )
    assert (
        'id="rule-stage_{part}"' in page
        and "def codebook_csv(codebook: Codebook) -&gt; str:" in page
    )


def test_a_rule_without_its_job_function_is_an_error() -> None:
    with pytest.raises(RuleJobError, match="rule simple has no job function"):
        workflow_code.rules_of(SMK, "x.smk", {})


def test_every_rule_of_the_workflow_has_its_job_function() -> None:
    jobs = find_jobs(REPO / "scripts")
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for rule in workflow_code.rules_of(path.read_text(encoding="utf-8"), path.name, jobs):
            assert rule.name and rule.targets, (path.name, rule.name)
            for target in rule.targets:
                assert workflow_code.function_source(target).startswith("@rule_job\ndef "), target
