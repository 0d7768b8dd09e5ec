"""trajkit-units: an example trajkit plugin (a task source and a filter), installed with pip.

See ``source.py`` (tasks, a host-side tool, a judge) and ``short_answer.py`` (a filter unit);
``pyproject.toml`` registers both through entry points.
"""
