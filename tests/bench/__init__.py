"""Benchmarks: `make bench` (python -m tests.bench). Prints figures; asserts nothing."""
