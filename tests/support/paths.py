"""Where things are, whichever test module asks: the checkout, the test data, the samples."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SAMPLES = REPO / "samples"
