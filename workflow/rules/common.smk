# Setup shared by all rules: config validation, the list of transcripts, input functions.
from snakemake.utils import validate

from scripts import agreement_report, codebook, codings, deidentify, jobs


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
    if AGREEMENT:
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


def stage_code(*modules):
    """A digest of the scripts behind a stage, passed as a param so that editing them reruns its
    jobs (params are a rerun trigger). A digest rather than the files as inputs: Snakemake stats
    every input of every ready job on each scheduling round, which at 1,000s of jobs costs more
    than the jobs themselves."""
    shared = ("errors", "settings", "contracts", "jobs")
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


AGREEMENT_OUTPUTS = [
    "results/agreement/by_code.tsv",
    "results/agreement/by_pair.tsv",
    "results/agreement/summary.tsv",
    "results/agreement/disagreements.tsv",
    "results/agreement/coding_problems.tsv",
    "results/agreement/report.html",
    "results/agreement/quality_gate.tsv",
]


def final_outputs():
    return [
        *per_transcript("results/segments/{transcript}.tsv"),
        "results/corpus/transcripts.tsv",
        "results/deidentified/audit_summary.tsv",
        "results/deidentified/leak_check.tsv",
        *(AGREEMENT_OUTPUTS if AGREEMENT else []),
    ]
