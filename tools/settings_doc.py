"""Write the settings reference (``notifier.settings.markdown()``) into docs/configuration.md.

    python tools/settings_doc.py        # or: make settings-doc

The table between ``<!-- settings:begin -->`` and ``<!-- settings:end -->`` is generated;
``tests/unit/notifier/test_settings.py`` fails when it and the table in ``function/notifier/settings.py`` differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "function"))

from notifier import settings  # noqa: E402

PAGE = REPO / "docs" / "configuration.md"
BEGIN, END = "<!-- settings:begin -->\n", "<!-- settings:end -->"


def main() -> int:
    text = PAGE.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    PAGE.write_text(head + BEGIN + settings.markdown() + END + tail)
    print(f"wrote {len(settings.SETTINGS)} settings into {PAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
