"""TFX tier: the model-results test data (tests/data/results) is what this TFX really produces.

``tools/results_tfx.py`` compiles the results pipeline with KubeflowV2DagRunner and
captures the Evaluator/Pusher executor outputs; run again here, into a temporary folder,
its files must equal the saved ones. If TFX or the stub changes what they write, this
fails: regenerate as tests/data/results/README.md says and review the diff.
"""

from pathlib import Path

import pytest

from tests.support.tiers import assert_results_data_reproduced, require_or_skip

try:
    import tfx  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    require_or_skip(exc, package="TFX", required_var="TFX_TIER_REQUIRED", tier=".venv-tfx")

pytestmark = pytest.mark.tfx


def test_the_saved_tfx_results_data_is_what_tfx_produces(tmp_path: Path) -> None:
    assert_results_data_reproduced(
        "results_tfx.py",
        tmp_path,
        ("tfx-churn-training.pipeline.json", "tfx-executor-outputs.json"),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
