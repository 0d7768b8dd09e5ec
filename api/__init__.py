"""The implementation of trajkit's public Python API; import it from ``trajkit`` itself.

Each function takes the flags of the command of the same name as keywords, validated by that
command's options model (the single truth the CLI and job files also build), and returns a
value instead of printing or exiting. Errors a user can cause are ``trajkit.UserError``s.
"""

from trajkit.api.collecting import acollect, collect, estimate
from trajkit.api.datasets import VersionCheck, export, filter, publish, stats, verify
from trajkit.api.job_runner import run_job
from trajkit.api.plugins import PluginInfo, plugins
from trajkit.api.summary import Summary

__all__ = [
    "PluginInfo",
    "Summary",
    "VersionCheck",
    "acollect",
    "collect",
    "estimate",
    "export",
    "filter",
    "plugins",
    "publish",
    "run_job",
    "stats",
    "verify",
]
