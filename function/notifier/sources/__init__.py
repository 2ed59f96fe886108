"""Sources: outside bytes in, frozen types out. Every parser here is bounded (size, depth, numbers)."""
