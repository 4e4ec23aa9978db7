"""Benchmarks of ecr-replication against hand-written baselines (run with ``scripts/bench``).

Not part of the test suite: pytest collects ``tests/`` only.
"""
