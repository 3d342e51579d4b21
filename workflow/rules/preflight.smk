# Before Snakemake reads config.yaml: check it with qualflow's validator, whose errors name the
# file, the line and the setting (Snakemake's own YAML error names neither).
import sys

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from scripts import settings
from scripts.errors import QualflowError

try:
    for _config_path in workflow.configfiles or ["config.yaml"]:
        settings.load_config(_config_path)
except QualflowError as error:
    raise WorkflowError(str(error)) from None
