"""Benchmarks against peers; each writes its section of bench/RESULTS.md."""
