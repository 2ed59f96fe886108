"""Replay's progress line: a bar redrawn in place on a terminal, nothing when piped."""

from __future__ import annotations


def test_progress_line_draws_a_bar_only_on_a_terminal() -> None:
    import io

    from replay.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress("redrive", 4, stream=screen, per_second=1e9)
    progress.advance(done=3)
    progress.advance(failed=1)
    progress.close()
    last = screen.getvalue().rstrip("\n").rsplit("\r\x1b[2K", 1)[-1]
    assert last.startswith("redrive [" + "#" * 18 + "-" * 6 + "] 3/4, 1 failed")

    piped = io.StringIO()
    quiet = Progress("redrive", None, stream=piped)
    quiet.advance(done=5)
    quiet.close()
    assert piped.getvalue() == ""
    assert quiet.line().startswith("redrive 5 ")
