"""Helpers for testing turnout and code built on it: throwaway database servers to run against.

Nothing in turnout itself imports this package; tests and benchmarks do.
"""
