# Setup shared by all rules: config validation, the list of transcripts, input functions.
import math
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from scripts import (
    parts,
    rule_jobs,
    agreement_report,
    codebook,
    coder_folders,
    identifier_relevance,
    identifiers,
    workflow_run,
    learned,
    provenance,
    themes,
    workers,
)


validate(config, "../schemas/config.schema.yaml")

IDENTIFIERS = config["paths"]["identifiers"]
STUDY_SECRET = config["paths"]["study_secret"]

try:
    TRANSCRIPTS = settings.discover_transcripts(config["paths"]["raw"])
    identifiers.load_identifier_list(IDENTIFIERS)
    settings.check_participant_attributes(
        config["paths"]["participants"], config["participants"]["attributes"]
    )
    # Created by the first run (scripts/identifiers.py); later, a missing secret is an error.
    if identifiers.ensure_study_secret(STUDY_SECRET, "results/private/keys"):
        logger.warning(
            f"qualflow: created the study secret {STUDY_SECRET}: keep it private and back it "
            "up with results/private/keys/ (it keys every hashed placeholder)"
        )
    elif identifiers.is_demo_secret(STUDY_SECRET):
        logger.info(
            f"qualflow: {STUDY_SECRET} is the demo study's public secret: for synthetic data "
            "only (delete it before a real study's first run)"
        )
    # Which entries of the identifier list each transcript depends on: a change of the list
    # reruns ingest and deidentify only for the transcripts it touches (worked out when a job's
    # params are first asked for: part_relevance).
    RELEVANCE = identifier_relevance.RelevanceIndex(
        TRANSCRIPTS,
        IDENTIFIERS,
        config["deidentify"]["name_parts"],
        ".snakemake/qualflow/relevance",
        identifiers.load_study_secret(STUDY_SECRET),
    )
except QualflowError as error:
    raise WorkflowError(str(error)) from None
CODEBOOK = config["paths"]["codebook"]

# Human codings (data/coding/{coder}/): agreement runs when at least two coders are compared.
try:
    CODERS = coder_folders.discover_coders(config["paths"]["coding"])
    COMPARED_CODERS = agreement_report.compared_coders(
        [coder for coder, files in CODERS.items() if files], config["coding"]
    )
    AGREEMENT = len(COMPARED_CODERS) >= 2
    # The final coding (coding.final): what learned suggestions train on and quality is
    # measured against; those two stages run only when it has files.
    FINAL_FILES = sorted(
        str(path)
        for coder in learned.final_coders(config["coding"], COMPARED_CODERS)
        for path in CODERS.get(coder, [])
    )
    FINAL = bool(FINAL_FILES)
    codebook.load_codebook(CODEBOOK)
    if FINAL:
        themes.check_config(
            config["themes"],
            config["participants"]["attributes"],
            config["paths"]["participants"],
        )
except QualflowError as error:
    raise WorkflowError(str(error)) from None
CODERS_WITH_FILES = sorted(coder for coder, files in CODERS.items() if files)
CONSENSUS = config["coding"]["consensus"]
# The coders whose codings agreement reads (the compared ones and the consensus) and those of
# the final coding (themes, quotes, learned suggestions, candidate quality).
AGREEMENT_CODERS = (
    [*COMPARED_CODERS, *([CONSENSUS] if CONSENSUS in CODERS_WITH_FILES else [])]
    if AGREEMENT
    else []
)
FINAL_CODERS = [
    coder
    for coder in learned.final_coders(config["coding"], COMPARED_CODERS)
    if coder in CODERS_WITH_FILES
]
# Each coder's codings are read once and followed to the segments as they are now (rule
# anchor_codings, one job per coder: editing one coder's file reruns that coder's job only).
ANCHORED_CODERS = sorted(set(AGREEMENT_CODERS) | set(FINAL_CODERS))
# The transcripts each coder's files mention: a new, uncoded interview reruns none of this.
CODER_TRANSCRIPTS = {
    coder: coder_folders.coded_transcripts(
        CODERS[coder],
        TRANSCRIPTS,
        cache=f".snakemake/qualflow/coded_transcripts/{coder}.json",
    )
    for coder in ANCHORED_CODERS
}
CODED_TRANSCRIPTS = sorted(
    {t for coder in AGREEMENT_CODERS for t in CODER_TRANSCRIPTS[coder]}
)
FINAL_TRANSCRIPTS = sorted(
    {t for coder in FINAL_CODERS for t in CODER_TRANSCRIPTS[coder]}
)
ANCHORED_TABLES = ("codings", "transcripts", "problems", "anchoring")
ANCHORING_LEDGER = "results/coding/anchoring.tsv"


