"""Google Chat: cardsV2 messages through a space's incoming webhook, one thread per pipeline."""
