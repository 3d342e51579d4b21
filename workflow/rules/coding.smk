rule anchor_codings:
    """One coder's codings, read once and followed onto the segments as they are now (a name
    listed, a word corrected, sentences cut differently) and onto the codebook's current codes
    (renamed_from, merged_from); what cannot be followed waits for a person (status recheck,
    left out, reported). Its anchoring table lists every coding that is not unchanged."""
    input:
        codebook=CODEBOOK,
        codings=coder_files,
        segments=coder_transcripts("results/segments/{transcript}.tsv"),
        versions=coder_transcripts("results/segments/versions/{transcript}.jsonl"),
    output:
        codings="results/coding/{coder}/codings.tsv",
        transcripts="results/coding/{coder}/transcripts.tsv",
        problems="results/coding/{coder}/problems.tsv",
        anchoring="results/coding/{coder}/anchoring.tsv",
    params:
        coding=config["coding"],
        code=stage_code("anchor_codings", "anchoring", "codings", "codebook"),
    log:
        "results/logs/anchor_codings/{coder}.log",
    run:
        in_worker(
            "scripts.anchor_codings:anchor_codings",
            input.codebook,
            input.codings,
            input.segments,
            input.versions,
            output,
            params.coding,
            log[0],
        )


rule anchoring_ledger:
    """Every coder's codings that are not unchanged, in one table (results/coding/anchoring.tsv)."""
    input:
        anchored(ANCHORED_CODERS, "anchoring"),
    output:
        report(
            ANCHORING_LEDGER,
            caption="../report/anchoring.rst",
            category="Agreement",
        ),
    params:
        code=stage_code("anchor_codings"),
    log:
        "results/logs/anchoring_ledger.log",
    run:
        in_worker("scripts.anchor_codings:ledger", input, output[0], log[0])
