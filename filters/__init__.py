"""Filters: small units ``decide(trajectory) -> Keep | Drop(reason)`` composed into a chain.

One unit per module: ``success``, ``self-correct``, ``turns``, ``tokens``, ``valid-format``,
``no-secrets``, ``paper-heuristics`` (single pass) and ``dedup``, ``balance`` (two pass, see
``base``), ``decontaminate``; ``presets`` names chains, ``flags``/``config`` build them from the
CLI or a TOML file, ``registry`` rebuilds them from a manifest.
"""
