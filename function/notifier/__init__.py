"""Pipeline-status notifier: decode event → parse status → enrich → render → deliver.

Modules, in the order a message flows through them:

- ``event``    decodes the Pub/Sub message out of the CloudEvent
- ``status``   parses the final-status JSON into a frozen ``FinalStatus``
- ``enrich``   fetches the PipelineJob from Vertex AI into a frozen ``JobDetails``
- ``render``   builds the Slack Block Kit message (pure: no I/O)
- ``deliver``  posts it with ``slack_sdk``
- ``handler``  runs the steps and is the one place that decides ack vs. redelivery
"""
