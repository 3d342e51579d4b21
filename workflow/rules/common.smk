# Setup shared by all rules: config validation, the list of transcripts, input functions.
from snakemake.utils import validate

from scripts import (
    agreement_report,
    candidates,
    codebook,
    coding_sheets,
    codings,
    deidentify,
    jobs,
    learned,
)


validate(config, "../schemas/config.schema.yaml")

try:
    TRANSCRIPTS = settings.discover_transcripts(config["paths"]["raw"])
    deidentify.load_identifier_list(config["paths"]["identifiers"])
    settings.check_participant_attributes(
        config["paths"]["participants"], config["participants"]["attributes"]
    )
except QualflowError as error:
    raise WorkflowError(str(error)) from None


IDENTIFIERS = config["paths"]["identifiers"]
CODEBOOK = config["paths"]["codebook"]

# Human codings (data/coding/{coder}/): agreement runs when at least two coders are compared.
try:
    CODERS = codings.discover_coders(config["paths"]["coding"])
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
except QualflowError as error:
    raise WorkflowError(str(error)) from None
CODING_FILES = sorted(
    str(path)
    for coder in [*COMPARED_CODERS, config["coding"]["consensus"]]
    for path in CODERS.get(coder, [])
)
# Only the transcripts someone coded are inputs of agreement: a new, uncoded interview does
# not rerun it.
CODED_TRANSCRIPTS = (
    codings.coded_transcripts(
        CODING_FILES, TRANSCRIPTS, cache=".snakemake/qualflow/coded_transcripts.json"
    )
    if AGREEMENT
    else []
)


FINAL_TRANSCRIPTS = (
    codings.coded_transcripts(
        FINAL_FILES, TRANSCRIPTS, cache=".snakemake/qualflow/final_transcripts.json"
    )
    if FINAL
    else []
)
SHEET_CODERS = config["coding_sheets"]["coders"]


def stage_code(*modules):
    """A digest of the scripts behind a stage, passed as a param so that editing them reruns its
    jobs (params are a rerun trigger). A digest rather than the files as inputs: Snakemake stats
    every input of every ready job on each scheduling round, which at 1,000s of jobs costs more
    than the jobs themselves."""
    shared = ("errors", "settings", "contracts", "jobs", "workers")
    return jobs.code_digest(workflow.basedir, sorted(set(shared + modules)))


def parse_processes():
    """spaCy worker processes for this run (called when a job runs: the execution settings are
    not known while the workflow is parsed). Only worth it when jobs are threads of one process.
    """
    setting = config["spacy"]["processes"]
    if setting != "auto":
        return setting
    cores = workflow.cores
    return cores if workflow.use_threads and cores > 1 else 0


def raw_transcript(wildcards):
    return TRANSCRIPTS[wildcards.transcript]


def per_transcript(pattern):
    return [pattern.format(transcript=transcript) for transcript in TRANSCRIPTS]


def coded_segments():
    return [f"results/segments/{transcript}.tsv" for transcript in CODED_TRANSCRIPTS]


def final_segments():
    return [f"results/segments/{transcript}.tsv" for transcript in FINAL_TRANSCRIPTS]


def final_candidates():
    return [f"results/candidates/{transcript}.tsv" for transcript in FINAL_TRANSCRIPTS]


def sheet_candidates():
    if config["coding_sheets"]["suggested"]:
        return per_transcript("results/candidates/{transcript}.tsv")
    return []


AGREEMENT_OUTPUTS = [
    "results/agreement/by_code.tsv",
    "results/agreement/by_pair.tsv",
    "results/agreement/summary.tsv",
    "results/agreement/disagreements.tsv",
    "results/agreement/coding_problems.tsv",
    "results/agreement/report.html",
    "results/agreement/quality_gate.tsv",
]


def checked_outputs():
    """Every output outside results/private/ that holds text: what leak_check reads."""
    return [
        *per_transcript("results/deidentified/{transcript}.jsonl"),
        *per_transcript("results/deidentified/{transcript}.audit.tsv"),
        *per_transcript("results/segments/{transcript}.tsv"),
        "results/deidentified/audit_summary.tsv",
        "results/corpus/transcripts.tsv",
        *per_transcript("results/candidates/{transcript}.tsv"),
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
        *[f"results/coding_sheets/{coder}.xlsx" for coder in SHEET_CODERS],
    ]


def final_outputs():
    return [
        *checked_outputs(),
        "results/deidentified/leak_check.tsv",
        *(["results/agreement/quality_gate.tsv"] if AGREEMENT else []),
    ]
