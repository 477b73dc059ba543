"""Keeping provider caches warm: request shaping, the exact replay cache and request coalescing."""
