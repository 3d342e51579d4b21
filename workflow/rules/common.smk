# Setup shared by all rules: config validation, the list of transcripts, input functions.
from snakemake.utils import validate

from scripts import deidentify, jobs


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


def stage_code(*modules):
    """A digest of the scripts behind a stage, passed as a param so that editing them reruns its
    jobs (params are a rerun trigger). A digest rather than the files as inputs: Snakemake stats
    every input of every ready job on each scheduling round, which at 1,000s of jobs costs more
    than the jobs themselves."""
    shared = ("errors", "settings", "contracts", "jobs")
    return jobs.code_digest(workflow.basedir, sorted(set(shared + modules)))


def raw_transcript(wildcards):
    return TRANSCRIPTS[wildcards.transcript]


def per_transcript(pattern):
    return [pattern.format(transcript=transcript) for transcript in TRANSCRIPTS]


def final_outputs():
    return [
        *per_transcript("results/segments/{transcript}.tsv"),
        "results/corpus/transcripts.tsv",
        "results/deidentified/audit_summary.tsv",
        "results/deidentified/leak_check.tsv",
    ]
