rule segment:
    """Cut de-identified turns into sentence segments with stable IDs and text fingerprints, and
    keep this version of them with the earlier ones (for codings to follow the text)."""
    input:
        transcript="results/deidentified/{transcript}.jsonl",
        identifiers=ancient(IDENTIFIERS),
    output:
        segments="results/segments/{transcript}.tsv",
        versions=update("results/segments/versions/{transcript}.jsonl"),
    params:
        code=stage_code("segment", "identifiers"),
    log:
        "results/logs/segment/{transcript}.log",
    run:
        in_worker(
            "scripts.jobs:segment",
            input.transcript,
            output,
            config,
            input.identifiers,
            log[0],
        )
