"""Benchmarks: ``python bench/match.py`` (matching) and ``python bench/service.py`` (service)."""
