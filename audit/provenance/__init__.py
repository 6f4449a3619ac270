"""Provenance: corpus indexes and cross-language matching of audited code against them."""
