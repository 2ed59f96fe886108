"""Local stand-ins and process wiring shared by the end-to-end tests, the demo and the benchmarks.

Everything here runs on loopback only and stops what it starts.
"""
