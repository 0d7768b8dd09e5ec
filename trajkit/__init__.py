"""trajkit: build CodeAct agent-training datasets from benchmark tasks and teacher LLMs.

The public Python API; every command of the ``trajkit`` CLI is a function here, taking the
command's flags as keywords (``--max-turns`` → ``max_turns=``) with the same defaults,
validation and errors (raised as ``trajkit.UserError``, never printed)::

    import trajkit

    run = trajkit.collect("math", "replay:turns.jsonl", limit=20, out="out", run="math-a")
    print(run.status, run.counts)                    # completed {'solved': 14, ...}
    version = trajkit.filter([run.path], dataset="codeact-math", out="out")
    trajkit.export(version.path, format="openai", to="train.jsonl")

``trajkit.collect`` is also the name of the ``trajkit.collect`` package (runner, loop,
teachers, sandboxes); calling it runs a collection, and its submodules import as usual
(``from trajkit.collect.loop import run_episode``). Type checkers see the function.

Plugins (sources, judges, teacher providers, filters, sandbox backends, executors, action
formats) register through entry points (``trajkit.sources``, ...; see ``trajkit.core.registry``)
or, in this process, with :func:`register`; the README's plugin table names each kind's base
class or protocol.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any

import trajkit.collect as _collect_package

try:
    from importlib.metadata import version as _version

    __version__ = _version("trajkit")
except Exception:  # running from a source tree that was never installed
    __version__ = "0+unknown"

#: Public name → the module defining it, imported on first use so ``import trajkit`` (and the
#: CLI, and every ``import trajkit.x``) does not pay for pyarrow, numpy and the SDKs up front.
_PUBLIC: dict[str, str] = {
    **dict.fromkeys(("acollect", "estimate"), "trajkit.api.collecting"),
    **dict.fromkeys(
        ("VersionCheck", "export", "filter", "publish", "stats", "verify"), "trajkit.api.datasets"
    ),
    "compare": "trajkit.api.comparing",
    "run_job": "trajkit.api.job_runner",
    **dict.fromkeys(("PluginInfo", "plugins"), "trajkit.api.plugins"),
    "Summary": "trajkit.api.summary",
    "Estimate": "trajkit.collect.estimate",
    "CollectOptions": "trajkit.collect.options",
    "RunResult": "trajkit.collect.runner",
    **dict.fromkeys(
        (
            "ConfigError", "ContextLimitError", "DataError", "JudgeError", "ParamError",
            "PluginError", "RateLimitedError", "SandboxError", "SandboxUnavailableError",
            "StorageError", "TeacherError", "TeacherFatalError", "TeacherUnavailableError",
            "TrajkitError", "UserError",
        ),
        "trajkit.core.errors",
    ),
    "register": "trajkit.core.registry",
    "ExportResult": "trajkit.dataset.export_version",
    **dict.fromkeys(
        ("ExportOptions", "FilterOptions", "PublishOptions", "StatsOptions", "VerifyOptions"),
        "trajkit.dataset.options",
    ),
    "PublishResult": "trajkit.dataset.publish",
    "Stats": "trajkit.dataset.stats",
    "DatasetVersion": "trajkit.dataset.version",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'trajkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})


if TYPE_CHECKING:
    from trajkit.api.collecting import acollect, estimate
    from trajkit.api.collecting import collect as collect
    from trajkit.api.comparing import compare
    from trajkit.api.datasets import VersionCheck, export, filter, publish, stats, verify
    from trajkit.api.job_runner import run_job
    from trajkit.api.plugins import PluginInfo, plugins
    from trajkit.api.summary import Summary
    from trajkit.collect.estimate import Estimate
    from trajkit.collect.options import CollectOptions
    from trajkit.collect.runner import RunResult
    from trajkit.core.errors import (
        ConfigError,
        ContextLimitError,
        DataError,
        JudgeError,
        ParamError,
        PluginError,
        RateLimitedError,
        SandboxError,
        SandboxUnavailableError,
        StorageError,
        TeacherError,
        TeacherFatalError,
        TeacherUnavailableError,
        TrajkitError,
        UserError,
    )
    from trajkit.core.registry import register
    from trajkit.dataset.export_version import ExportResult
    from trajkit.dataset.options import (
        ExportOptions,
        FilterOptions,
        PublishOptions,
        StatsOptions,
        VerifyOptions,
    )
    from trajkit.dataset.publish import PublishResult
    from trajkit.dataset.stats import Stats
    from trajkit.dataset.version import DatasetVersion
else:

    class _CallablePackage(types.ModuleType):
        """The ``trajkit.collect`` package, callable as ``trajkit.api.collecting.collect``."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            """Run (or resume) a collection: ``trajkit.api.collecting.collect``."""
            from trajkit.api.collecting import collect

            return collect(*args, **kwargs)

    _collect_package.__class__ = _CallablePackage
    collect = _collect_package

__all__ = [
    "CollectOptions",
    "ConfigError",
    "ContextLimitError",
    "DataError",
    "DatasetVersion",
    "Estimate",
    "ExportOptions",
    "ExportResult",
    "FilterOptions",
    "JudgeError",
    "ParamError",
    "PluginError",
    "PluginInfo",
    "PublishOptions",
    "PublishResult",
    "RateLimitedError",
    "RunResult",
    "SandboxError",
    "SandboxUnavailableError",
    "Stats",
    "StatsOptions",
    "StorageError",
    "Summary",
    "TeacherError",
    "TeacherFatalError",
    "TeacherUnavailableError",
    "TrajkitError",
    "UserError",
    "VerifyOptions",
    "VersionCheck",
    "__version__",
    "acollect",
    "collect",
    "compare",
    "estimate",
    "export",
    "filter",
    "plugins",
    "publish",
    "register",
    "run_job",
    "stats",
    "verify",
]
