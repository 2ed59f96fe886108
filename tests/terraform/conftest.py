"""Fixtures for the structural Terraform tests.

They need python-hcl2 (and the schema tests the cdktf provider packages), which
live in .venv-tf, set up by .ci/terraform-checks.sh. Each test module skips
itself with that hint when python-hcl2 is missing, e.g. under the main venv. The
function's own modules (notifier.settings, .config, .rules) import from function/,
on pytest's pythonpath (pyproject.toml).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tf():
    """The root module users apply (terraform/)."""
    from tests.terraform.hcl_model import TERRAFORM_DIR, load_module

    return load_module(TERRAFORM_DIR)
