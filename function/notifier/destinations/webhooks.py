"""What the destinations that POST JSON to a secret URL share: Google Chat, Microsoft Teams, PagerDuty.

``JsonPoster`` waits for the post's place in its target's queue (``pacing``), POSTs, and
says what the answer means: 2xx is done; ``429`` moves the target's schedule back by
``Retry-After`` and hands the message back to Pub/Sub (``DeferredError``), as a busy
Slack channel does; ``5xx`` and connection errors are transient (Pub/Sub redelivers);
any other 4xx is permanent (logged, acknowledged, never retried). Its errors name the
target (a Chat space, a workflow, a service), never the URL or a key: those are the
credentials (``secret`` is masked from the service's own error text, too).

``WebhookDestination`` is the destination whose addresses are names of secret URLs, paced
per the target each URL names; ``fitted`` is the render loop that gives a card less and
less room until it fits its service's size limit; ``json_bytes`` measures a body as sent.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from notifier.destinations import Paced
from notifier.errors import DeferredError, PermanentError, TransientError
from notifier.pacing import Pacer, Ticket

TIMEOUT = 10.0
RETRY_AFTER_MAX = 60.0


def json_bytes(message: Any) -> int:
    """A body's size as it is sent (``json.dumps``: non-ASCII escaped, the largest form)."""
    return len(json.dumps(message).encode())


def retry_after(response: Any, default: float, low: float = 0.0) -> float:
    """The answer's ``Retry-After`` in seconds (``default`` without one), within ``low`` and a minute."""
    try:
        return min(RETRY_AFTER_MAX, max(low, float(response.headers.get("Retry-After", default))))
    except (TypeError, ValueError):
        return default


def error_object(response: Any, code: str) -> str:
    """``{"error": {<code>: …, "message": …}}`` (Google's and Logic Apps' errors) as one short line."""
    try:
        error = response.json().get("error", {})
        return f"{error.get(code, '')} {str(error.get('message', ''))[:150]}".strip()
    except (ValueError, AttributeError):
        return "no error details"


class JsonPoster:
    """POSTs JSON to one service's URLs, paced per target, and classifies the answer.

    ``service`` and ``what`` word the errors (``Google Chat answered HTTP 403 for space
    AAAA…``); ``error_text`` reads the service's reason from a failed response; the
    error classes are the destination's own.
    """

    def __init__(
        self,
        pacer: Pacer,
        *,
        service: str,
        what: str,
        unavailable: type[TransientError],
        rejected: type[PermanentError],
        error_text: Callable[[Any], str],
        retry_after_default: float = 1.0,
        content_type: str = "application/json",
        session: Any = None,
    ) -> None:
        import requests  # noqa: PLC0415 - only instances with such a destination

        self.pacer = pacer
        self._session = session or requests.Session()
        self._service = service
        self._what = what
        self._unavailable = unavailable
        self._rejected = rejected
        self._error_text = error_text
        self._retry_after_default = retry_after_default
        self._content_type = content_type

    def post(
        self,
        url: str,
        body: Any,
        target: str,
        ticket: Ticket | None = None,
        *,
        params: Mapping[str, str] | None = None,
        secret: str = "",
    ) -> Any:
        """POST ``body`` to ``url`` when ``ticket`` (its place in ``target``'s queue) allows; the
        response when it is a success, else the destination's error (or DeferredError on 429)."""
        import requests  # noqa: PLC0415

        if ticket is None:
            self.pacer.acquire(target)
        else:
            ticket.wait()
        try:
            response = self._session.post(
                url,
                params=params,
                data=json.dumps(body),
                headers={"Content-Type": self._content_type},
                timeout=TIMEOUT,
            )
        except requests.RequestException as exc:
            raise self._unavailable(
                f"{self._service} unreachable for {self._what} {target}: {type(exc).__name__}"
            ) from None
        if response.ok:
            return response
        text = self._error_text(response)
        if secret:
            text = text.replace(secret, "••••")
        reason = f"{self._service} answered HTTP {response.status_code} for {self._what} {target}: {text}"
        if response.status_code == 429:
            self.pacer.defer(target, retry_after(response, self._retry_after_default))
            raise DeferredError(f"{reason}; handed back to Pub/Sub")
        if response.status_code >= 500:
            raise self._unavailable(reason)
        raise self._rejected(reason)


class WebhookDestination(Paced):
    """A destination whose addresses name secret URLs, each paced by the target its URL names."""

    noun = "webhook"  # how errors name an address ("no Google Chat webhook named 'x'")

    def __init__(
        self,
        pacer: Pacer | None,
        urls: Mapping[str, str],
        target_of: Callable[[str], str],
        defaults: tuple[str, ...] = (),
    ) -> None:
        super().__init__(pacer, defaults)
        self._urls = dict(urls)
        self._target_of = target_of

    @contextlib.contextmanager
    def admit(self, address: str, *, final_attempt: bool = False) -> Iterator[Ticket | None]:
        """A place in the queue of the target behind the URL ``address`` names."""
        url = self._urls.get(address)
        with super().admit(self._target_of(url) if url else "", final_attempt=final_attempt) as ticket:
            yield ticket

    def url(self, address: str) -> str:
        """The URL ``address`` names; PermanentError for a name Config did not define (a stale route)."""
        url = self._urls.get(address)
        if url is None:
            raise PermanentError(f"no {self.noun} named {address!r}")
        return url


def fitted(
    tries: Iterable[tuple[int, int, int]],
    make: Callable[[int, int, int], dict[str, Any]],
    limit: int,
    minimal: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """The first ``make(excerpts, text_max, pairs_max)`` of ``tries`` within ``limit`` bytes as sent, else ``minimal()``."""
    for excerpts, text_max, pairs_max in tries:  # less and less until it fits
        message = make(excerpts, text_max, pairs_max)
        if json_bytes(message) <= limit:
            return message
    return minimal()


def rooms(causes: int, sizes: tuple[tuple[int, int], ...]) -> list[tuple[int, int, int]]:
    """What ``fitted`` tries: every excerpt with the most room, then one excerpt fewer, …, then less room."""
    tries = [(excerpts, *sizes[0]) for excerpts in range(causes, -1, -1)]
    return tries + [(0, *size) for size in sizes[1:]]
