"""Benchmarks behind `gallery bench ...`: each measures and prints figures, nothing is assumed."""
