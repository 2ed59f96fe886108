"""Google Chat: cardsV2 messages (``render``, pure) through a space's incoming webhook (``deliver``),
one thread per pipeline (``destination``)."""
