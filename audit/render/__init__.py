"""Renderers: the only writers of output (terminal, JSON, SARIF, HTML)."""
