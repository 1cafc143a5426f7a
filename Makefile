# Two commands do everything on a fresh machine with Python >= 3.11:
#   make demo   set up .venv, run the workflow on config/config.yaml and on simulated plates
#               (examples/whole_run), print where the reports are
#   make test   set up .venv, run the whole test suite
#   make check  set up .venv, run every static check CI runs before the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= all
# workflow: snakemake, which runs the rules (the package itself never imports it)
EXTRAS ?= workflow,dev
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo demo-tf demo-run test check lint install clean help

help:
	@echo "make demo   - install into $(VENV), run the workflow and the whole-run example (two reports)"
	@echo "make demo-tf - the lecture's TF-binding classification demo (examples/tf_binding)"
	@echo "make demo-run - the whole chain on simulated plates: reads, wells, plate reader (examples/whole_run)"
	@echo "make test   - install into $(VENV) and run the test suite"
	@echo "make check  - every static check: ruff, ruff format, mypy, import contracts, snakemake --lint, snakefmt"
	@echo "make lint   - the quick subset: ruff and ruff format"

comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "utrflow needs Python >= 3.11; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "cannot create $(VENV): on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@

demo: install
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --configfile config/demo.yaml
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --directory examples/whole_run
	@echo
	@echo "Report (simulated UTR table, the model): $(abspath results/report/report.html)"
	@echo "Metrics: $(abspath results/model/metrics.json)"
	@echo "Report (simulated plates, reads to the next library): $(abspath examples/whole_run/results/report/report.html)"

demo-tf: install
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --directory examples/tf_binding
	@echo
	@echo "Report: $(abspath examples/tf_binding/results/report/report.html)"

demo-run: install
	$(BIN)/snakemake --cores $(CORES) --rerun-incomplete --directory examples/whole_run
	@echo
	@echo "Report: $(abspath examples/whole_run/results/report/report.html)"

# The suite on TEST_WORKERS processes (pytest-xdist); each test module goes whole to one worker
# (--dist loadscope), so a module's own finished run is built once, in the order of
# tests/conftest.py (whole-workflow modules first). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# What CI runs before the tests (.ci/run); every tool comes from the dev extra.
check: lint
	$(BIN)/mypy src/utrflow
	$(BIN)/lint-imports
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check workflow/

clean:
	rm -rf results .snakemake
