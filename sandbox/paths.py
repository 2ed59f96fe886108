"""Where the sandbox finds the Cloud Function's source and the sample statuses.

Run from a checkout (``make demo``, ``python -m sandbox``, an editable install) it uses the
checkout's ``function/``, ``samples/`` and ``terraform/topology.json``. Installed as a
command (``uv tool install .``) it uses the copies the wheel carries (``sandbox/_function``,
``sandbox/_samples``, ``sandbox/_terraform``, mapped in pyproject.toml), so
``notifier-sandbox`` works from any folder.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
REPO = _HERE.parent

# A checkout has the function's entry point beside the sandbox package; site-packages does not.
IN_CHECKOUT = (REPO / "function" / "main.py").is_file()

FUNCTION_DIR = REPO / "function" if IN_CHECKOUT else _HERE / "_function"
# The deployed topology Terraform reads; the local function starts with the same values.
TOPOLOGY_FILE = (REPO / "terraform" if IN_CHECKOUT else _HERE / "_terraform") / "topology.json"
SAMPLES_DIR = REPO / "samples" if IN_CHECKOUT else _HERE / "_samples"
# Logs and payloads: the checkout's .sandbox/, or .sandbox/ in the current folder when installed.
DEFAULT_WORKDIR = REPO / ".sandbox" if IN_CHECKOUT else Path(".sandbox")
