rule agreement:
    """Inter-coder agreement of the human codings: per code and pooled, all coders and pairs."""
    input:
        codebook=CODEBOOK,
        codings=CODING_FILES,
        segments=coded_segments(),
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
        coding=config["coding"],
        agreement=config["agreement"],
        code=stage_code(
            "agreement", "agreement_report", "agreement_html", "codings", "codebook"
        ),
    log:
        "results/logs/agreement.log",
    run:
        in_worker(
            "scripts.agreement_report:agreement_job",
            input.codebook,
            input.codings,
            input.segments,
            output,
            params.coding,
            params.agreement,
            list(TRANSCRIPTS),
            log[0],
        )


rule agreement_gate:
    """Warn, or fail if configured, when Krippendorff's alpha is below agreement.minimum_alpha."""
    input:
        summary="results/agreement/summary.tsv",
        by_code="results/agreement/by_code.tsv",
    output:
        "results/agreement/quality_gate.tsv",
    params:
        agreement=config["agreement"],
        code=stage_code("agreement_report"),
    log:
        "results/logs/agreement_gate.log",
    run:
        in_worker(
            "scripts.agreement_report:quality_gate_job",
            input.summary,
            input.by_code,
            output[0],
            params.agreement,
            log[0],
        )
