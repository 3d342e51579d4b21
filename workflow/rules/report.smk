rule workflow_code:
    """What each rule runs: its run block and the source of the job function it calls (the
    report shows no code for run blocks)."""
    input:
        rules=RULE_FILES,
    output:
        report(
            "results/workflow_code.html",
            caption="../report/workflow_code.rst",
            category="Workflow code",
        ),
    params:
        code=stage_code(*WORKFLOW_MODULES),
    log:
        "results/logs/workflow_code.log",
    run:
        in_worker(
            "scripts.workflow_code:workflow_code_job", input.rules, output[0], log[0]
        )
