"""The ``trajkit`` command line."""
