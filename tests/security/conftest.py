"""The battery's fixtures (``battery``, ``host``) live in ``battery.py`` with its harness."""

from battery import battery, host  # noqa: F401
