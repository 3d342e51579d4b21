rule qdpx_export:
    """A REFI-QDA project and codebook for the coders' QDA software (NVivo, ATLAS.ti, MAXQDA,
    QualCoder): de-identified transcripts, codebook, participants; byte-identical when unchanged."""
    input:
        segments=per_transcript("results/segments/{transcript}.tsv"),
        codebook=CODEBOOK,
        participants=config["paths"]["participants"],
        candidates=exchange_candidates(),
    output:
        project="results/exchange/project.qdpx",
        codebook="results/exchange/codebook.qdc",
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
            output.codebook,
            params.exchange,
            params.attributes,
            log[0],
        )
