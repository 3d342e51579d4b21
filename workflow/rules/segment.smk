rule segment:
    """Cut de-identified turns into sentence segments with stable IDs and text fingerprints."""
    input:
        transcript="results/deidentified/{transcript}.jsonl",
    output:
        "results/segments/{transcript}.tsv",
    params:
        code=stage_code("segment"),
    log:
        "results/logs/segment/{transcript}.log",
    run:
        in_worker("scripts.jobs:segment", input.transcript, output[0], log[0])
