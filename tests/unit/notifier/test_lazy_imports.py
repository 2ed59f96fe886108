"""The cheap imports of the cold start, each checked in a fresh interpreter: only the files
the function uses are loaded, and what is loaded behaves as the whole library does."""

from __future__ import annotations

import json
import os

from tests.support.fresh import fresh_json, fresh_lines

STRUCTURED = """
import json, logging, sys
if sys.argv[-1] == "whole":
    import google.cloud.logging_v2.handlers  # imported before: used as it is, no shells
from notifier.logs import log_context, setup_logging
setup_logging("INFO", structured=True, secrets=["xoxb-secret"])
log = logging.getLogger("notifier.test")
with log_context(message_id="m-1", job_id="job-7", state="FAILED"):
    log.warning("first %s", "xoxb-secret")
client_loaded = "google.cloud.logging_v2.client" in sys.modules
aiohttp_loaded = "aiohttp" in sys.modules
# A failure's task-log reader asks for the client: the whole package, one diagnostic line.
from google.cloud.logging_v2 import DESCENDING, Client
from google.cloud.logging_v2.handlers import StructuredLogHandler
log.info("second")
print(json.dumps({"client_loaded_by_logging": client_loaded, "aiohttp": aiohttp_loaded,
                  "same_class": type(logging.getLogger().handlers[-1]) is StructuredLogHandler,
                  "client": Client.__name__, "order": DESCENDING}))
"""


def test_json_logs_load_the_handler_alone_and_write_what_the_whole_library_writes() -> None:
    lazy = fresh_lines(STRUCTURED)
    whole = fresh_lines(STRUCTURED.replace('sys.argv[-1] == "whole"', "True"))
    figures = json.loads(lazy[-1])
    assert figures == {
        "client_loaded_by_logging": False,
        "aiohttp": False,
        "same_class": True,
        "client": "Client",
        "order": "timestamp desc",
    }
    assert json.loads(whole[-1])["client_loaded_by_logging"] is True
    # Line for line the same JSON (the library's one-time diagnostic line included, once).
    assert lazy[:-1] == whole[:-1]
    entries = [json.loads(line) for line in lazy[:-1]]
    assert [e.get("message") for e in entries if "message" in e] == ["first [redacted]", "second"]
    assert sum("logging.googleapis.com/diagnostic" in e for e in entries) >= 1
    assert entries[-2]["job_id"] == "job-7"


FIRESTORE = """
import json, sys
from notifier.state.firestore import firestore_client, transactional
client = firestore_client("demo-project", "(default)")
run = transactional(lambda transaction: None)
loaded = sorted(m for m in ("google.cloud.firestore", "google.cloud.firestore_v1.async_client",
                            "google.cloud.firestore_v1.bundle") if m in sys.modules)
from google.cloud import firestore
print(json.dumps({"loaded": loaded, "client": type(client) is firestore.Client,
                  "transactional": type(run) is type(firestore.transactional(lambda t: None)),
                  "database": client._database}))
"""


def test_the_firestore_client_comes_without_the_rest_of_the_package() -> None:
    env = {**_clean_env(), "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9"}  # no call is made
    assert fresh_json(FIRESTORE, env) == {
        "loaded": [],
        "client": True,
        "transactional": True,
        "database": "(default)",
    }


VERTEX = """
import json, sys
from notifier.enrich.vertex_client import pipeline_service_client_class, schedule_service_client_class
clients = [pipeline_service_client_class().__name__, schedule_service_client_class().__name__]
held = "aiohttp" not in sys.modules
package = sys.modules["google.cloud.aiplatform_v1"].__dict__.get("_notifier_materialized", False)
import aiohttp  # held back only while the clients were imported
print(json.dumps({"held": held, "clients": clients, "whole package": package, "after": aiohttp.__name__}))
"""


def test_the_vertex_clients_come_without_their_asyncio_transports_and_aiohttp_stays_importable() -> None:
    assert fresh_json(VERTEX) == {
        "held": True,
        "clients": ["PipelineServiceClient", "ScheduleServiceClient"],
        "whole package": False,
        "after": "aiohttp",
    }


HELD_IN_ONE_THREAD = """
import json, threading
from notifier.lazy_imports import async_rest_held_back
other = {}
with async_rest_held_back():
    try:
        import aiohttp
        here = "imported"
    except ImportError as exc:
        here = str(exc)
    # Another thread is not held back, even while this one is.
    thread = threading.Thread(target=lambda: other.setdefault("name", __import__("aiohttp").__name__))
    thread.start()
    thread.join()
print(json.dumps({"here": here, "other": other.get("name")}))
"""


def test_aiohttp_is_held_back_in_the_importing_thread_only() -> None:
    assert fresh_json(HELD_IN_ONE_THREAD) == {
        "here": "aiohttp is held back while a synchronous client is imported",
        "other": "aiohttp",
    }


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("FIRESTORE_", "GOOGLE_"))}


WEEKLY = """
import json, sys
from notifier.wiring import build_notifier
notifier = build_notifier({
    "GOOGLE_CLOUD_PROJECT": "acme-ml-prod", "GCP_REGION": "us-central1",
    "SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_CHANNEL_ID": "C0123ABCD",
    "GOOGLE_CHAT_WEBHOOKS": json.dumps({"ml": "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t"}),
    "GOOGLE_CHAT_SPACES": "ml", "DEDUP_COLLECTION": "claims",
    "SWEEP_TOPIC": "projects/acme-ml-prod/topics/sweep",
})
print(json.dumps({"history": notifier.history is not None,
                  "loaded": sorted(m for m in sys.modules if "digest" in m)}))
"""


def test_the_weekly_digest_costs_the_cold_start_its_request_parser_only() -> None:
    # Slack, Google Chat, de-duplication and run history on, as deployed: the digest is wired,
    # but its rules, content and renders wait for the first weekly request.
    env = {**_clean_env(), "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9"}  # no call is made
    assert fresh_json(WEEKLY, env) == {"history": True, "loaded": ["notifier.sources.digest"]}