def anchored(coders, table):
    """Rule anchor_codings's table (codings, transcripts, problems, anchoring) of each coder."""
    return [f"results/coding/{coder}/{table}.tsv" for coder in coders]


def anchored_inputs(coders):
    """The anchored tables of these coders, as named inputs of the rules that count codings."""
    return {table: anchored(coders, table) for table in ANCHORED_TABLES}


def coder_files(wildcards):
    return [str(path) for path in CODERS[wildcards.coder]]


def coder_records(*patterns):
    """An input function: the part records behind the patterns' files ({transcript}) of the
    transcripts the job's coder mentions."""

    def records(wildcards):
        return records_of(CODER_TRANSCRIPTS[wildcards.coder], *patterns)

    return records


def coder_transcripts(**patterns):
    """A params function: each pattern ({transcript}) for each transcript the job's coder
    mentions, by name (transcript_inputs)."""

    def files(wildcards):
        return transcript_files(CODER_TRANSCRIPTS[wildcards.coder], **patterns)

    return files


SHEET_CODERS = config["coding_sheets"]["coders"]
# One workbook per coder, or (large studies) one per coder and transcript, so that a new
# interview adds its own sheets instead of rewriting a corpus-wide workbook.
SHEETS_PER_TRANSCRIPT = config["coding_sheets"]["per_transcript"]
# The REFI-QDA project for the coders' QDA software (exchange.smk), when exchange.qdpx is on.
EXCHANGE_OUTPUTS = (
    ["results/exchange/project.qdpx", "results/exchange/codebook.qdc"]
    if config["exchange"]["qdpx"]
    else []
)


# What workflow_code shows and depends on: the .smk files and the modules of scripts/.
RULE_FILES = sorted(
    str(path) for path in Path(workflow.basedir, "workflow", "rules").glob("*.smk")
)
WORKFLOW_MODULES = sorted(
    path.stem
    for path in Path(workflow.basedir, "scripts").glob("*.py")
    if path.stem != "__init__"
)


# The job function of each rule (scripts/rule_jobs.py), found in the scripts' source.
SCRIPTS = Path(workflow.basedir, "scripts")
JOBS = rule_jobs.find_jobs(SCRIPTS, ".snakemake/qualflow/rule_jobs.json")


def job_code(rule):
    """The rule's job function's code and the code it imports, as a params digest: editing it
    reruns the rule's jobs (params are a rerun trigger). A digest rather than the files as
    inputs: Snakemake stats every input of every ready job on each scheduling round, which at
    1,000s of jobs costs more than the jobs themselves. A rule without its job function stops the
    workflow here, while it is parsed."""
    try:
        job = rule_jobs.job_for(JOBS, rule)
    except QualflowError as error:
        raise WorkflowError(str(error)) from None
    return rule_jobs.code_digest(SCRIPTS, rule_jobs.modules_behind(SCRIPTS, job.module))


def run_job(rule, input, output, params, log):
    """Run a rule's job function with its named input, output, params and log, in one of this
    run's worker processes (scripts/workers.py): the Snakemake process only schedules, the jobs'
    Python work runs on every core, and each worker loads the spaCy model once. In the job's own
    thread where there are no workers (a cluster job, or jobs not run as threads).

    Transcripts' files are read and made through part records (transcript_files): the job
    function gets the files themselves, by the same names, from params transcript_inputs and
    transcript_outputs; a part job's record is written once its files are made."""
    named_params = _named(params)
    inputs = {**_named(input), **named_params.get("transcript_inputs", {})}
    made = named_params.get("transcript_outputs")
    if made is not None:
        parts.remove_files(made)
    workers.call(
        worker_processes(),
        rule_jobs.job_for(JOBS, rule).target,
        inputs,
        made if made is not None else _named(output),
        named_params,
        log[0],
    )
    if made is not None:
        parts.write_record(output.record, named_params["transcripts"], made)


def _named(values):
    """A rule's named inputs, outputs or params (Snakemake's Namedlist) as a plain dict."""
    return {name: value for name, value in values.items()}


