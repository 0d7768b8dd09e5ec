"""Typed errors that users can cause; the CLI catches ``UserError`` once and prints one line.

They live beside the schemas because every stage raises them and none may import the CLI.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input, flag, data or credentials: reported as one line, exit code 2."""

    exit_code = 2


class DataError(UserError):
    """A data file is malformed; the message names the file and line."""


class ConfigError(UserError):
    """A flag or configuration value is invalid; the message names it."""


class TeacherFatalError(UserError):
    """The teacher cannot work at all (bad key, unknown model): stop the run, keep what is written."""


class SandboxUnavailableError(UserError):
    """The sandbox cannot be isolated on this machine; the message says how to fix or opt out."""


class TeacherUnavailableError(UserError):
    """The teacher cannot be reached or keeps failing (outage, quota): stop, resume later."""

    exit_code = 4


class StorageError(UserError):
    """Writing the output failed (disk full, quota, read-only); what was written before stays."""
