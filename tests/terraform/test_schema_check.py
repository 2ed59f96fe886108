"""The offline provider-schema check passes on terraform/ and catches real mistakes."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("hcl2", reason="python-hcl2 is not installed; run bash .ci/terraform-checks.sh")

from tests.terraform.hcl_model import REPO, TERRAFORM_DIR

sys.path.insert(0, str(REPO / "tools"))
import tf_schema_check

ASSEMBLIES = tf_schema_check.find_assemblies()
if not any("provider-google" in a.name for a in ASSEMBLIES):
    pytest.skip(
        "cdktf-cdktf-provider-google is not installed; run bash .ci/terraform-checks.sh",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def schema():
    return tf_schema_check.load_schema(ASSEMBLIES)


def _check_text(schema, tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "case.tf").write_text(textwrap.dedent(text), encoding="utf-8")
    problems, files, _ = tf_schema_check.check_paths([tmp_path], schema)
    assert files == 1
    return [f"{p.address}: {p.message}" for p in problems]


def test_schema_is_the_pinned_google_provider(schema):
    assert "@cdktf/provider-google@16.12.1" in schema.sources
    assert len(schema.resources) > 1000
    assert "service_config" in schema.resources["google_cloudfunctions2_function"].attributes


def test_terraform_directory_is_clean(schema):
    problems, files, blocks = tf_schema_check.check_paths([TERRAFORM_DIR], schema)
    assert [str(p) for p in problems] == []
    assert files >= 8 and blocks >= 20


def test_misspelled_nested_argument_is_reported(schema, tmp_path):
    found = _check_text(
        schema,
        tmp_path,
        """
        resource "google_pubsub_subscription" "s" {
          name  = "s"
          topic = "t"
          retry_policy {
            minimum_backof = "10s"
          }
        }
        """,
    )
    assert found == ["google_pubsub_subscription.s.retry_policy: unknown argument 'minimum_backof'"]


def test_missing_required_arguments_and_unknown_types_are_reported(schema, tmp_path):
    found = _check_text(
        schema,
        tmp_path,
        """
        resource "google_pubsub_subscription" "s" {
          name = "s"
          push_config {
            oidc_token {
              audience = "a"
            }
          }
        }
        resource "google_pubsub_topicc" "t" {
          name = "t"
        }
        data "google_project" "p" {
          projectid = "x"
        }
        """,
    )
    assert sorted(found) == sorted(
        [
            "google_pubsub_subscription.s: missing required argument 'topic'",
            "google_pubsub_subscription.s.push_config: missing required argument 'push_endpoint'",
            "google_pubsub_subscription.s.push_config.oidc_token: "
            "missing required argument 'service_account_email'",
            "google_pubsub_topicc.t: unknown resource type",
            "data.google_project.p: unknown argument 'projectid'",
        ]
    )


def test_meta_arguments_and_dynamic_blocks_are_understood(schema, tmp_path):
    found = _check_text(
        schema,
        tmp_path,
        """
        resource "google_pubsub_topic" "t" {
          count      = 1
          name       = "t"
          depends_on = []
          lifecycle {
            prevent_destroy = true
          }
          dynamic "message_storage_polcy" {
            for_each = []
            content {}
          }
        }
        """,
    )
    assert found == ["google_pubsub_topic.t: unknown nested block 'message_storage_polcy'"]


def test_archive_file_is_checked_even_without_its_package(tmp_path):
    google_only = [a for a in ASSEMBLIES if "provider-google" in a.name]
    schema = tf_schema_check.load_schema(google_only)
    assert "archive_file (hardcoded fallback)" in schema.sources
    found = _check_text(
        schema,
        tmp_path,
        """
        data "archive_file" "z" {
          type        = "zip"
          source_dirr = "x"
        }
        """,
    )
    assert sorted(found) == [
        "data.archive_file.z: missing required argument 'output_path'",
        "data.archive_file.z: unknown argument 'source_dirr'",
    ]


def test_command_line_exit_status(tmp_path, capsys):
    (tmp_path / "bad.tf").write_text('resource "google_pubsub_topic" "t" {\n  nmae = "x"\n}\n')
    assert tf_schema_check.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "bad.tf:1: google_pubsub_topic.t: unknown argument 'nmae'" in out
    assert tf_schema_check.main([str(TERRAFORM_DIR)]) == 0