def check_rule_jobs(rules):
    """Every rule reaches its job function by name, with named inputs and outputs and one log
    (scripts/rule_jobs.py): checked once the rules are read, before anything runs."""
    problems = rule_jobs.rule_problems(rules, job_code)
    if problems:
        raise WorkflowError("\n".join(problems))


def worker_processes():
    """Worker processes for this run (called when a job runs: the execution settings are not
    known while the workflow is parsed). Only worth it when jobs are threads of one process.
    """
    setting = config["spacy"]["processes"]
    if setting != "auto":
        return setting
    cores = workflow.cores
    # A cluster job (remote execution) does its one job itself: it may see every CPU of a node it
    # shares, and a pool there would only cost model loads.
    if workflow.remote_exec:
        return 0
    return cores if workflow.use_threads and cores > 1 else 0


def load_model_early(wildcards):
    """An input function of rule all that adds no input. Snakemake calls it first when it builds
    the DAG of a run: if transcripts wait to be parsed (new or changed raw files), the run's
    workers start now and load the spaCy model while the DAG is built, rather than after it, on
    the way of the first transcript. Not in dry runs, --touch, reports or cluster runs (where
    the jobs' own processes parse)."""
    if (
        workflow.executor_plugin is None
        or workflow.dryrun
        or workflow.touch
        or not workflow.local_exec
    ):
        return []
    if workflow_run.transcripts_to_parse(TRANSCRIPTS, PARSED):
        workers.start(
            worker_processes(),
            "scripts.parse:preload_pipeline",
            config["spacy"]["model"],
        )
    return []


# The jobs that make the transcripts' segments (ingest, parse, deidentify, segment) and the
# REFI-QDA project, which reads every transcript's segments, run before the other ready jobs
# (candidate codes, coding sheets, the leak check's parts): after new interviews the project is
# made while those run, not after them.
SEGMENTS_FIRST = 10


# A transcript's files are not Snakemake's inputs and outputs one by one: the part job that makes
# them declares one output, its record (scripts/parts.py says why), and a job that reads them has
# the records of their parts as inputs and the files themselves in params (transcript_inputs).
PART_RECORD = "results/parts/{stage}/{part}.tsv"
# Each kind of transcript file, and the stage whose part jobs make it.
INGESTED = "results/private/ingested/{transcript}.jsonl"
PARSED = "results/private/parsed/{transcript}.spacy"
DEIDENTIFIED = "results/deidentified/{transcript}.jsonl"
TOKENS = "results/deidentified/{transcript}.tokens.jsonl"
AUDIT = "results/deidentified/{transcript}.audit.tsv"
KEY = "results/private/keys/{transcript}.json"
SEGMENTS = "results/segments/{transcript}.tsv"
SEGMENT_VERSIONS = "results/segments/versions/{transcript}.jsonl"
CANDIDATES = "results/candidates/{transcript}.tsv"
MADE_BY = {
    INGESTED: "ingest",
    PARSED: "parse",
    DEIDENTIFIED: "deidentify",
    TOKENS: "deidentify",
    AUDIT: "deidentify",
    KEY: "deidentify",
    SEGMENTS: "segment",
    SEGMENT_VERSIONS: "segment",
    CANDIDATES: "candidate_codes",
}
PART_STAGES = (
    "ingest",
    "parse",
    "deidentify",
    "segment",
    "candidate_codes",
    "coding_sheets",
)


def part_record(stage, part):
    """The record of a stage's part job: its one declared output."""
    return PART_RECORD.format(stage=stage, part=part)


def transcript_files(transcripts, **patterns):
    """Each pattern ({transcript}) for each of the transcripts, by name: a rule's
    transcript_inputs or transcript_outputs (params), the files its job function reads or makes.
    """
    return {
        name: [pattern.format(transcript=transcript) for transcript in transcripts]
        for name, pattern in patterns.items()
    }


def records_of(transcripts, *patterns):
    """The part records (inputs) behind each pattern's file of each of the transcripts."""
    return sorted(
        {
            part_record(MADE_BY[pattern], parts.part_of(transcript))
            for pattern in patterns
            for transcript in transcripts
        }
    )


