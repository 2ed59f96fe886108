"""``python -m history_tool``: the same as the ``notifier-history`` console command."""

import sys

from history_tool.cli import main

sys.exit(main())
