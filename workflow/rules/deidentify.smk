for part, transcripts in TRANSCRIPTS_BY_PART.items():

    rule:
        """Parse transcripts' turns with spaCy, once: tokens, sentences, entities (private: raw
        text). A transcript whose text changed is parsed again turn by turn: its unchanged turns
        are not parsed again."""
        name:
            f"parse_{part}"
        input:
            ingested=part_record("ingest", part),
        output:
            record=part_record("parse", part),
        params:
            part=part,
            transcripts=transcripts,
            transcript_inputs=transcript_files(transcripts, ingested=INGESTED),
            transcript_outputs=transcript_files(transcripts, parsed=PARSED),
            spacy=config_sections("spacy.model", "spacy.batch_size")["spacy"],
            code=job_code("parse"),
        log:
            f"results/logs/parse/{part}.log",
        resources:
            runtime=part_minutes(transcripts, 1.0),
            mem_mb=2000,
        priority: SEGMENTS_FIRST
        group:
            f"part_{part}"
        run:
            run_job(rule, input, output, params, log)

    rule:
        """Replace identifiers by placeholders, from the parse (no model runs); the keys go to
        results/private/, counts to the audits, the de-identified turns' tokens to .tokens.jsonl.
        A change of the identifier list works again only on the transcripts whose words an
        added, removed or changed entry has (params: identifiers)."""
        name:
            f"deidentify_{part}"
        input:
            ingested=part_record("ingest", part),
            parsed=part_record("parse", part),
            identifiers=ancient(IDENTIFIERS),
            secret=STUDY_SECRET,
        output:
            record=part_record("deidentify", part),
        params:
            part=part,
            transcripts=transcripts,
            transcript_inputs=transcript_files(
                transcripts,
                ingested=INGESTED,
                parsed=PARSED,
            ),
            transcript_outputs=transcript_files(
                transcripts,
                transcript=DEIDENTIFIED,
                tokens=TOKENS,
                audit=AUDIT,
                key=KEY,
            ),
            identifiers=part_relevance(transcripts, "deidentify"),
            config=config_sections("deidentify", "spacy.model", "spacy.batch_size"),
            code=job_code("deidentify"),
        log:
            f"results/logs/deidentify/{part}.log",
        resources:
            runtime=part_minutes(transcripts, 0.2),
            mem_mb=1000,
        priority: SEGMENTS_FIRST
        group:
            f"part_{part}"
        run:
            run_job(rule, input, output, params, log)


rule audit_summary:
    """Replacements by type and layer over the whole corpus (counts only)."""
    input:
        audits=corpus_parts("results/corpus/parts/{part}.audit.tsv"),
    output:
        summary=report(
            "results/deidentified/audit_summary.tsv",
            caption="../report/audit_summary.rst",
            category="De-identification",
        ),
    params:
        code=job_code("audit_summary"),
    log:
        "results/logs/audit_summary.log",
    run:
        run_job(rule, input, output, params, log)


rule leak_check_part:
    """The leak check of the shareable files of the transcripts in one part of the corpus (a
    fixed share, by transcript ID): a new interview reruns the check of its part only."""
    input:
        checked=part_checked_records,
        identifiers=IDENTIFIERS,
    output:
        table="results/deidentified/leak_check/{part}.tsv",
    params:
        transcript_inputs=part_checked_outputs,
        config=config_sections("deidentify.name_parts"),
        cache=".snakemake/qualflow/leak_check/{part}.json",
        code=job_code("leak_check_part"),
    log:
        "results/logs/leak_check/{part}.log",
    run:
        run_job(rule, input, output, params, log)


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
        table=report(
            "results/deidentified/leak_check.tsv",
            caption="../report/leak_check.rst",
            category="De-identification",
        ),
    params:
        config=config_sections("deidentify.name_parts"),
        cache=".snakemake/qualflow/leak_check.json",
        code=job_code("leak_check"),
    log:
        "results/logs/leak_check.log",
    run:
        run_job(rule, input, output, params, log)
