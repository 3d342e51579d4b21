# Before Snakemake reads config.yaml: check it with qualflow's validator, whose errors name the
# file, the line and the setting (Snakemake's own YAML error names neither). And before the DAG is
# built: the garbage collector's setting for it.
import sys

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from scripts import settings, workers
from scripts.errors import QualflowError

# Snakemake's DAG is many long-lived objects: collect cyclic garbage rarely (scripts/workers.py).
workers.tune_garbage_collector()

try:
    for _config_path in workflow.configfiles or ["config.yaml"]:
        settings.load_config(_config_path)
except QualflowError as error:
    raise WorkflowError(str(error)) from None