def part_relevance(transcripts, stage):
    """For a part rule's params: each transcript's digest of the identifier list's entries that
    its ingest or deidentify work depends on (scripts/identifier_relevance.py), worked out when
    Snakemake first reads the value (to check a job whose outputs are there, or to run one), so
    a new study's job graph is built without reading every raw file."""

    def relevance():
        found = RELEVANCE.of(transcripts)
        return {
            transcript: getattr(found[transcript], stage) for transcript in transcripts
        }

    return identifier_relevance.DeferredDigests(relevance)


def config_sections(*keys):
    """The settings a stage depends on, from config.yaml by key ("spacy.model"), as a params
    value: a change of any other setting does not rerun the stage."""
    chosen = {}
    for key in keys:
        section, _, name = key.partition(".")
        if name:
            chosen.setdefault(section, {})[name] = config[section][name]
        else:
            chosen[section] = config[section]
    return chosen


def part_minutes(transcripts, per_transcript):
    """The runtime (minutes) to ask a cluster for a part job (at least one)."""
    return max(1, math.ceil(len(transcripts) * per_transcript))


# Suggested codes go into the coding sheets when coding_sheets.suggested is on, into the
# REFI-QDA project when exchange.suggestions is on.
SHEET_CANDIDATES = (
    {"candidates": CANDIDATES} if config["coding_sheets"]["suggested"] else {}
)
EXCHANGE_CANDIDATES = (
    {"candidates": CANDIDATES} if config["exchange"]["suggestions"] else {}
)


def all_transcripts(**patterns):
    """A corpus-level rule's transcript_inputs: each pattern for every transcript."""
    return transcript_files(list(TRANSCRIPTS), **patterns)


AGREEMENT_OUTPUTS = [
    "results/agreement/by_code.tsv",
    "results/agreement/by_pair.tsv",
    "results/agreement/summary.tsv",
    "results/agreement/disagreements.tsv",
    "results/agreement/coding_problems.tsv",
    "results/agreement/report.html",
    "results/agreement/quality_gate.tsv",
]


# A transcript's shareable outputs.
TRANSCRIPT_CHECKED = [
    DEIDENTIFIED,
    TOKENS,
    AUDIT,
    SEGMENTS,
    SEGMENT_VERSIONS,
    CANDIDATES,
    *(
        [f"results/coding_sheets/{coder}/{{transcript}}.xlsx" for coder in SHEET_CODERS]
        if SHEETS_PER_TRANSCRIPT
        else []
    ),
]


# The transcripts in parts, each a fixed share of them by ID: the leak check reads their files
# part by part, and the corpus-level rules read one table per part (rule corpus_part), not a
# file per transcript, and the per-transcript stages run a part per job (scripts/parts.py says why).
TRANSCRIPTS_BY_PART = parts.by_part(TRANSCRIPTS)


# The stages with a part job per part (coding sheets: when they are written per transcript).
RECORDED_STAGES = [
    stage
    for stage in PART_STAGES
    if stage != "coding_sheets" or (SHEET_CODERS and SHEETS_PER_TRANSCRIPT)
]


def part_checked_records(wildcards):
    """The inputs of one part's leak check: the records of its part jobs, and the part's corpus
    tables (rule corpus_part)."""
    return [
        *(part_record(stage, wildcards.part) for stage in RECORDED_STAGES),
        f"results/corpus/parts/{wildcards.part}.tsv",
        f"results/corpus/parts/{wildcards.part}.audit.tsv",
    ]


def part_checked_outputs(wildcards):
    """What one part's leak check reads (transcript_inputs): the shareable files of the part's
    transcripts and its inputs (part_checked_records)."""
    return {
        "checked": [
            *(
                pattern.format(transcript=transcript)
                for transcript in TRANSCRIPTS_BY_PART[wildcards.part]
                for pattern in TRANSCRIPT_CHECKED
            ),
            *part_checked_records(wildcards),
        ]
    }


def part_records(stage):
    """An input function: the record of the stage's part job for the job's part."""

    def record(wildcards):
        return part_record(stage, wildcards.part)

    return record


def part_transcripts(pattern):
    """An input function: pattern for each transcript of the job's part ({raw}: its raw file)."""

    def files(wildcards):
        return [
            pattern.format(transcript=transcript, raw=TRANSCRIPTS[transcript])
            for transcript in TRANSCRIPTS_BY_PART[wildcards.part]
        ]

    return files


