# qualflow: raw interview transcripts → de-identified, segmented, coded and analysed results.
# This file only sets up and lists the stages; each stage is in workflow/rules/, its logic in scripts/.
import time

from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/preflight.smk"


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    transcript="[A-Za-z0-9][A-Za-z0-9_-]*",
    part="[0-9]+",
    coder="[A-Za-z0-9][A-Za-z0-9_-]*",


RUN_STARTED = time.time()


onstart:
    workflow_run.ensure_private_folder("results")


# The run is over: do not wait for Snakemake's rescheduling timers (scripts/workers.py).
onsuccess:
    workers.end_pending_timers()


# A failed run leaves nothing stale that reads as current (scripts/workflow_run.py).
onerror:
    workers.end_pending_timers()
    stale = workflow_run.remove_stale_outputs(workflow.dag, RUN_STARTED)
    if stale:
        logger.warning(
            f"qualflow: the run failed; {len(stale)} file(s) an earlier run made for jobs this run did not "
            "finish were out of date and have been removed (they are made again once the error is fixed): "
            + ", ".join(stale[:10])
            + (" ..." if len(stale) > 10 else "")
        )


include: "workflow/rules/ingest.smk"
include: "workflow/rules/deidentify.smk"
include: "workflow/rules/segment.smk"
include: "workflow/rules/candidates.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/coding.smk"
include: "workflow/rules/agreement.smk"
include: "workflow/rules/exchange.smk"
include: "workflow/rules/themes.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        final_outputs(),
        load_model_early,
    default_target: True


# Every rule reaches its job function by name, with named inputs and outputs (scripts/rule_jobs.py):
# checked here, when the workflow is parsed, not when a job runs.
check_rule_jobs(workflow.rules)
