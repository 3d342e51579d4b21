rule qdc_export:
    """The codebook alone as a REFI-QDA codebook (.qdc), for programs that import codebooks."""
    input:
        codebook=CODEBOOK,
    output:
        codebook="results/exchange/codebook.qdc",
    params:
        code=job_code("qdc_export"),
    log:
        "results/logs/qdc_export.log",
    run:
        run_job(rule, input, output, params, log)


rule taguette_codebook:
    """The codebook as a CSV that Taguette's Import codebook reads as it is (tag, description)."""
    input:
        codebook=CODEBOOK,
    output:
        codebook="results/exchange/taguette_codebook.csv",
    params:
        code=job_code("taguette_codebook"),
    log:
        "results/logs/taguette_codebook.log",
    run:
        run_job(rule, input, output, params, log)


rule qdpx_export:
    """A REFI-QDA project for the coders' QDA software (NVivo, ATLAS.ti, MAXQDA, QualCoder):
    de-identified transcripts, codebook, participants; byte-identical when unchanged."""
    input:
        segments=records_of(TRANSCRIPTS, SEGMENTS),
        codebook=CODEBOOK,
        participants=config["paths"]["participants"],
        candidates=records_of(TRANSCRIPTS, *EXCHANGE_CANDIDATES.values()),
    output:
        project="results/exchange/project.qdpx",
    priority: SEGMENTS_FIRST
    params:
        transcript_inputs=all_transcripts(segments=SEGMENTS, **EXCHANGE_CANDIDATES),
        config=config_sections("exchange.suggestions", "participants.attributes"),
        cache=".snakemake/qualflow/qdpx_export",
        code=job_code("qdpx_export"),
    log:
        "results/logs/qdpx_export.log",
    run:
        run_job(rule, input, output, params, log)
