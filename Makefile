# Two commands do all the set-up on a fresh machine with Python 3.11 and make:
#   make demo   - create .venv, install pinned dependencies, run the example DAGs against the emulator
#   make test   - ruff, mypy and the whole pytest suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# setuptools leaves airflow_provider_pseven.egg-info in the checkout when it installs or builds.
# With the checkout on sys.path (tests, `make demo`), Python then sees the package twice and its
# `airflow.plugins` entry point twice, and Airflow's Task SDK stops loading plugins at the first
# duplicate name (airflow/sdk/plugins_manager.py `_get_plugins`: `return` where the core's has
# `continue`), so every plugin after ours, OpenLineage's listener included, is lost in task
# processes. The installed package's own metadata (in the venv) is all that is needed.
UNEGG  := rm -rf airflow_provider_pseven.egg-info

.PHONY: install test lint typecheck unit demo bench docs constraints clean test-compat compat-constraints dist dist-check cluster-deps test-cluster proxy-deps

install: $(STAMP)

# Re-install only when the dependency pins or the project metadata change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,emulator,openlineage,parquet]"
	$(UNEGG)
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck cluster-deps proxy-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Debian's tinyproxy: the integration tests under the "strictest" variants run behind it.
proxy-deps:
	scripts/install_proxy.sh

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Benchmarks also need the dbt Cloud provider (the baseline they measure against).
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,emulator,openlineage,parquet,bench]"
	$(UNEGG)
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run_all.py

# The documentation site (mkdocs.yml) in site/, strict: a broken link, a missing page, anchor or
# snippet, or an API reference that does not resolve fails the build. About 10 s.
$(VENV)/.installed-docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[docs]"
	$(UNEGG)
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# --- production-shaped cluster (tests/cluster, docs/deployment.md) -----------------------------
# PostgreSQL and Redis are the machine's services; the cluster extra brings Celery, psycopg2,
# asyncpg, redis and Playwright, and scripts/install_browser.sh Debian's Chromium. make test runs
# tests/cluster too (about 5 minutes of its time).
$(VENV)/.installed-cluster: $(STAMP) scripts/install_browser.sh
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[cluster]"
	$(UNEGG)
	scripts/install_browser.sh
	touch $@

cluster-deps: $(VENV)/.installed-cluster

test-cluster: $(VENV)/.installed-cluster
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/cluster

# Regenerate the pins from a throw-away environment resolved from pyproject.toml alone.
constraints:
	rm -rf /tmp/pseven-constraints-venv
	$(PYTHON) -m venv /tmp/pseven-constraints-venv
	/tmp/pseven-constraints-venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
	/tmp/pseven-constraints-venv/bin/python -m pip install --quiet "apache-airflow==3.3.2" ".[test,emulator,openlineage,parquet,bench,cluster,docs]"
	/tmp/pseven-constraints-venv/bin/python -m pip freeze --exclude airflow-provider-pseven > constraints.txt

# --- Airflow version matrix (docs/compatibility.md) -------------------------------------------
# The floor's exact version and the latest patch of each older supported minor; 3.3.2 is .venv.
COMPAT_FLOOR    := 3.1.6
COMPAT_VERSIONS ?= $(COMPAT_FLOOR) 3.1.8 3.2.2

# One virtual environment per version, installed from that version's pinned constraints.
.venv-compat-%/.installed: constraints/airflow-%.txt pyproject.toml
	test -x .venv-compat-$*/bin/python || $(PYTHON) -m venv .venv-compat-$*
	.venv-compat-$*/bin/python -m pip install --quiet --upgrade "pip==26.3"
	.venv-compat-$*/bin/python -m pip install --quiet -c constraints/airflow-$*.txt "apache-airflow==$*" -e ".[test,emulator]"
	$(UNEGG)
	touch $@

# In each: the unit, reliability, integration and compat suites, the example DAGs under
# `airflow dags test` against the emulator, and a secret sweep (scripts/test_compat.py).
test-compat: $(foreach v,$(COMPAT_VERSIONS),.venv-compat-$(v)/.installed) proxy-deps
	$(PYTHON) scripts/test_compat.py $(COMPAT_VERSIONS)

# Regenerate constraints/airflow-<version>.txt from throw-away environments resolved from
# pyproject.toml and apache-airflow==<version>, with constraints/pins-<minor>.txt where a fresh
# resolve picks a pair that breaks that Airflow (see the comments in those files).
compat-constraints:
	for v in $(COMPAT_VERSIONS); do \
	  d=/tmp/pseven-constraints-$$v; pins=constraints/pins-$${v%.*}.txt; \
	  rm -rf $$d && $(PYTHON) -m venv $$d && $$d/bin/python -m pip install --quiet --upgrade "pip==26.3" && \
	  $$d/bin/python -m pip install --quiet "apache-airflow==$$v" ".[test,emulator]" $$(test -f $$pins && echo -c $$pins) && \
	  { echo "# Airflow $$v with airflow-provider-pseven[test,emulator]: make compat-constraints"; \
	    $$d/bin/python -m pip freeze --exclude airflow-provider-pseven; } > constraints/airflow-$$v.txt || exit 1; \
	done

# --- release artifacts -------------------------------------------------------------------------
$(VENV)/.installed-release: $(STAMP) constraints/release.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -c constraints/release.txt -e ".[test,emulator,release]"
	$(UNEGG)
	touch $@

# An sdist and a wheel in dist/, checked by twine.
dist: $(VENV)/.installed-release
	rm -rf dist build
	$(BIN)/python -m build --outdir dist .
	$(UNEGG)
	$(BIN)/python -m twine check --strict dist/*

# A clean environment with only the built wheel (with [emulator]) and the floor's Airflow, from
# its constraints: it runs pseven-emulator and an example DAG (DIST_DAGS="example_pseven_run
# example_pseven_sweep ..." for more), with the secret sweep.
DIST_VENV := /tmp/pseven-dist-check-venv
DIST_DAGS ?= example_pseven_run
dist-check: dist
	rm -rf $(DIST_VENV) && $(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(DIST_VENV)/bin/python -m pip install --quiet -c constraints/airflow-$(COMPAT_FLOOR).txt \
	  "apache-airflow==$(COMPAT_FLOOR)" "$$(ls dist/*.whl)[emulator]"
	cd /tmp && $(DIST_VENV)/bin/python $(CURDIR)/scripts/compat_check.py --require-wheel \
	  --dags-folder $(CURDIR)/example_dags --workdir /tmp/pseven-dist-check $(DIST_DAGS)

clean:
	rm -rf $(VENV) .venv-compat-* demo-output dist build site .mypy_cache .ruff_cache .pytest_cache
