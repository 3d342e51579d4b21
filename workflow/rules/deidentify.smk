rule parse:
    """Parse a transcript's turns with spaCy, once: tokens, sentences, entities (private: raw
    text). The parses of turns whose text has not changed are kept from the last run
    (results/private/parse_cache/)."""
    input:
        transcript="results/private/ingested/{transcript}.jsonl",
    output:
        "results/private/parsed/{transcript}.spacy",
    params:
        model=config["spacy"]["model"],
        code=stage_code("deidentify", "identifiers", "ingest"),
    log:
        "results/logs/parse/{transcript}.log",
    run:
        in_worker(
            "scripts.jobs:parse",
            input.transcript,
            output[0],
            f"results/private/parse_cache/{wildcards.transcript}.spacy",
            config["spacy"],
            log[0],
        )


rule deidentify:
    """Replace identifiers by placeholders, from the cached parse (no model runs); the key goes to
    results/private/, counts to the audit, the de-identified turns' tokens to .tokens.jsonl. Reruns
    when the identifier list changes only for transcripts whose words an added, removed or
    changed entry has (params: identifiers)."""
    input:
        transcript="results/private/ingested/{transcript}.jsonl",
        parsed="results/private/parsed/{transcript}.spacy",
        identifiers=ancient(IDENTIFIERS),
        secret=STUDY_SECRET,
    output:
        transcript="results/deidentified/{transcript}.jsonl",
        tokens="results/deidentified/{transcript}.tokens.jsonl",
        audit="results/deidentified/{transcript}.audit.tsv",
        key="results/private/keys/{transcript}.json",
    params:
        deidentify=config["deidentify"],
        model=config["spacy"]["model"],
        identifiers=identifier_entries("deidentify"),
        code=stage_code("deidentify", "identifiers", "ingest"),
    log:
        "results/logs/deidentify/{transcript}.log",
    run:
        in_worker(
            "scripts.jobs:deidentify",
            input.transcript,
            input.parsed,
            output,
            config,
            input.identifiers,
            input.secret,
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
        code=stage_code("deidentify", "identifiers"),
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
        code=stage_code("deidentify", "identifiers"),
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
