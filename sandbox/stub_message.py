"""What the exit-handler stub publishes for a final status, computed without Pub/Sub.

The stub itself (``tfx_exit_stub.publish_final_status``) builds the message, as in a
pipeline; a publisher that keeps what it is handed stands in for Pub/Sub. The demo pushes
the result straight to the function when there is no emulator, and ``replay`` (which may
use the sandbox, never the other way round) sends raw statuses the same way.
"""

from __future__ import annotations

import concurrent.futures

from tfx_exit_stub import publish_final_status

# Any well-formed topic path will do: nothing is published to it.
OFFLINE_TOPIC = "projects/replay-offline/topics/direct"


class Capture:
    """A publisher that keeps what the stub would publish instead of sending it."""

    def __init__(self) -> None:
        self.published: list[tuple[bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, **attributes: str) -> concurrent.futures.Future[str]:
        """Record the message; the returned future is already done."""
        self.published.append((data, attributes))
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        future.set_result(str(len(self.published)))
        return future


def as_pipeline_message(
    data: bytes, *, gcp_region: str = "", slack_channel_id: str = "", on_failure_only: bool = False
) -> tuple[bytes, dict[str, str]]:
    """The data and attributes the stub publishes for a status, computed without Pub/Sub."""
    capture = Capture()
    publish_final_status(
        data,
        OFFLINE_TOPIC,
        gcp_region=gcp_region,
        slack_channel_id=slack_channel_id,
        on_failure_only=on_failure_only,
        publisher=capture,
    )
    [(sent, attributes)] = capture.published
    return sent, attributes
