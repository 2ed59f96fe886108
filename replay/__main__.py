"""``python -m replay``: the same as the ``replay`` console command."""

import sys

from replay.cli import main

sys.exit(main())
