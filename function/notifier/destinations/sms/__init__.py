"""SMS through Twilio: one short text per run, to the numbers in configuration."""
