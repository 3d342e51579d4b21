rule candidate_codes:
    """Candidate codes of a transcript's segments: codebook keywords and patterns, negation flagged."""
    input:
        segments="results/segments/{transcript}.tsv",
        codebook=CODEBOOK,
    output:
        "results/candidates/{transcript}.tsv",
    params:
        model=config["spacy"]["model"],
        roles=config["candidates"]["roles"],
        batch_size=config["spacy"]["batch_size"],
        code=stage_code("candidates", "codebook"),
    log:
        "results/logs/candidates/{transcript}.log",
    run:
        candidates.candidates_job(
            input.segments,
            input.codebook,
            output[0],
            params.model,
            params.roles,
            params.batch_size,
            log[0],
            parse_processes(),
        )


rule learned_candidates:
    """Codes suggested for uncoded segments by a model trained on the final coding."""
    input:
        codebook=CODEBOOK,
        codings=FINAL_FILES,
        segments=per_transcript("results/segments/{transcript}.tsv"),
    output:
        "results/candidates/learned.tsv",
    params:
        coding=config["coding"],
        candidates=config["candidates"],
        code=stage_code("learned", "codings", "codebook"),
    log:
        "results/logs/learned_candidates.log",
    run:
        learned.learned_job(
            input.codebook,
            input.codings,
            input.segments,
            output[0],
            params.coding,
            params.candidates,
            log[0],
        )


rule candidate_quality:
    """Precision, recall and F1 of keyword, learned and combined candidates against the final coding."""
    input:
        codebook=CODEBOOK,
        codings=FINAL_FILES,
        segments=final_segments(),
        candidates=final_candidates(),
    output:
        report(
            "results/candidates/quality.tsv",
            caption="../report/candidate_quality.rst",
            category="Candidate coding",
        ),
    params:
        coding=config["coding"],
        candidates=config["candidates"],
        code=stage_code("learned", "codings", "codebook"),
    log:
        "results/logs/candidate_quality.log",
    run:
        learned.quality_job(
            input.codebook,
            input.codings,
            input.segments,
            input.candidates,
            output[0],
            params.coding,
            params.candidates,
            log[0],
        )


rule coding_sheets:
    """An XLSX coding sheet for a coder: one row per segment, one column per code (blind by default)."""
    input:
        codebook=CODEBOOK,
        segments=per_transcript("results/segments/{transcript}.tsv"),
        candidates=sheet_candidates(),
    output:
        "results/coding_sheets/{coder}.xlsx",
    wildcard_constraints:
        coder="[A-Za-z0-9][A-Za-z0-9_-]*",
    params:
        coding=config["coding"],
        sheets=config["coding_sheets"],
        code=stage_code("coding_sheets", "codebook"),
    log:
        "results/logs/coding_sheets/{coder}.log",
    run:
        coding_sheets.sheet_job(
            input.codebook,
            input.segments,
            input.candidates,
            output[0],
            params.coding,
            params.sheets,
            log[0],
        )
