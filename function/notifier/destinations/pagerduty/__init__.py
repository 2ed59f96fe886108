"""PagerDuty: an Events API v2 event per failing streak (``render``, pure), sent to a service's
routing key (``deliver``) by the destination (``destination``), which keeps one incident per
streak (``state.incidents``)."""
