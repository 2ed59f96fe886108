"""Pipeline-status notifier: decode → parse → enrich → route → render and deliver.

Packages and modules, in the order a message flows through them:

- ``sources.pubsub``        decodes the Pub/Sub message out of the CloudEvent
- ``sources.final_status``  parses the exit handler's final status into a frozen ``FinalStatus``
- ``enrich.vertex``         fetches the PipelineJob from Vertex AI into a frozen ``JobDetails``
- ``routing``               decides where it goes (channel, region, on_failure_only)
- ``dedup``                 claims the notification so a redelivery never sends it twice
- ``streaks``               decides where a run goes in its pipeline's failing streak (pure + Firestore)
- ``destinations.slack``    renders Block Kit (pure), threads streaks (pure) and posts with ``slack_sdk``
- ``handler``               runs the steps and is the one place that decides ack vs. redelivery

``model`` holds the frozen types they share, ``errors`` the one error root, ``config``
the one frozen configuration.
"""
