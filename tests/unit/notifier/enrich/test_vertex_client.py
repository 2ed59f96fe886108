"""The cheap import of PipelineServiceClient (and the schedule check's ScheduleServiceClient), checked
in fresh interpreters."""

from __future__ import annotations

from tests.support.fresh import fresh_json

CHEAP = """
import json, sys
from notifier.enrich.vertex_client import pipeline_service_client_class
client = pipeline_service_client_class()
loaded = len([m for m in sys.modules if m.startswith("google.cloud.aiplatform_v1")])
# Other code in the process still sees the whole package afterwards.
from google.cloud.aiplatform_v1.types import PipelineJob
import google.cloud.aiplatform_v1 as v1
print(json.dumps({"loaded": loaded, "same": v1.PipelineServiceClient is client,
                  "job": PipelineJob.__name__, "other": v1.JobServiceClient.__name__}))
"""

BOTH = """
import json, sys
from notifier.enrich.vertex_client import pipeline_service_client_class, schedule_service_client_class
pipelines = pipeline_service_client_class()
before = len([m for m in sys.modules if m.startswith("google.cloud.aiplatform_v1")])
schedules = schedule_service_client_class()
after = len([m for m in sys.modules if m.startswith("google.cloud.aiplatform_v1")])
import google.cloud.aiplatform_v1 as v1
print(json.dumps({"before": before, "after": after, "same": v1.ScheduleServiceClient is schedules,
                  "other": v1.JobServiceClient.__name__}))
"""

FULL = """
import json, sys
import google.cloud.aiplatform_v1
print(json.dumps({"n": len([m for m in sys.modules if m.startswith("google.cloud.aiplatform_v1")])}))
"""

ALREADY = """
import json
import google.cloud.aiplatform_v1 as v1
from notifier.enrich.vertex_client import pipeline_service_client_class
print(json.dumps({"same": pipeline_service_client_class() is v1.PipelineServiceClient,
                  "lazy": type(v1).__name__}))
"""


def test_only_the_pipeline_service_is_loaded_and_the_package_still_works() -> None:
    result = fresh_json(CHEAP)
    full = fresh_json(FULL)
    assert result["loaded"] * 5 < full["n"], (result, full)
    assert result == {
        "loaded": result["loaded"],
        "same": True,
        "job": "PipelineJob",
        "other": "JobServiceClient",
    }


def test_an_already_imported_package_is_used_as_it_is() -> None:
    assert fresh_json(ALREADY) == {"same": True, "lazy": "module"}


def test_the_schedule_client_adds_its_own_modules_not_the_whole_api() -> None:
    result, full = fresh_json(BOTH), fresh_json(FULL)
    # The schedule service (its client, transports, pager) and its types, beside the pipeline
    # service (about 25 modules): far from all of the API.
    assert result["before"] < result["after"] <= result["before"] + 40, result
    assert result["after"] * 4 < full["n"], (result, full)
    assert result["same"] is True and result["other"] == "JobServiceClient"
