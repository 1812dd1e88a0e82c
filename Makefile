# The README's two commands: `make study` runs the default toy study, `make test`
# runs the tests. Both create .venv and install the locked versions when needed.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: study test test-fast dry-run lock clean-results

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# one pip command for everything, torch==2.13.0 pinned in the lock file, so that
	# no CUDA torch is pulled in through accelerate / trl
	$(BIN)/pip install --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

study: $(STAMP)
	$(BIN)/snakemake --profile profiles/default

dry-run: $(STAMP)
	$(BIN)/snakemake --profile profiles/default -n

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# Re-resolve the environment from pyproject.toml and write the lock file.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install torch==2.13.0 -e '.[test]'
	{ sed -n '1,3p' requirements.lock; .lockvenv/bin/pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lockvenv

clean-results:
	rm -rf results logs benchmarks/runs .snakemake
