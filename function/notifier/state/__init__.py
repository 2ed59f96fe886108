"""Everything the function keeps in Firestore, in one place.

- ``firestore``: the client (made once, only when ``DEDUP_COLLECTION`` is set) and the
  short, bounded retries every call uses;
- ``claims``: exactly one delivery per run, state, destination and address (a lease);
- ``streak_rules``: the failing-streak decision, pure; ``streaks``: its Firestore store;
- ``sweep_interval``: at most one sweep per interval.

Lower modules never import from here; the destinations and the sources are handed a
store by ``wiring``.
"""
