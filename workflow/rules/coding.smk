rule anchor_codings:
    """One coder's codings, read once and followed onto the segments as they are now (a name
    listed, a word corrected, sentences cut differently) and onto the codebook's current codes
    (renamed_from, merged_from); what cannot be followed waits for a person (status recheck,
    left out, reported). Its anchoring table lists every coding that is not unchanged."""
    input:
        codebook=CODEBOOK,
        codings=coder_files,
        segments=coder_records(SEGMENTS),
    output:
        codings="results/coding/{coder}/codings.tsv",
        transcripts="results/coding/{coder}/transcripts.tsv",
        problems="results/coding/{coder}/problems.tsv",
        anchoring="results/coding/{coder}/anchoring.tsv",
    params:
        transcript_inputs=coder_transcripts(
            segments=SEGMENTS, versions=SEGMENT_VERSIONS
        ),
        config=config_sections(
            "coding.qdpx_min_overlap", "coding.anchor_similarity", "coding.on_recheck"
        ),
        code=job_code("anchor_codings"),
    log:
        "results/logs/anchor_codings/{coder}.log",
    run:
        run_job(rule, input, output, params, log)


rule anchoring_ledger:
    """Every coder's codings that are not unchanged, in one table (results/coding/anchoring.tsv)."""
    input:
        anchoring=anchored(ANCHORED_CODERS, "anchoring"),
    output:
        table=report(
            ANCHORING_LEDGER,
            caption="../report/anchoring.rst",
            category="Agreement",
        ),
    params:
        code=job_code("anchoring_ledger"),
    log:
        "results/logs/anchoring_ledger.log",
    run:
        run_job(rule, input, output, params, log)
