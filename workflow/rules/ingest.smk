rule ingest:
    """Read a raw transcript (.txt, .docx, .vtt, .srt) into normalized turns (private: raw text)."""
    input:
        transcript=raw_transcript,
        identifiers=IDENTIFIERS,
    output:
        "results/private/ingested/{transcript}.jsonl",
    params:
        speakers=config["speakers"],
        code=stage_code("ingest", "deidentify"),
    log:
        "results/logs/ingest/{transcript}.log",
    run:
        in_worker(
            "scripts.jobs:ingest",
            input.transcript,
            output[0],
            config,
            input.identifiers,
            log[0],
            wildcards.transcript,
        )