def corpus_parts(pattern):
    """pattern ({part}) for every part of the corpus: the corpus-level rules' inputs."""
    return [pattern.format(part=part) for part in TRANSCRIPTS_BY_PART]


def corpus_checked_outputs():
    """The corpus-level shareable outputs."""
    return [
        "results/deidentified/audit_summary.tsv",
        "results/corpus/transcripts.tsv",
        "results/candidates/codebook_terms.json",
        *(
            [
                *(
                    path
                    for table in ANCHORED_TABLES
                    for path in anchored(ANCHORED_CODERS, table)
                ),
                ANCHORING_LEDGER,
            ]
            if ANCHORED_CODERS
            else []
        ),
        *(
            [
                path
                for path in AGREEMENT_OUTPUTS
                if not path.endswith("quality_gate.tsv")
            ]
            if AGREEMENT
            else []
        ),
        *(
            ["results/candidates/learned.tsv", "results/candidates/quality.tsv"]
            if FINAL
            else []
        ),
        *(
            []
            if SHEETS_PER_TRANSCRIPT
            else [f"results/coding_sheets/{coder}.xlsx" for coder in SHEET_CODERS]
        ),
        *EXCHANGE_OUTPUTS,
        "results/exchange/taguette_codebook.csv",
        "results/workflow_code.html",
        *(THEME_OUTPUTS if FINAL else []),
        # The SVG of each figure carries its text; the PNG twin holds only pixels (searching its
        # compressed bytes for names would find chance matches, not leaks).
        *([f"results/figures/{name}.svg" for name in FIGURES] if FINAL else []),
        "results/provenance.json",
    ]


THEME_TABLES = {
    "prevalence": "results/themes/prevalence.tsv",
    "code_by_participant": "results/themes/code_by_participant.tsv",
    "cooccurrence_segments": "results/themes/cooccurrence_segments.tsv",
    "cooccurrence_participants": "results/themes/cooccurrence_participants.tsv",
    "saturation": "results/themes/saturation.tsv",
}
THEME_OUTPUTS = [
    *THEME_TABLES.values(),
    "results/themes/exemplars.tsv",
    "results/themes/disclosure_audit.tsv",
    "results/themes/tables.md",
    "results/themes/tables.docx",
]
# Figures: PNG (in the report) and SVG (for publication) of each.
FIGURES = [
    *[
        f"prevalence_by_{attribute}"
        for attribute in config["participants"]["attributes"]
    ],
    "code_by_participant",
    "cooccurrence_segments",
    "saturation",
    *(["agreement_by_code"] if AGREEMENT else []),
]
GIT_COMMIT = provenance.git_commit(workflow.basedir)


def figure_tables(wildcards):
    tables = {
        name: path
        for name, path in THEME_TABLES.items()
        if name != "cooccurrence_participants"
    }
    if AGREEMENT:
        tables["agreement"] = "results/agreement/by_code.tsv"
    return tables


def figure_outputs():
    outputs = {}
    for name in FIGURES:
        caption = "prevalence" if name.startswith("prevalence_by_") else name
        outputs[f"{name}_png"] = report(
            f"results/figures/{name}.png",
            caption=f"../report/figure_{caption}.rst",
            category="Figures",
        )
        outputs[f"{name}_svg"] = f"results/figures/{name}.svg"
    return outputs


def provenance_inputs(wildcards):
    """The inputs provenance.json lists; the raw transcripts through the corpus parts' tables,
    which hold their SHA-256."""
    return {
        "parts": corpus_parts("results/corpus/parts/{part}.tsv"),
        "participants": config["paths"]["participants"],
        "codebook": CODEBOOK,
        "identifiers": IDENTIFIERS,
        "secret": STUDY_SECRET,
        "codings": sorted(str(path) for files in CODERS.values() for path in files),
    }


def final_outputs():
    """What `snakemake` makes: the leak check needs every output outside results/private/ (its
    parts the transcripts' files, itself corpus_checked_outputs()), and those need the rest.
    Named through the leak check rather than one by one: a target job with thousands of inputs
    costs seconds at every run of a large study.
    """
    return [
        "results/deidentified/leak_check.tsv",
        *([f"results/figures/{name}.png" for name in FIGURES] if FINAL else []),
        *(["results/agreement/quality_gate.tsv"] if AGREEMENT else []),
    ]
