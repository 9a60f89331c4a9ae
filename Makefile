# signpost: `make run` starts everything locally (installing only what it runs:
# requirements-run.txt), `make test` runs every test (installing everything),
# `make lint` and `make typecheck` check style and types (pyproject.toml),
# `make bench` measures it, `make conformance` runs the tamper matrix against
# the real bucket your OSS_*/S3_* settings name (docs/conformance.md);
# `make vendor-uppy` fetches the pages' Uppy code again (frontend/vendor/) and axe-core (tests/vendor/).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.run-installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test lint format typecheck bench conformance vendor-uppy clean

$(RUN_STAMP): requirements.txt requirements-run.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-run.txt
	touch $(RUN_STAMP)

# Everything (requirements-dev.txt includes requirements-run.txt).
$(STAMP): requirements.txt requirements-run.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP) $(RUN_STAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: $(STAMP)
	$(PY) -m mypy

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench

conformance: $(STAMP)
	$(PY) -m conformance

run: $(RUN_STAMP)
	@$(PY) -m devtools.run $(RUN_ARGS)

# Only the standard library: no virtualenv needed.
vendor-uppy:
	$(PYTHON) -m devtools.vendor_uppy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .dev-bucket .mypy_cache .ruff_cache
