"""Micro-benchmarks (``python -m bench.core``)."""
