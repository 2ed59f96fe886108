"""Local stand-ins and process wiring shared by the end-to-end tests, the demo, the benchmarks and ``replay``.

Everything here runs on loopback only and stops what it starts. The sandbox is the lower
layer: ``replay`` may use it, it never imports ``replay`` (``tests/test_layout.py``).
"""
