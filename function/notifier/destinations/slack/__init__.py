"""Slack: Block Kit rendering (``render``, pure), threads for failing streaks (``thread``, pure),
delivery with slack_sdk (``deliver``) and the destination that puts them together (``destination``)."""
