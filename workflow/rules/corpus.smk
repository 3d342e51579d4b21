rule corpus_part:
    """The facts of one part's transcripts (a fixed share by ID, as for the leak check): raw
    file SHA-256 and counts, and the de-identification audit rows; what the corpus-level rules
    read instead of a file per transcript."""
    input:
        raw=part_transcripts("{raw}"),
        segments=part_transcripts("results/segments/{transcript}.tsv"),
        audits=part_transcripts("results/deidentified/{transcript}.audit.tsv"),
    output:
        transcripts="results/corpus/parts/{part}.tsv",
        audit="results/corpus/parts/{part}.audit.tsv",
    params:
        code=stage_code("provenance"),
    log:
        "results/logs/corpus_part/{part}.log",
    run:
        in_worker(
            "scripts.jobs:corpus_part",
            dict(zip(TRANSCRIPTS_BY_PART[wildcards.part], input.raw)),
            input.segments,
            input.audits,
            output,
            log[0],
        )


rule corpus_summary:
    """One row per transcript: format, turns, segments, words, duration, participant attributes."""
    input:
        parts=corpus_parts("results/corpus/parts/{part}.tsv"),
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
            sorted(TRANSCRIPTS),
            input.parts,
            input.participants,
            params.attributes,
            output[0],
            log[0],
        )
