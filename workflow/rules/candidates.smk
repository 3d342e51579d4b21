rule codebook_terms:
    """Lemmas of the codebook's keywords and exclusion terms, for candidate coding (one job, in a
    spaCy worker that already holds the model)."""
    input:
        codebook=CODEBOOK,
    output:
        terms="results/candidates/codebook_terms.json",
    params:
        model=config["spacy"]["model"],
        code=job_code("codebook_terms"),
    log:
        "results/logs/codebook_terms.log",
    run:
        run_job(rule, input, output, params, log)


for part, transcripts in TRANSCRIPTS_BY_PART.items():

    rule:
        """Candidate codes of transcripts' segments: codebook keywords and patterns, negation
        flagged. No spaCy model: the tokens and lemmas come from the parse."""
        name:
            f"candidate_codes_{part}"
        input:
            segments=part_record("segment", part),
            tokens=part_record("deidentify", part),
            terms="results/candidates/codebook_terms.json",
            codebook=CODEBOOK,
        output:
            record=part_record("candidate_codes", part),
        params:
            part=part,
            transcripts=transcripts,
            transcript_inputs=transcript_files(
                transcripts,
                segments=SEGMENTS,
                tokens=TOKENS,
            ),
            transcript_outputs=transcript_files(transcripts, candidates=CANDIDATES),
            roles=config["candidates"]["roles"],
            code=job_code("candidate_codes"),
        log:
            f"results/logs/candidates/{part}.log",
        resources:
            runtime=part_minutes(transcripts, 0.1),
            mem_mb=1000,
        group:
            f"part_{part}"
        run:
            run_job(rule, input, output, params, log)


rule learned_candidates:
    """Codes suggested for uncoded segments by a model trained on the final coding."""
    input:
        **anchored_inputs(FINAL_CODERS),
        codebook=CODEBOOK,
        segments=records_of(TRANSCRIPTS, SEGMENTS),
    output:
        learned="results/candidates/learned.tsv",
    params:
        transcript_inputs=all_transcripts(segments=SEGMENTS),
        coding=config["coding"],
        candidates=config["candidates"],
        coders=FINAL_CODERS,
        code=job_code("learned_candidates"),
    log:
        "results/logs/learned_candidates.log",
    run:
        run_job(rule, input, output, params, log)


rule candidate_quality:
    """Precision, recall and F1 of keyword, learned and combined candidates against the final coding."""
    input:
        **anchored_inputs(FINAL_CODERS),
        codebook=CODEBOOK,
        segments=records_of(FINAL_TRANSCRIPTS, SEGMENTS),
        candidates=records_of(FINAL_TRANSCRIPTS, CANDIDATES),
    output:
        quality=report(
            "results/candidates/quality.tsv",
            caption="../report/candidate_quality.rst",
            category="Candidate coding",
        ),
    params:
        transcript_inputs=transcript_files(
            FINAL_TRANSCRIPTS, segments=SEGMENTS, candidates=CANDIDATES
        ),
        coding=config["coding"],
        candidates=config["candidates"],
        coders=FINAL_CODERS,
        code=job_code("candidate_quality"),
    log:
        "results/logs/candidate_quality.log",
    run:
        run_job(rule, input, output, params, log)


if SHEET_CODERS and not SHEETS_PER_TRANSCRIPT:

    rule coding_sheets:
        """The XLSX coding sheet of each coder (coding_sheets.per_transcript: false): one row per
        segment of the corpus, one column per code (blind by default); the same for every coder.
        """
        input:
            codebook=CODEBOOK,
            segments=records_of(TRANSCRIPTS, SEGMENTS),
            candidates=records_of(TRANSCRIPTS, *SHEET_CANDIDATES.values()),
        output:
            sheets=expand("results/coding_sheets/{coder}.xlsx", coder=SHEET_CODERS),
        params:
            transcript_inputs=all_transcripts(segments=SEGMENTS, **SHEET_CANDIDATES),
            roles=config["coding"]["roles"],
            sheets=config["coding_sheets"],
            code=job_code("coding_sheets"),
        log:
            "results/logs/coding_sheets.log",
        run:
            run_job(rule, input, output, params, log)


if SHEET_CODERS and SHEETS_PER_TRANSCRIPT:
    for part, transcripts in TRANSCRIPTS_BY_PART.items():

        rule:
            """Each transcript's coding sheet, the same for every coder: one row per segment, one
            column per code (blind by default)."""
            name:
                f"coding_sheets_{part}"
            input:
                codebook=CODEBOOK,
                segments=part_record("segment", part),
                candidates=records_of(transcripts, *SHEET_CANDIDATES.values()),
            output:
                record=part_record("coding_sheets", part),
            params:
                part=part,
                transcripts=transcripts,
                transcript_inputs=transcript_files(
                    transcripts,
                    segments=SEGMENTS,
                    **SHEET_CANDIDATES,
                ),
                transcript_outputs=transcript_files(
                    transcripts,
                    **{
                        coder: f"results/coding_sheets/{coder}/{{transcript}}.xlsx"
                        for coder in SHEET_CODERS
                    },
                ),
                roles=config["coding"]["roles"],
                sheets=config["coding_sheets"],
                code=job_code("coding_sheets"),
            log:
                f"results/logs/coding_sheets/{part}.log",
            resources:
                runtime=part_minutes(transcripts, 0.1),
                mem_mb=1000,
            group:
                f"part_{part}"
            run:
                run_job(rule, input, output, params, log)
