"""Tests for scripts/workflow_code.py: each rule's run block and job function, for the report."""

from __future__ import annotations

from pathlib import Path

from scripts import workflow_code

REPO = Path(__file__).resolve().parents[2]
SMK = '''
rule simple:
    """Does a thing."""
    input:
        "a",
    run:
        in_worker("scripts.taguette:codebook_csv", input[0])


for part, transcripts in PARTS.items():

    rule:
        """Per part."""
        name:
            f"stage_{part}"
        run:
            in_worker(
                "scripts.taguette:code_description", input, output
            )
'''


def test_rules_their_descriptions_run_blocks_and_job_functions() -> None:
    rules = workflow_code.rules_of(SMK, "x.smk")
    assert [(rule.name, rule.description, rule.targets) for rule in rules] == [
        ("simple", "Does a thing.", ("scripts.taguette:codebook_csv",)),
        ("stage_{part}", "Per part.", ("scripts.taguette:code_description",)),
    ]
    assert rules[1].run == 'in_worker(\n    "scripts.taguette:code_description", input, output\n)'
    page = workflow_code.page(rules, {target: workflow_code.function_source(target) for rule in rules for target in rule.targets})
    assert 'id="rule-stage_{part}"' in page and "def codebook_csv(codebook: Codebook) -&gt; str:" in page


def test_every_rule_of_the_workflow_calls_a_job_function() -> None:
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for rule in workflow_code.rules_of(path.read_text(encoding="utf-8"), path.name):
            assert rule.name and rule.targets, (path.name, rule.name)
            for target in rule.targets:
                assert workflow_code.function_source(target).startswith("def "), target
