"""Metrics: line counts, complexity, Halstead and grades for code units."""
