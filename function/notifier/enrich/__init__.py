"""Enrichment: what the Vertex AI API knows about a run, fetched best effort."""
