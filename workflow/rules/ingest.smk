rule ingest:
    """Read a raw transcript (.txt, .docx, .vtt, .srt) into normalized turns (private: raw text)."""
    input:
        transcript=raw_transcript,
        identifiers=IDENTIFIERS,
        code=stage_code("ingest", "deidentify"),
    output:
        "results/private/ingested/{transcript}.jsonl",
    params:
        speakers=config["speakers"],
    log:
        "results/logs/ingest/{transcript}.log",
    run:
        jobs.ingest(
            input.transcript,
            output[0],
            config,
            input.identifiers,
            log[0],
            wildcards.transcript,
        )
