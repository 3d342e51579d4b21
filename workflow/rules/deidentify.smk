rule deidentify:
    """Replace identifiers by placeholders; the key goes to results/private/, counts to the audit."""
    input:
        transcript="results/private/ingested/{transcript}.jsonl",
        identifiers=IDENTIFIERS,
    output:
        transcript="results/deidentified/{transcript}.jsonl",
        audit="results/deidentified/{transcript}.audit.tsv",
        key="results/private/keys/{transcript}.json",
    params:
        deidentify=config["deidentify"],
        spacy=config["spacy"],
        code=stage_code("deidentify", "ingest"),
    log:
        "results/logs/deidentify/{transcript}.log",
    run:
        jobs.deidentify(
            input.transcript,
            output,
            config,
            input.identifiers,
            log[0],
            parse_processes(),
        )


rule audit_summary:
    """Replacements by type and layer over the whole corpus (counts only)."""
    input:
        audits=per_transcript("results/deidentified/{transcript}.audit.tsv"),
    output:
        "results/deidentified/audit_summary.tsv",
    params:
        code=stage_code(),
    log:
        "results/logs/audit_summary.log",
    run:
        jobs.audit_summary(input.audits, output[0], log[0])


rule leak_check:
    """Fail the workflow if any entry of the identifier list survives in any output outside
    results/private/ (transcripts, segments, candidates, agreement tables and report, sheets)."""
    input:
        checked=checked_outputs(),
        identifiers=IDENTIFIERS,
    output:
        "results/deidentified/leak_check.tsv",
    params:
        code=stage_code("deidentify"),
    log:
        "results/logs/leak_check.log",
    run:
        jobs.leak_check(input.checked, config, input.identifiers, output[0], log[0])
