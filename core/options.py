"""What every command's options model shares: flag names, ``KEY=VALUE`` pairs, one-line errors.

A command's options model (``CollectOptions``, ``FilterOptions``, ...) is the single truth
of that command: the typer command, the job file and the Python call all build it, so they
accept the same names, defaults and values and fail with the same messages. Field ``limit``
is flag ``--limit`` and keyword ``limit=``; a model may rename a flag in ``cli_flags``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from trajkit.core.errors import ConfigError


class CommandOptions(BaseModel):
    """Base of the per-command options models.

    Every float option must be a finite number: ``nan`` and ``inf`` (which click and TOML
    both parse) are refused as ``--flag: Input should be a finite number`` before anything
    runs, for every model, so no field has to remember it.

    ``cli_arguments`` are positional on the command line; ``cli_flags`` renames a field's
    flag; ``cli_metavars`` and ``cli_panels`` only change ``--help``. None of them change
    what a value means.
    """

    model_config = ConfigDict(extra="forbid", validate_default=False, allow_inf_nan=False)

    cli_arguments: ClassVar[tuple[str, ...]] = ()
    cli_flags: ClassVar[dict[str, str]] = {}
    cli_metavars: ClassVar[dict[str, str]] = {}
    cli_panels: ClassVar[dict[str, str]] = {}

    @classmethod
    def flag(cls, field: str) -> str:
        """How a user names ``field`` on the command line (``--max-turns``, ``SOURCE``)."""
        if field in cls.cli_arguments:
            return cls.cli_metavars.get(field, field.upper())
        return cls.cli_flags.get(field, "--" + field.replace("_", "-"))

    @classmethod
    def build(cls, **values: Any) -> Any:
        """Validate ``values``; every mistake is one ``ConfigError`` naming the flag."""
        try:
            return cls(**values)
        except ValidationError as exc:
            raise options_error(exc, cls.flag) from None


def options_error(exc: ValidationError, flag_for: Any = None) -> ConfigError:
    """The first problem of ``exc`` as one line: ``--flag: what is wrong``."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"]]
    field = loc[0] if loc else ""
    if first["type"] == "extra_forbidden":
        return ConfigError(f"{field}: unknown option")
    name = flag_for(field) if flag_for is not None and field else field
    message = first["msg"].removeprefix("Value error, ")
    return ConfigError(f"{name}: {message}" if name else message)  # no field: names its flags


def parse_pairs(values: Any, flag: str) -> dict[str, str]:
    """``KEY=VALUE`` strings (a list, or one string) or a mapping → ``{key: value}``.

    Mapping values become strings (``True`` → ``true``), so ``source_opt={"top_k": 3}`` in
    Python means what ``--source-opt top_k=3`` means on the command line.
    """
    if values is None:
        return {}
    if isinstance(values, Mapping):
        return {str(k).strip(): _text(v) for k, v in values.items()}
    if isinstance(values, str):
        values = [values]
    pairs: dict[str, str] = {}
    for pair in values:
        if not isinstance(pair, str):
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE")
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_list(value: Any) -> Any:
    """A single value where a list is expected becomes a one-item list (``level="Level 5"``)."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def output_dir(value: Any) -> Any:
    """An output root (``--out``) as given, unless the path or one of its parents is an
    existing non-directory (a regular file): then a ``ValueError`` naming it, so an options
    model's validator reports it as ``--out: ...`` before anything is written."""
    if not isinstance(value, (str, Path)):
        return value
    probe = Path(value)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ValueError(f"{probe} is not a directory")
    return value
