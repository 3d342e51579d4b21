rule corpus_summary:
    """One row per transcript: format, turns, segments, words, duration, participant attributes."""
    input:
        segments=per_transcript("results/segments/{transcript}.tsv"),
        deidentified=per_transcript("results/deidentified/{transcript}.jsonl"),
        participants=config["paths"]["participants"],
    output:
        "results/corpus/transcripts.tsv",
    params:
        attributes=config["participants"]["attributes"],
        code=stage_code(),
    log:
        "results/logs/corpus_summary.log",
    run:
        in_worker(
            "scripts.jobs:corpus_summary",
            {transcript: str(path) for transcript, path in TRANSCRIPTS.items()},
            input.segments,
            input.deidentified,
            input.participants,
            params.attributes,
            output[0],
            log[0],
        )
