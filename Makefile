# One entry point for people and CI. `make demo` runs the whole flow locally;
# `make test` runs the test suite; `make ci` is everything .ci/run checks.
# `make stub-wheel` builds the exit-handler stub's wheel into dist/; `make docs` the site.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

STUB := packages/tfx-exit-stub

.PHONY: venv demo test lint format tf-check tfx-tier bench bench-quick docs stub-wheel ci clean

venv: $(STAMP)

# Re-install only when a requirements file or the project metadata changed.
# The stub is installed editable from its own distribution and satisfies the notifier's
# pin on it (--no-sources: pyproject's uv source would install a second, non-editable copy).
$(STAMP): requirements.txt requirements-dev.txt requirements-docs.txt function/requirements.txt pyproject.toml $(STUB)/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-sources -r requirements-dev.txt -e $(STUB) -e .
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

tfx-tier: venv
	bash .ci/tfx-tier.sh

bench: venv
	$(PY) bench/run.py

bench-quick: venv
	$(PY) bench/run.py --quick

# The site goes to site/ (open site/index.html); CI checks that it builds with --strict
# (broken links, missing pages, pages left out of the nav all fail).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The pipeline image's only install: sdist, then the wheel built from it, into dist/.
stub-wheel: venv
	rm -f dist/tfx_exit_stub-*
	$(PY) -m build --quiet --installer uv --outdir dist $(STUB)
	@ls -l dist/tfx_exit_stub-*

ci: lint test docs tf-check tfx-tier bench-quick

clean:
	rm -rf $(VENV) .venv-tf .venv-checkov .venv-tfx .venv-kfp .sandbox bench/results dist site build packages/tfx-exit-stub/build *.egg-info packages/tfx-exit-stub/src/*.egg-info .pytest_cache .ruff_cache .hypothesis
