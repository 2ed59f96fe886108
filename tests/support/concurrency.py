"""Calls released at the same moment, for tests of what two instances do at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def together(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released at the same moment; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # the test inspects what each call ended in
            results[index] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
