rule ingest:
    """Read a raw transcript (.txt, .docx, .vtt, .srt) into normalized turns (private: raw text).
    Named speakers get their role from the identifier list: the job reruns when a listed person
    whose words the transcript has is added, removed or changed (params: identifiers)."""
    input:
        transcript=raw_transcript,
        identifiers=ancient(IDENTIFIERS),
    output:
        "results/private/ingested/{transcript}.jsonl",
    params:
        speakers=config["speakers"],
        identifiers=identifier_entries("ingest"),
        code=stage_code("ingest", "identifiers"),
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
