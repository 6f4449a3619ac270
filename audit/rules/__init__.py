"""Idiom rules: loader and validator for the packs in rules/, the engine pass, config and scores."""
