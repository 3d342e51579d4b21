rule themes:
    """Theme and code prevalence by participant group, co-occurrence, saturation, exemplar quotes."""
    input:
        **anchored_inputs(FINAL_CODERS),
        codebook=CODEBOOK,
        segments=records_of(FINAL_TRANSCRIPTS, SEGMENTS),
        participants=config["paths"]["participants"],
    output:
        prevalence=report(
            "results/themes/prevalence.tsv",
            caption="../report/prevalence.rst",
            category="Themes",
        ),
        code_by_participant="results/themes/code_by_participant.tsv",
        cooccurrence_segments="results/themes/cooccurrence_segments.tsv",
        cooccurrence_participants="results/themes/cooccurrence_participants.tsv",
        saturation=report(
            "results/themes/saturation.tsv",
            caption="../report/saturation.rst",
            category="Themes",
        ),
        exemplars=report(
            "results/themes/exemplars.tsv",
            caption="../report/exemplars.rst",
            category="Themes",
        ),
        disclosure_audit=report(
            "results/themes/disclosure_audit.tsv",
            caption="../report/disclosure_audit.rst",
            category="Themes",
        ),
        markdown="results/themes/tables.md",
        word=report(
            "results/themes/tables.docx",
            caption="../report/tables.rst",
            category="Themes",
        ),
    params:
        transcript_inputs=transcript_files(FINAL_TRANSCRIPTS, segments=SEGMENTS),
        coding=config["coding"],
        themes=config["themes"],
        attributes=config["participants"]["attributes"],
        coders=FINAL_CODERS,
        # the study's transcripts: those the final coding does not cover are named in a note
        transcripts=list(TRANSCRIPTS),
        code=job_code("themes"),
    log:
        "results/logs/themes.log",
    run:
        run_job(rule, input, output, params, log)


rule theme_figures:
    """Figures of the theme tables and of agreement per code (PNG for the report, SVG to publish)."""
    input:
        unpack(figure_tables),
        codebook=CODEBOOK,
    output:
        **figure_outputs(),
    params:
        attributes=config["participants"]["attributes"],
        minimum_alpha=config["agreement"]["minimum_alpha_per_code"]
        or config["agreement"]["minimum_alpha"],
        code=job_code("theme_figures"),
    log:
        "results/logs/theme_figures.log",
    run:
        # matplotlib is imported by the job, when it runs: it costs a second at every start of Snakemake
        run_job(rule, input, output, params, log)


rule provenance:
    """What the results were made from: input hashes, configuration, code and package versions."""
    input:
        unpack(provenance_inputs),
    output:
        record=report(
            "results/provenance.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    params:
        config=config,
        commit=GIT_COMMIT,
        root=workflow.basedir,
        code=job_code("provenance"),
    log:
        "results/logs/provenance.log",
    run:
        run_job(rule, input, output, params, log)
