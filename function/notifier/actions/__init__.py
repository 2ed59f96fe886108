"""Acting from a Slack message: acknowledge, mute, and (opt-in) cancel or retry a run.

Two halves, in two Cloud Functions built from this one source:

- ``interactivity``: the public ``slack_actions`` function. It verifies each request of
  Slack's (signature, age, size, replay), acknowledges it within Slack's 3 seconds and
  publishes it, still signed, to ``ACTIONS_TOPIC``; nothing else.
- ``worker``: the notifier function, which takes the published request from
  ``ACTIONS_TOPIC`` only (``sources.actions``), verifies the signature again, decides who
  may do what (``access``), executes it (``state.mutes``, Vertex AI's ``cancel`` and
  ``create``) and says what happened in Slack (``response_url``, ``chat.update``, a reply).

``commands`` and ``payload`` are the vocabulary and the strict reading of what Slack sends;
the buttons themselves are drawn by ``destinations.slack.render`` and ``thread``.
"""
