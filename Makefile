# One entry point for people and CI. `make demo` runs the whole flow locally;
# `make test` runs the test suite; `make ci` is everything .ci/run checks.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo test lint format tf-check tfx-tier bench bench-quick ci clean

venv: $(STAMP)

# Re-install only when a requirements file or the project metadata changed.
$(STAMP): requirements.txt requirements-dev.txt function/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt -e .
	touch $(STAMP)

demo: venv
	$(PY) -m sandbox

test: venv
	$(PY) -m pytest -q --ignore=tests/terraform

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	terraform fmt -check -recursive terraform

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	terraform fmt -recursive terraform

tf-check:
	bash .ci/terraform-checks.sh

tfx-tier:
	bash .ci/tfx-tier.sh

bench: venv
	$(PY) bench/run.py

bench-quick: venv
	$(PY) bench/run.py --quick

ci: lint test tf-check tfx-tier bench-quick

clean:
	rm -rf $(VENV) .venv-tf .venv-checkov .venv-tfx .venv-kfp .sandbox bench/results .pytest_cache .ruff_cache .hypothesis
