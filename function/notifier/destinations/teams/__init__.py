"""Microsoft Teams: an Adaptive Card (``render``, pure) posted through a channel's Workflows webhook
(``deliver``), paced per workflow (``destination``)."""
