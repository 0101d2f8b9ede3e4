# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[scale,s3,dev]"
	@touch $(STAMP)

install: $(STAMP)

# serve migrates, creates the cache table and the demo account, then runs web server + worker.
run: install
	$(PY) manage.py serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	@mkdir -p data && rm -f data/browser-skipped.txt
	$(VENV)/bin/pytest -p no:playwright; status=$$?; \
	  if [ -s data/browser-skipped.txt ]; then echo; sort -u data/browser-skipped.txt; fi; \
	  exit $$status

clean:
	rm -rf $(VENV) data test-artifacts

# Figures, not tests: see tests/benchmarks/run.py. Quick sizes: make bench ARGS=--quick
bench: install
	$(PY) tests/benchmarks/run.py $(ARGS)
