"""Every exception trajkit raises on purpose, in one tree.

::

    TrajkitError                     anything trajkit raises on purpose
    ├── UserError                    the user can fix it: one line, exit code ``exit_code`` (2)
    │   ├── ConfigError              a flag, option, job-file key or keyword argument is invalid
    │   │   └── PluginError          a plugin name is unknown, or its entry point is broken
    │   ├── DataError                a data file is malformed (the message names file and line)
    │   ├── StorageError             writing the output failed (disk full, read-only)
    │   ├── TeacherFatalError        no call can succeed (bad key, unknown model): run stops
    │   ├── TeacherUnavailableError  outage or quota (exit 4): run stops, resume later
    │   └── SandboxUnavailableError  this machine cannot isolate teacher code
    ├── TeacherError                 one teacher call failed after retries: that episode ends
    │   ├── ContextLimitError        the conversation no longer fits the context window
    │   └── RateLimitedError         still 429 after the SDK's own retries
    ├── SandboxError                 the sandbox machinery failed (fork server, protocol)
    ├── JudgeError                   a judge could not reach a verdict (its worker died, ...)
    └── ParamError                   a filter unit's parameter is invalid (also a ValueError)

Callers of the Python API catch ``UserError`` for everything a user can cause; the CLI does
exactly that once and prints ``str(exc)`` as one line. The others never end a run on their
own: a ``TeacherError``, ``SandboxError`` or ``JudgeError`` ends one episode with the matching
termination, and a ``ParamError`` is turned into a ``ConfigError`` naming where the value came
from (a flag, a TOML key, a manifest). Control flow that is not an error (``EndEpisode``, a
tool ending an interactive episode) is not part of this tree.

The tree sits in the shared core, below every stage, so any stage can raise these and none
has to import the CLI or another stage to do so.
"""

from __future__ import annotations


class TrajkitError(Exception):
    """Root of every exception trajkit raises on purpose."""


class UserError(TrajkitError):
    """Bad input, flag, data or credentials: reported as one line, exit code ``exit_code``."""

    exit_code = 2


class ConfigError(UserError):
    """A flag or configuration value is invalid; the message names it."""


class PluginError(ConfigError):
    """A plugin name is unknown, ambiguous, missing its extra, or its entry point is broken.

    The message names the entry point and the package that registered it, so the user knows
    which installed package to fix or remove.
    """


class DataError(UserError):
    """A data file is malformed; the message names the file and line."""


class StorageError(UserError):
    """Writing the output failed (disk full, quota, read-only); what was written before stays."""


class TeacherFatalError(UserError):
    """The teacher cannot work at all (bad key, unknown model): stop the run, keep what is written."""


class TeacherUnavailableError(UserError):
    """The teacher cannot be reached or keeps failing (outage, quota): stop, resume later."""

    exit_code = 4


class SandboxUnavailableError(UserError):
    """The sandbox cannot be isolated on this machine; the message says how to fix or opt out."""


class TeacherError(TrajkitError):
    """A call failed after retries (rate limit, 5xx, timeout): the episode ends as teacher_error."""


class ContextLimitError(TeacherError):
    """The conversation no longer fits the model's context window."""


class RateLimitedError(TeacherError):
    """Still rate limited (429) after the SDK's own retries; worth retrying more slowly."""


class SandboxError(TrajkitError):
    """The sandbox machinery itself failed (not the teacher's code): the episode ends as
    sandbox_error."""


class JudgeError(TrajkitError):
    """A judge could not reach a verdict (its worker died, it ran out of time budget)."""


class ParamError(TrajkitError, ValueError):
    """A filter unit's parameter is invalid. ``param`` names it so each front end can say where
    the value came from: a CLI flag, a ``chain.toml`` key, or a manifest's recorded params."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message
