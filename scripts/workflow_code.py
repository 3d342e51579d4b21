"""What each rule runs, for the Snakemake report (rule ``workflow_code``):
``results/workflow_code.html``.

The rules are ``run:`` blocks that hand their work to the job function named after the rule
(scripts/rule_jobs.py), and Snakemake's report shows no code for a ``run:`` block. This page
does, for every rule: its description, its ``run:`` block as written in ``workflow/rules/*.smk``,
and the source of its job function (read from the module), so that a reviewer sees what each step
ran. Deterministic: the same workflow code gives the same page.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

from scripts.contracts import write_text
from scripts.rule_jobs import Job, job_for, job_log, rule_job

RULE = re.compile(r"^(?P<indent>\s*)rule(?:\s+(?P<name>\w+))?\s*:\s*$")
NAME = re.compile(r'^\s*f?"(?P<name>[^"]+)"\s*$')
#: The name of a rule per part of the corpus, as written (``f"segment_{part}"``).
PART_SUFFIX = "_{part}"


@dataclass(frozen=True)
class RuleCode:
    """One rule as written: its name (``candidate_codes_{part}`` for a rule per part), the file,
    its description, its ``run:`` block and its job function (``scripts.<module>:<function>``)."""

    name: str
    file: str
    description: str
    run: str
    targets: tuple[str, ...]


def _block(lines: Sequence[str], start: int, indent: int) -> list[str]:
    """The lines after ``start`` indented deeper than ``indent`` (blank lines included)."""
    block = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    while block and not block[-1].strip():
        block.pop()
    return block


def rules_of(text: str, file: str, jobs: Mapping[str, Job]) -> list[RuleCode]:
    """The rules of one .smk file, in file order, each with its job function (of ``jobs``:
    :func:`scripts.rule_jobs.find_jobs`)."""
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = RULE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        body = _block(lines, number, indent)
        name, description, run = match["name"] or "", "", ""
        for index, item in enumerate(body):
            stripped = item.strip()
            if stripped == "name:" and not name:
                named = NAME.match(body[index + 1]) if index + 1 < len(body) else None
                name = named["name"] if named else ""
            if stripped == "run:":
                run_indent = len(item) - len(item.lstrip())
                run = "\n".join(
                    part[run_indent + 4 :] if part.strip() else ""
                    for part in _block(body, index, run_indent)
                )
        docstring = re.match(r'\s*"""(?P<text>.*?)"""', "\n".join(body), re.DOTALL)
        if docstring:
            description = " ".join(docstring["text"].split())
        target = job_for(jobs, name.removesuffix(PART_SUFFIX)).target if name else ""
        found.append(RuleCode(name, file, description, run, (target,) if target else ()))
    return found


def function_source(target: str) -> str:
    """The source of ``scripts.<module>:<function>``."""
    module, _, function = target.partition(":")
    return inspect.getsource(getattr(importlib.import_module(module), function))


def page(rules: Sequence[RuleCode], sources: dict[str, str]) -> str:
    """The HTML page: a list of the rules, then each rule with its run block and its job function."""
    css = (
        "body{font:15px/1.45 system-ui,sans-serif;color:#1d2430;max-width:1000px;margin:0 auto;padding:16px}"
        "pre{background:#f3f5f8;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:0.85em}"
        "h2{font-size:1.15em;border-bottom:2px solid #d9dee5;margin-top:28px}.note{color:#5b6675}"
    )
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>What each rule runs</title>',
        f"<style>{css}</style></head><body>",
        "<h1>What each rule runs</h1>",
        '<p class="note">Each rule of the workflow is a <code>run:</code> block that hands its work to the job function '
        "named after the rule, in its stage&#x27;s module of <code>scripts/</code> (in one of the run&#x27;s worker "
        "processes). Below, for every rule: what it is for, the block as written in <code>workflow/rules/</code>, and "
        "the source of its job function, which calls the stage&#x27;s pure functions.</p>",
        "<ul>",
    ]
    out += [
        f'<li><a href="#rule-{escape(rule.name)}"><code>{escape(rule.name)}</code></a> {escape(rule.description[:100])}</li>'
        for rule in rules
    ]
    out.append("</ul>")
    for rule in rules:
        out.append(
            f'<h2 id="rule-{escape(rule.name)}">rule <code>{escape(rule.name)}</code> '
            f'<span class="note">({escape(rule.file)})</span></h2>'
        )
        if rule.description:
            out.append(f"<p>{escape(rule.description)}</p>")
        out.append(f'<p class="note">run:</p><pre>{escape(rule.run) or "(no run block)"}</pre>')
        for target in rule.targets:
            out.append(
                f'<p class="note">job function <code>{escape(target)}</code>:</p><pre>{escape(sources[target])}</pre>'
            )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


@rule_job
def workflow_code(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule workflow_code: every rule's run block and job function source, as one page."""
    from scripts.rule_jobs import find_jobs

    with job_log(log) as logger:
        jobs = find_jobs(Path(__file__).resolve().parent)
        rules = [
            rule
            for path in sorted(input["rules"])
            for rule in rules_of(
                Path(path).read_text(encoding="utf-8"), f"workflow/rules/{Path(path).name}", jobs
            )
        ]
        sources = {target: function_source(target) for rule in rules for target in rule.targets}
        write_text(Path(output["page"]), page(rules, sources))
        logger.info("%s: %d rules, %d job functions", output["page"], len(rules), len(sources))
