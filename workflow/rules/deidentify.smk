rule deidentify:
    """Replace identifiers by placeholders; the key goes to results/private/, counts to the audit,
    the de-identified turns' tokens (with lemmas, from the same parse) to .tokens.jsonl."""
    input:
        transcript="results/private/ingested/{transcript}.jsonl",
        identifiers=IDENTIFIERS,
    output:
        transcript="results/deidentified/{transcript}.jsonl",
        tokens="results/deidentified/{transcript}.tokens.jsonl",
        audit="results/deidentified/{transcript}.audit.tsv",
        key="results/private/keys/{transcript}.json",
    params:
        deidentify=config["deidentify"],
        spacy=config["spacy"],
        code=stage_code("deidentify", "ingest"),
    log:
        "results/logs/deidentify/{transcript}.log",
    run:
        in_worker(
            "scripts.jobs:deidentify",
            input.transcript,
            output,
            config,
            input.identifiers,
            log[0],
        )


rule audit_summary:
    """Replacements by type and layer over the whole corpus (counts only)."""
    input:
        audits=corpus_parts("results/corpus/parts/{part}.audit.tsv"),
    output:
        report(
            "results/deidentified/audit_summary.tsv",
            caption="../report/audit_summary.rst",
            category="De-identification",
        ),
    params:
        code=stage_code(),
    log:
        "results/logs/audit_summary.log",
    run:
        in_worker("scripts.jobs:audit_summary", input.audits, output[0], log[0])


rule leak_check_part:
    """The leak check of the shareable files of the transcripts in one part of the corpus (a
    fixed share, by transcript ID): a new interview reruns the check of its part only."""
    input:
        checked=part_checked_outputs,
        identifiers=IDENTIFIERS,
    output:
        "results/deidentified/leak_check/{part}.tsv",
    params:
        code=stage_code("deidentify"),
    log:
        "results/logs/leak_check/{part}.log",
    run:
        in_worker(
            "scripts.jobs:leak_check",
            input.checked,
            config,
            input.identifiers,
            output[0],
            log[0],
            f".snakemake/qualflow/leak_check/{wildcards.part}.json",
        )


rule leak_check:
    """Fail the workflow if any entry of the identifier list survives in any output outside
    results/private/: the corpus-level files here, the transcripts' files in the parts. Contents
    found clean before (by SHA-256, with the same list) are not searched again."""
    input:
        parts=expand(
            "results/deidentified/leak_check/{part}.tsv",
            part=list(TRANSCRIPTS_BY_PART),
        ),
        checked=corpus_checked_outputs(),
        identifiers=IDENTIFIERS,
    output:
        report(
            "results/deidentified/leak_check.tsv",
            caption="../report/leak_check.rst",
            category="De-identification",
        ),
    params:
        code=stage_code("deidentify"),
    log:
        "results/logs/leak_check.log",
    run:
        in_worker(
            "scripts.jobs:leak_check",
            input.checked,
            config,
            input.identifiers,
            output[0],
            log[0],
            ".snakemake/qualflow/leak_check.json",
            input.parts,
        )
