# One entry point for people and CI. `make demo` runs the whole flow locally;
# `make test` runs the test suite; `make ci` is everything .ci/run checks.
# `make stub-wheel` builds the exit-handler stub's wheel into dist/; `make docs` the site;
# `make lock` re-resolves the Cloud Function's lock (function/requirements.txt).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

STUB := tfx_exit_stub

.PHONY: settings-doc venv demo test lint format tf-check tfx-tier bench bench-quick docs stub-wheel lock ci clean

venv: $(STAMP)

# Re-install only when a requirements file or the project metadata changed. Plain pip, as
# the README promises. The project is installed editable, the stub with it (the operator
# tools' wheel ships tfx_exit_stub/); the stub's own distribution is built and tested apart
# (tests/stub/test_wheel.py, `make stub-wheel`), never installed beside it.
$(STAMP): requirements.txt requirements-dev.txt requirements-docs.txt function/requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt -e .
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

# The settings reference in docs/configuration.md, generated from function/notifier/settings.py.
settings-doc: venv
	$(PY) tools/settings_doc.py

# The site goes to site/ (open site/index.html); CI checks that it builds with --strict
# (broken links, missing pages, pages left out of the nav all fail).
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The pipeline image's only install: sdist, then the wheel built from it, into dist/.
stub-wheel: venv
	rm -f dist/tfx_exit_stub-*
	$(PY) -m build --quiet --installer uv --outdir dist $(STUB)
	@ls -l dist/tfx_exit_stub-*

# The Cloud Function's lock: function/requirements.in (its direct dependencies) resolved
# into function/requirements.txt, every package pinned, for Python 3.10 and newer on any
# platform (Cloud Functions runs python312). Needs PyPI. Pins already in the lock are kept;
# `make lock UPGRADE=--upgrade` (or UPGRADE='--upgrade-package NAME') moves them on.
# tests/test_packaging.py fails when the two files drift.
lock: venv
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.10 --custom-compile-command "make lock" \
	  $(UPGRADE) --output-file function/requirements.txt function/requirements.in

ci: lint test docs tf-check tfx-tier bench-quick

clean:
	rm -rf $(VENV) .venv-tf .venv-checkov .venv-tfx .venv-kfp .sandbox bench/results dist site build $(STUB)/build *.egg-info $(STUB)/*.egg-info .pytest_cache .ruff_cache .hypothesis
