rule agreement:
    """Inter-coder agreement of the human codings: per code and pooled, all coders and pairs."""
    input:
        **anchored_inputs(AGREEMENT_CODERS),
        codebook=CODEBOOK,
        segments=records_of(CODED_TRANSCRIPTS, SEGMENTS),
    output:
        by_code="results/agreement/by_code.tsv",
        by_pair="results/agreement/by_pair.tsv",
        summary=report(
            "results/agreement/summary.tsv",
            caption="../report/agreement_summary.rst",
            category="Agreement",
        ),
        disagreements="results/agreement/disagreements.tsv",
        problems="results/agreement/coding_problems.tsv",
        report=report(
            "results/agreement/report.html",
            caption="../report/agreement.rst",
            category="Agreement",
        ),
    params:
        transcript_inputs=transcript_files(CODED_TRANSCRIPTS, segments=SEGMENTS),
        coders=CODERS_WITH_FILES,
        # the transcripts the coders' files mention (codings of others are errors): a new, uncoded
        # interview does not rerun agreement
        transcripts=CODED_TRANSCRIPTS,
        config=config_sections(
            "coding.roles", "coding.consensus", "coding.coders", "agreement"
        ),
        code=job_code("agreement"),
    log:
        "results/logs/agreement.log",
    run:
        run_job(rule, input, output, params, log)


rule agreement_gate:
    """Warn, or fail if configured, when Krippendorff's alpha is below agreement.minimum_alpha."""
    input:
        summary="results/agreement/summary.tsv",
        by_code="results/agreement/by_code.tsv",
    output:
        quality_gate="results/agreement/quality_gate.tsv",
    params:
        config=config_sections(
            "agreement.minimum_alpha",
            "agreement.minimum_alpha_per_code",
            "agreement.on_low_alpha",
        ),
        code=job_code("agreement_gate"),
    log:
        "results/logs/agreement_gate.log",
    run:
        run_job(rule, input, output, params, log)
