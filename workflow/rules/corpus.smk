rule corpus_part:
    """The facts of one part's transcripts (a fixed share by ID, as for the leak check): raw
    file SHA-256 and counts, and the de-identification audit rows; what the corpus-level rules
    read instead of a file per transcript."""
    input:
        raw=part_transcripts("{raw}"),
        segments=part_records("segment"),
        audits=part_records("deidentify"),
    output:
        transcripts="results/corpus/parts/{part}.tsv",
        audit="results/corpus/parts/{part}.audit.tsv",
    params:
        transcript_inputs=lambda wildcards: transcript_files(
            TRANSCRIPTS_BY_PART[wildcards.part],
            segments=SEGMENTS,
            audits=AUDIT,
        ),
        transcripts=lambda wildcards: TRANSCRIPTS_BY_PART[wildcards.part],
        code=job_code("corpus_part"),
    log:
        "results/logs/corpus_part/{part}.log",
    run:
        run_job(rule, input, output, params, log)


rule corpus_summary:
    """One row per transcript: format, turns, segments, words, duration, participant attributes."""
    input:
        parts=corpus_parts("results/corpus/parts/{part}.tsv"),
        participants=config["paths"]["participants"],
    output:
        summary="results/corpus/transcripts.tsv",
    params:
        transcripts=sorted(TRANSCRIPTS),
        attributes=config["participants"]["attributes"],
        code=job_code("corpus_summary"),
    log:
        "results/logs/corpus_summary.log",
    run:
        run_job(rule, input, output, params, log)
