"""``replay``: send saved or dead-lettered pipeline statuses through the notifier again.

Subcommands (``replay --help``): ``publish`` to a topic through the exit-handler stub,
``invoke`` a running function directly (or ``--dry-run`` it in process), and ``redrive``
a dead-letter subscription back to its topic.
"""
