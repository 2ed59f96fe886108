"""A one-line progress display on stderr, redrawn in place on a terminal.

tqdm would be the only new dependency of the project for one line of text, so this is
the small part of it that redrive needs.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


class Progress:
    """Counts work done; redraws at most ``per_second`` times a second, on a terminal only."""

    def __init__(
        self, label: str, total: int | None = None, *, stream: TextIO | None = None, per_second: float = 10.0
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = self._stream.isatty()
        self._gap = 1.0 / per_second
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def advance(self, done: int = 0, failed: int = 0) -> None:
        """Add to the counters and redraw if it is time to."""
        self.done += done
        self.failed += failed
        now = time.monotonic()
        if self._enabled and now - self._last_draw >= self._gap:
            self._last_draw = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The progress text: a bar when the total is known, a count and rate otherwise."""
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        rate = f"{self.done / elapsed:.1f}/s"
        failed = f", {self.failed} failed" if self.failed else ""
        if self.total:
            filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            return f"{self.label} [{bar}] {self.done}/{self.total}{failed} {rate}"
        return f"{self.label} {self.done}{failed} {rate}"

    def _draw(self, now: float) -> None:
        self._stream.write("\r\x1b[2K" + self.line(now))
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Draw the final state and end the line, so later output starts clean."""
        if self._enabled:
            self._draw(time.monotonic())
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
