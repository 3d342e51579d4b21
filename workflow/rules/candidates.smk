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


for part, transcripts in TRANSCRIPTS_BY_PART.items():

    rule:
        """Candidate codes of transcripts' segments: codebook keywords and patterns, negation
        flagged. No spaCy model: the tokens and lemmas come from the parse."""
        name:
            f"candidate_codes_{part}"
        input:
            segments=of_part(transcripts, "results/segments/{transcript}.tsv"),
            tokens=of_part(
                transcripts, "results/deidentified/{transcript}.tokens.jsonl"
            ),
            terms="results/candidates/codebook_terms.json",
            codebook=CODEBOOK,
        output:
            candidates=of_part(transcripts, "results/candidates/{transcript}.tsv"),
        params:
            part=part,
            transcripts=transcripts,
            roles=config["candidates"]["roles"],
            code=stage_code("candidates", "codebook", "deidentify", "parts"),
        log:
            f"results/logs/candidates/{part}.log",
        resources:
            runtime=part_minutes(transcripts, 0.1),
            mem_mb=1000,
        group:
            f"part_{part}"
        run:
            in_worker(
                "scripts.candidates:candidates_part", input, output, params, log[0]
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


if SHEET_CODERS and not SHEETS_PER_TRANSCRIPT:

    rule coding_sheets:
        """The XLSX coding sheet of each coder (coding_sheets.per_transcript: false): one row per
        segment of the corpus, one column per code (blind by default); the same for every coder.
        """
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


if SHEET_CODERS and SHEETS_PER_TRANSCRIPT:
    for part, transcripts in TRANSCRIPTS_BY_PART.items():

        rule:
            """Each transcript's coding sheet, the same for every coder: one row per segment, one
            column per code (blind by default)."""
            name:
                f"coding_sheets_{part}"
            input:
                codebook=CODEBOOK,
                segments=of_part(transcripts, "results/segments/{transcript}.tsv"),
                candidates=(
                    of_part(transcripts, "results/candidates/{transcript}.tsv")
                    if config["coding_sheets"]["suggested"]
                    else []
                ),
            output:
                **{
                    coder: of_part(
                        transcripts,
                        f"results/coding_sheets/{coder}/{{transcript}}.xlsx",
                    )
                    for coder in SHEET_CODERS
                },
            params:
                part=part,
                transcripts=transcripts,
                coding=config["coding"],
                sheets=config["coding_sheets"],
                code=stage_code("coding_sheets", "codebook", "parts"),
            log:
                f"results/logs/coding_sheets/{part}.log",
            resources:
                runtime=part_minutes(transcripts, 0.1),
                mem_mb=1000,
            group:
                f"part_{part}"
            run:
                in_worker(
                    "scripts.coding_sheets:sheets_part",
                    input,
                    output,
                    params,
                    log[0],
                )
