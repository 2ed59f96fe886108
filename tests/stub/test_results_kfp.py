"""KFP tier: the model-results test data (tests/data/results) is what this KFP really produces.

``tools/results_kfp.py`` compiles the results pipeline (the stub as its exit handler)
and runs the evaluation task's function through KFP's own executor; run again here,
into a temporary folder, its files must equal the saved ones. The compiled spec pins
the stub's version, so a release bump means regenerating (tests/data/results/README.md).
"""

from pathlib import Path

from tests.support.tiers import assert_results_data_reproduced, require_or_skip

try:
    import kfp  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    require_or_skip(exc, package="kfp", required_var="KFP_TIER_REQUIRED", tier=".venv-kfp")


def test_the_saved_kfp_results_data_is_what_kfp_produces(tmp_path: Path) -> None:
    assert_results_data_reproduced(
        "results_kfp.py",
        tmp_path,
        ("kfp-fraud-training.pipeline.yaml", "kfp-fraud-training.pipeline.json", "kfp-executor-outputs.json"),
    )
