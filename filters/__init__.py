"""Filters: small units ``decide(trajectory) -> Keep | Drop(reason)`` composed into a chain."""
