"""Inter-coder agreement of the human codings: the jobs of the rules ``agreement`` and
``agreement_gate``.

The ``agreement`` rule reads the coders' re-anchored codings (rule anchor_codings), checks them
and compares the coders (scripts/agreement_comparisons.py, with the bootstrap intervals of
scripts/agreement_bootstrap.py), and writes the tables and the HTML report
(scripts/agreement_html.py). The ``agreement_gate`` rule holds Krippendorff's alpha against the
configured minimums (scripts/agreement_quality_gate.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from scripts import agreement_html, coding_records
from scripts import codings as coding_files
from scripts.agreement_comparisons import (
    BY_CODE_COLUMNS,
    BY_PAIR_COLUMNS,
    DISAGREEMENT_COLUMNS,
    GRAINS,
    SUMMARY_COLUMNS,
    Corpus,
    Settings,
    Tables,
    compare,
)
from scripts.agreement_quality_gate import (
    GATE_COLUMNS,
    QualityGateError,
    describe_low,
    quality_gate,
)
from scripts.anchored_tables import load_anchored
from scripts.codebook import Codebook, load_codebook
from scripts.codings import CheckedCodings
from scripts.contracts import read_tsv, write_text, write_tsv
from scripts.errors import ConfigurationError
from scripts.rule_jobs import job_log, rule_job

LOGGER = logging.getLogger("qualflow")
#: The tables of rule anchor_codings that the agreement reads, as named inputs of its rule: each
#: a list of paths, one per coder.
ANCHORED_TABLES = ("codings", "transcripts", "problems")


def compared_coders(coders: Sequence[str], coding: dict) -> list[str]:
    """Coders to compare: coding.coders if set, else every coder (a folder with coding files)
    but the consensus."""
    consensus = coding.get("consensus")
    wanted = coding.get("coders") or [coder for coder in coders if coder != consensus]
    if consensus in wanted:
        raise ConfigurationError(
            "config.yaml",
            f"coding.coders names {consensus}, the consensus coding",
            "Compare coders only; the consensus is checked, not compared",
        )
    missing = [coder for coder in wanted if coder not in coders]
    if missing:
        raise ConfigurationError(
            "config.yaml",
            f"coding.coders names {', '.join(missing)}, which has no coding files under the coding folder",
            "Add the coder's files or remove the coder from coding.coders",
        )
    return sorted(wanted)


def run(
    codebook_path: str,
    anchored: Sequence,
    coders: Sequence[str],
    segment_paths: Sequence[str],
    coding: dict,
    settings: Settings,
    corpus_transcripts: Sequence[str],
    log_hint: str,
) -> tuple[Tables, CheckedCodings, Codebook]:
    """Read the re-anchored codings (rule anchor_codings: codings, transcripts and problems
    tables), check them (raise on coding errors, after logging them all) and compare.
    ``coders``: the coder folders with files."""
    if settings.unit not in GRAINS:
        raise ConfigurationError(
            "config.yaml", f"agreement.unit must be one of {', '.join(GRAINS)}", "Fix config.yaml"
        )
    codebook = load_codebook(codebook_path)
    compared = compared_coders(list(coders), coding)
    if len(compared) < 2:
        raise ConfigurationError(
            "config.yaml",
            f"agreement needs at least two coders, found {len(compared)}",
            "Add a second coder's folder under the coding folder (paths.coding)",
        )
    segments = coding_records.load_segments(segment_paths)
    consensus = coding.get("consensus")
    parsed = load_anchored(
        anchored, coders=[*compared, *([consensus] if consensus in coders else [])]
    )
    checked = coding_files.check_codings(
        parsed,
        segments,
        codebook,
        coding["roles"],
        compared,
        consensus,
        corpus_transcripts,
    )
    for problem in checked.problems:
        (LOGGER.error if problem.severity == "error" else LOGGER.warning)("%s", problem.message())
    coding_files.raise_on_errors(checked, log_hint)
    corpus = Corpus(checked, segments, codebook, coding["roles"], settings.unit)
    return compare(corpus, settings), checked, codebook


@rule_job
def agreement(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule agreement: outputs by_code, by_pair, summary, disagreements, problems and report.
    Inputs: the codebook, the coded segments, and the codings, transcripts, problems and
    anchoring tables of rule anchor_codings (a list of each, one per coder; the anchoring tables
    list the codings followed to the text as it is now, and those to re-check). Params: the
    coders with files (``coders``), the transcripts their files mention (``transcripts``) and the settings
    read (``config``: coding.roles, coding.consensus, coding.coders and agreement)."""
    coding = params["config"]["coding"]
    settings = Settings.from_config(params["config"]["agreement"])
    anchored = [list(input[table]) for table in ANCHORED_TABLES]
    with job_log(log) as logger:
        tables, checked, codebook = run(
            input["codebook"],
            anchored,
            params["coders"],
            input["segments"],
            coding,
            settings,
            params["transcripts"],
            log,
        )
        write_tsv(Path(output["by_code"]), tables.by_code, BY_CODE_COLUMNS)
        write_tsv(Path(output["by_pair"]), tables.by_pair, BY_PAIR_COLUMNS)
        write_tsv(Path(output["summary"]), tables.summary, SUMMARY_COLUMNS)
        write_tsv(Path(output["disagreements"]), tables.disagreements, DISAGREEMENT_COLUMNS)
        write_tsv(
            Path(output["problems"]),
            [p.as_row() for p in checked.problems],
            coding_records.PROBLEM_COLUMNS,
        )
        followed = [row for path in input["anchoring"] for row in read_tsv(Path(path))]
        page = agreement_html.render(tables, checked, codebook, settings, coding, followed)
        write_text(Path(output["report"]), page)
        pooled = tables.summary[0]
        logger.info(
            "%d coders, %d transcripts, %d units x %d codes; pooled alpha %s; %d disagreements; %d warnings",
            len(checked.coders),
            pooled["n_transcripts"],
            pooled["n_units"] // max(1, pooled["n_codes"]),
            pooled["n_codes"],
            pooled["krippendorff_alpha"],
            len(tables.disagreements),
            len(checked.warnings),
        )


@rule_job
def agreement_gate(input: dict, output: dict, params: dict, log: str) -> None:
    """Rule agreement_gate: warn about, or fail on, alpha below the configured minimum. Inputs:
    the agreement's summary and by_code tables; output: quality_gate (TSV); params: the settings
    read (``config``: agreement.minimum_alpha, agreement.minimum_alpha_per_code and
    agreement.on_low_alpha)."""
    settings = Settings.from_config(params["config"]["agreement"])
    with job_log(log) as logger:
        rows, low = quality_gate(
            read_tsv(Path(input["summary"])), read_tsv(Path(input["by_code"])), settings
        )
        if low:
            message = describe_low(low, settings)
            if settings.on_low_alpha == "fail":
                raise QualityGateError(
                    input["by_code"],
                    message,
                    "Reconcile these codes (see results/agreement/report.html), or change agreement.minimum_alpha "
                    "or agreement.on_low_alpha in config.yaml",
                )
            logger.warning("%s: %s. See results/agreement/report.html", input["by_code"], message)
        write_tsv(Path(output["quality_gate"]), rows, GATE_COLUMNS)
        logger.info("%d figures checked, %d below the minimum", len(rows), len(low))
