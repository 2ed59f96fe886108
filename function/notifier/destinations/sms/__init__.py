"""SMS through Twilio: one short text per run (``render``, pure), sent with Twilio's client
(``deliver``) by the destination (``destination``)."""
