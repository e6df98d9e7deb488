# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv, install pinned dependencies, run the example DAGs against the emulator
#   make test   - ruff, mypy and the whole pytest suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint typecheck unit demo bench constraints clean

install: $(STAMP)

# Re-install only when the dependency pins or the project metadata change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,emulator]"
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Benchmarks also need the dbt Cloud provider (the baseline they measure against).
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,emulator,bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run_all.py

# Regenerate the pins from a throw-away environment resolved from pyproject.toml alone.
constraints:
	rm -rf /tmp/pseven-constraints-venv
	$(PYTHON) -m venv /tmp/pseven-constraints-venv
	/tmp/pseven-constraints-venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
	/tmp/pseven-constraints-venv/bin/python -m pip install --quiet "apache-airflow==3.3.2" ".[test,emulator,bench]"
	/tmp/pseven-constraints-venv/bin/python -m pip freeze --exclude airflow-provider-pseven > constraints.txt

clean:
	rm -rf $(VENV) demo-output .mypy_cache .ruff_cache .pytest_cache
