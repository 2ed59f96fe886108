"""``notifier-history``: operator commands for the notifier's run history (``docs/history.md``).

``notifier-history backfill --days 30`` fills the history from Vertex AI's ListPipelineJobs
for the allowed projects and regions, with a progress bar, resumably and idempotently.
"""
