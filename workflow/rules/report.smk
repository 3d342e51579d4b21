rule workflow_code:
    """What each rule runs: its run block and the source of the job function it calls (the
    report shows no code for run blocks)."""
    input:
        rules=RULE_FILES,
    output:
        page=report(
            "results/workflow_code.html",
            caption="../report/workflow_code.rst",
            category="Workflow code",
        ),
    params:
        # the page shows every module's job functions: a change of any reruns it
        shown=rule_jobs.code_digest(SCRIPTS, WORKFLOW_MODULES),
        code=job_code("workflow_code"),
    log:
        "results/logs/workflow_code.log",
    run:
        run_job(rule, input, output, params, log)
