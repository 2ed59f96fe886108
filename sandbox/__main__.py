"""``python -m sandbox`` (``make demo``): run the whole notifier locally. See sandbox/demo.py."""

import sys
from pathlib import Path

try:
    import notifier  # noqa: F401 - only probing whether the project is installed
except ImportError:
    # Run from a clone without `pip install -e .`: the notifier package lives in the
    # Cloud Function's source folder, which is then not on the path by itself.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "function"))

from sandbox.demo import main

sys.exit(main())
