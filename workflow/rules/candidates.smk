rule codebook_terms:
    """Lemmas of the codebook's keywords and exclusion terms, for candidate coding (one job, in a
    spaCy worker that already holds the model)."""
    input:
        codebook=CODEBOOK,
    output:
        "results/candidates/codebook_terms.json",
    params:
        model=config["spacy"]["model"],
        code=stage_code("candidates", "codebook", "deidentify"),
    log:
        "results/logs/codebook_terms.log",
    run:
        in_worker(
            "scripts.candidates:codebook_terms_job",
            input.codebook,
            output[0],
            params.model,
            log[0],
        )


rule candidate_codes:
    """Candidate codes of a transcript's segments: codebook keywords and patterns, negation flagged.
    No spaCy model: the tokens and lemmas come from the deidentify parse."""
    input:
        segments="results/segments/{transcript}.tsv",
        tokens="results/deidentified/{transcript}.tokens.jsonl",
        terms="results/candidates/codebook_terms.json",
        codebook=CODEBOOK,
    output:
        "results/candidates/{transcript}.tsv",
    params:
        roles=config["candidates"]["roles"],
        code=stage_code("candidates", "codebook", "deidentify"),
    log:
        "results/logs/candidates/{transcript}.log",
    run:
        in_worker(
            "scripts.candidates:candidates_job",
            input.segments,
            input.tokens,
            input.terms,
            input.codebook,
            output[0],
            params.roles,
            log[0],
        )


rule learned_candidates:
    """Codes suggested for uncoded segments by a model trained on the final coding."""
    input:
        **anchored_inputs(FINAL_CODERS),
        codebook=CODEBOOK,
        segments=per_transcript("results/segments/{transcript}.tsv"),
    output:
        "results/candidates/learned.tsv",
    params:
        coding=config["coding"],
        candidates=config["candidates"],
        coders=FINAL_CODERS,
        code=stage_code("learned", "anchor_codings", "codings", "codebook"),
    log:
        "results/logs/learned_candidates.log",
    run:
        in_worker(
            "scripts.learned:learned_job",
            input.codebook,
            anchored_paths(input),
            params.coders,
            input.segments,
            output[0],
            params.coding,
            params.candidates,
            log[0],
        )


rule candidate_quality:
    """Precision, recall and F1 of keyword, learned and combined candidates against the final coding."""
    input:
        **anchored_inputs(FINAL_CODERS),
        codebook=CODEBOOK,
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
        coders=FINAL_CODERS,
        code=stage_code("learned", "anchor_codings", "codings", "codebook"),
    log:
        "results/logs/candidate_quality.log",
    run:
        in_worker(
            "scripts.learned:quality_job",
            input.codebook,
            anchored_paths(input),
            params.coders,
            input.segments,
            input.candidates,
            output[0],
            params.coding,
            params.candidates,
            log[0],
        )


if SHEET_CODERS:

    rule coding_sheets:
        """The XLSX coding sheet of each coder: one row per segment, one column per code (blind by
        default); the same sheet for every coder, built once."""
        input:
            codebook=CODEBOOK,
            segments=per_transcript("results/segments/{transcript}.tsv"),
            candidates=sheet_candidates(),
        output:
            expand("results/coding_sheets/{coder}.xlsx", coder=SHEET_CODERS),
        params:
            coding=config["coding"],
            sheets=config["coding_sheets"],
            code=stage_code("coding_sheets", "codebook"),
        log:
            "results/logs/coding_sheets.log",
        run:
            in_worker(
                "scripts.coding_sheets:sheet_job",
                input.codebook,
                input.segments,
                input.candidates,
                output,
                params.coding,
                params.sheets,
                log[0],
            )

    rule coding_sheets_transcript:
        """One transcript's coding sheet for each coder (coding_sheets.per_transcript: true)."""
        input:
            codebook=CODEBOOK,
            segments="results/segments/{transcript}.tsv",
            candidates=transcript_sheet_candidates,
        output:
            expand(
                "results/coding_sheets/{coder}/{{transcript}}.xlsx", coder=SHEET_CODERS
            ),
        params:
            coding=config["coding"],
            sheets=config["coding_sheets"],
            code=stage_code("coding_sheets", "codebook"),
        log:
            "results/logs/coding_sheets/{transcript}.log",
        run:
            in_worker(
                "scripts.coding_sheets:sheet_job",
                input.codebook,
                [input.segments],
                input.candidates,
                output,
                params.coding,
                params.sheets,
                log[0],
            )
