"""The implementation of trajkit's public Python API; import it from ``trajkit`` itself.

Each function takes the flags of the command of the same name as keywords, validated by that
command's options model (the single truth the CLI and job files also build), and returns a
value instead of printing or exiting. Errors a user can cause are ``trajkit.UserError``s.

``collecting`` (collect, acollect, estimate), ``datasets`` (filter, export, publish, verify,
stats), ``jobs`` and ``job_runner`` (job files), ``plugins`` (what is registered) and
``summary`` (the ``--summary-json`` record). Nothing is imported here, so the CLI pays only
for the command it runs.
"""
