rule qdc_export:
    """The codebook alone as a REFI-QDA codebook (.qdc), for programs that import codebooks."""
    input:
        codebook=CODEBOOK,
    output:
        "results/exchange/codebook.qdc",
    params:
        code=stage_code("refi_qda", "codebook"),
    log:
        "results/logs/qdc_export.log",
    run:
        in_worker("scripts.refi_qda:codebook_job", input.codebook, output[0], log[0])


rule taguette_codebook:
    """The codebook as a CSV that Taguette's Import codebook reads as it is (tag, description)."""
    input:
        codebook=CODEBOOK,
    output:
        "results/exchange/taguette_codebook.csv",
    params:
        code=stage_code("taguette", "codebook"),
    log:
        "results/logs/taguette_codebook.log",
    run:
        in_worker(
            "scripts.taguette:taguette_codebook_job", input.codebook, output[0], log[0]
        )


rule qdpx_export:
    """A REFI-QDA project for the coders' QDA software (NVivo, ATLAS.ti, MAXQDA, QualCoder):
    de-identified transcripts, codebook, participants; byte-identical when unchanged."""
    input:
        segments=per_transcript("results/segments/{transcript}.tsv"),
        codebook=CODEBOOK,
        participants=config["paths"]["participants"],
        candidates=exchange_candidates(),
    output:
        project="results/exchange/project.qdpx",
    params:
        exchange=config["exchange"],
        attributes=config["participants"]["attributes"],
        code=stage_code("refi_qda", "codebook"),
    log:
        "results/logs/qdpx_export.log",
    run:
        in_worker(
            "scripts.refi_qda:export_job",
            input.segments,
            input.codebook,
            input.participants,
            input.candidates,
            output.project,
            params.exchange,
            params.attributes,
            log[0],
        )
