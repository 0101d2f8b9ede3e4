# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Keep compiled modules: the tests start hundreds of Python processes (workers, servers), and
# without .pyc files each would compile the app's modules again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run test test-clock lint format bench clean

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

# Two processes (pytest-xdist): most of the suite's time is spent waiting on real workers, the
# sandbox and a browser, so a second process fills those waits. Each has its own test database;
# worksteal evens out the long end-to-end tests. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
test: lint
	@mkdir -p data && rm -f data/browser-skipped.txt
	$(VENV)/bin/pytest -p no:playwright -n $(TEST_WORKERS) --dist worksteal; status=$$?; \
	  if [ -s data/browser-skipped.txt ]; then echo; sort -u data/browser-skipped.txt; fi; \
	  exit $$status

# The time-sensitive tests again, with the run itself starting at an awkward instant: the first
# hours of a month (and a year) in UTC, when teams west of UTC are still in the old one; and the
# last minute of a month in UTC, so the month changes during the run. libfaketime sets every
# clock of the run and of its subprocesses (FAKETIME_DONT_RESET keeps them on the run's clock),
# and time advances from the start. Needs Debian's `faketime` package.
# Left out for reasons that are not dates: a timed wait on a lock (threading.Condition, Event or
# Barrier with a timeout) never returns under libfaketime, which fakes CLOCK_MONOTONIC but not
# the semaphore wait Python uses for it (and leaving CLOCK_MONOTONIC real breaks time.sleep
# instead). That rules out the budgets' concurrency test (a Barrier), and the files whose sandbox
# webhooks come from a thread waiting on a Condition: test_akool_contract.py, test_pipeline.py.
CLOCK_STARTS := "2027-01-01 02:30:00" "2027-03-31 23:59:00"
CLOCK_TESTS := tests/test_month_window.py tests/test_budgets.py tests/test_usage.py \
  tests/test_invitations.py tests/test_audit.py tests/test_stuck_jobs.py \
  tests/test_generation_form.py tests/test_studio.py tests/test_sandbox.py tests/test_auth.py \
  tests/test_login_throttle.py tests/test_share_links.py tests/test_live_gallery.py \
  tests/test_trash.py tests/test_retention.py tests/test_api.py tests/test_sso_id_tokens.py \
  tests/test_card_cache.py tests/test_presets.py tests/test_moderation.py \
  --deselect tests/test_budgets.py::test_two_concurrent_submits_cannot_both_take_the_last_credits
# Fails the run when libfaketime is not in effect or the clock stands still.
CLOCK_CHECK := import sys, time; from datetime import datetime, UTC; \
  start = datetime.fromisoformat(sys.argv[1]).replace(tzinfo=UTC); t = time.time(); \
  time.sleep(0.2); now = datetime.now(UTC); \
  assert 0 < (now - start).total_seconds() < 60 and time.time() - t >= 0.2, now; \
  print("clock at", now)
FAKETIME = TZ=UTC FAKETIME_DONT_RESET=1 faketime -f "@$$start"

test-clock: install
	@command -v faketime >/dev/null || { echo "test-clock needs libfaketime (faketime)"; exit 1; }
	@mkdir -p data
	@for start in $(CLOCK_STARTS); do \
	  echo "=== time-sensitive tests, the run starting at $$start UTC"; \
	  $(FAKETIME) $(PY) -c '$(CLOCK_CHECK)' "$$start" && \
	  $(FAKETIME) $(VENV)/bin/pytest -p no:playwright -q $(CLOCK_TESTS) || exit 1; \
	done

clean:
	rm -rf $(VENV) data test-artifacts

# Figures, not tests: see tests/benchmarks/run.py. Quick sizes: make bench ARGS=--quick
bench: install
	$(PY) tests/benchmarks/run.py $(ARGS)
