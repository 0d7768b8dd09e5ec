"""The ``trajkit filter`` chain flags → a ``FilterChain``, units in the order the flags were given.

Order is meaning: ``--dedup exact --keep success`` picks the best copy among *all* records and
then drops failures, ``--keep success --dedup exact`` dedups only the successful ones. So the
CLI passes the order in which options occurred (``ChainFlags.order``) and this module walks it.

Rules:

- no ``--keep``/``--preset`` at all ⇒ the default preset (success, self-correct) comes first,
  so ``--dedup exact`` alone means "the default dataset, deduplicated"; ``--keep all`` opts out;
- flags that configure one unit collapse into it at the first one's position:
  ``--min-turns``/``--max-turns`` → ``turns``; ``--min-tokens``/``--max-tokens`` (+``--tokenizer``)
  → ``tokens``; every ``--decontaminate PATH`` (+``--ngram``, ``--decontaminate-field``) →
  one ``decontaminate``; every ``--balance`` item → one ``balance``;
- a unit identical (name and params) to an earlier one is not added twice;
- any bad value is a one-line ``ConfigError`` naming the flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError
from trajkit.filters.base import Filter, ParamError
from trajkit.filters.chain import FilterChain
from trajkit.filters.presets import KEEP_ALL, PRESETS, default_units, keep_unit
from trajkit.filters.registry import build_unit

# Unit param → the flag a user sets it with, for error messages.
PARAM_FLAGS = {
    "min_turns": "--min-turns", "max_turns": "--max-turns", "min_tokens": "--min-tokens",
    "max_tokens": "--max-tokens", "tokenizer": "--tokenizer", "mode": "--dedup",
    "threshold": "--dedup", "paths": "--decontaminate", "sha256": "--decontaminate",
    "n": "--ngram", "field": "--decontaminate-field", "limits": "--balance", "by": "--balance",
    "seed": "--balance",
}
CHAIN_OPTIONS = (
    "keep", "preset", "dedup", "min_turns", "max_turns", "min_tokens", "max_tokens",
    "no_secrets", "valid_format", "decontaminate", "balance",
)


@dataclass
class ChainFlags:
    """The raw chain flag values (strings, so a bad number is our one-line error, not a usage
    screen) and ``order``: option names in command-line order, one entry per occurrence."""

    order: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    preset: list[str] = field(default_factory=list)
    dedup: list[str] = field(default_factory=list)
    min_turns: str | None = None
    max_turns: str | None = None
    min_tokens: str | None = None
    max_tokens: str | None = None
    tokenizer: str | None = None
    no_secrets: bool = False
    valid_format: bool = False
    decontaminate: list[Path] = field(default_factory=list)
    ngram: str | None = None
    decontaminate_field: str | None = None
    balance: list[str] = field(default_factory=list)

    def any_chain_flag(self) -> bool:
        return any(name in CHAIN_OPTIONS for name in self.order)


def _int(flag: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{flag}: expected a whole number, got {value!r}") from None


def _unit(name: str, params: dict[str, Any]) -> Filter:
    try:
        return build_unit(name, params)
    except ParamError as exc:
        raise ConfigError(f"{PARAM_FLAGS.get(exc.param, '--' + name)}: {exc.message}") from None


def parse_dedup(value: str) -> dict[str, Any]:
    """``exact`` | ``near`` | ``near:THRESHOLD`` → dedup params."""
    mode, sep, rest = value.strip().partition(":")
    if mode == "exact" and not sep:
        return {"mode": "exact"}
    if mode == "near":
        if not sep:
            return {"mode": "near"}
        try:
            return {"mode": "near", "threshold": float(rest)}
        except ValueError:
            pass
    raise ConfigError(f"--dedup: expected exact, near or near:THRESHOLD (e.g. near:0.85), got {value!r}")


def parse_balance(values: list[str]) -> dict[str, Any]:
    """``--balance`` items → balance params.

    Items (repeat the flag or separate with commas): ``FIELDS=LIMIT`` limits every group,
    ``FIELDS:GROUP=LIMIT`` one group, ``seed=N``. FIELDS is ``source`` or a ``task.metadata``
    key, several joined with ``+`` (``source+level``); GROUP joins their values with ``/``
    (``source+level:math/Level 5=50``). LIMIT is a count (``500``) or a fraction (``0.3``).
    """
    by: str | None = None
    limits: dict[str, int | float] = {}
    params: dict[str, Any] = {}
    for raw in values:
        for item in (i.strip() for i in raw.split(",")):
            if not item:
                continue
            key, sep, value = item.rpartition("=")
            if not sep or not key:
                raise ConfigError(f"--balance: expected FIELD=LIMIT or FIELD:GROUP=LIMIT, got {item!r}")
            if key == "seed":
                params["seed"] = _int("--balance seed", value)
                continue
            fields, _, group = key.partition(":")
            if by is not None and fields != by:
                raise ConfigError(f"--balance: one grouping per chain, got {by} and {fields} (use {by}+{fields})")
            by = fields
            limit: int | float
            try:
                limit = int(value)
            except ValueError:
                try:
                    limit = float(value)
                except ValueError:
                    raise ConfigError(f"--balance {item}: limit must be a count or a fraction") from None
            limits[group or "*"] = limit
    if by is None:
        raise ConfigError("--balance: give at least one FIELD=LIMIT (e.g. source=1000)")
    return {"limits": limits, "by": by.split("+"), **params}


def _keep_units(value: str) -> list[Filter] | None:
    """Units for one ``--keep`` value (``None`` for ``all``)."""
    names = [n.strip() for n in value.split(",") if n.strip()]
    if KEEP_ALL in names:
        if len(names) > 1:
            raise ConfigError(f"--keep: '{KEEP_ALL}' cannot be combined with other filters")
        return None
    return [keep_unit(name) for name in names]


def chain_from_flags(flags: ChainFlags) -> FilterChain:
    """The chain the flags describe (see the module docstring for the rules)."""
    for modifier, needs, what in (
        ("tokenizer", ("min_tokens", "max_tokens"), "--min-tokens or --max-tokens"),
        ("ngram", ("decontaminate",), "--decontaminate"),
        ("decontaminate_field", ("decontaminate",), "--decontaminate"),
    ):
        if getattr(flags, modifier) is not None and not any(n in flags.order for n in needs):
            raise ConfigError(f"--{modifier.replace('_', '-')}: only applies with {what}")
    units: list[Filter] = []
    keep_all = False
    counters: dict[str, int] = {}
    done: set[str] = set()
    for option in flags.order:
        i = counters.get(option, 0)
        counters[option] = i + 1
        if option == "keep":
            got = _keep_units(flags.keep[i])
            keep_all = keep_all or got is None
            units += got or []
        elif option == "preset":
            name = flags.preset[i]
            if name not in PRESETS:
                raise ConfigError(f"--preset: unknown preset {name!r} (choose from: {', '.join(PRESETS)})")
            units += PRESETS[name]()
        elif option == "dedup":
            units.append(_unit("dedup", parse_dedup(flags.dedup[i])))
        elif option in ("no_secrets", "valid_format"):
            units.append(_unit(option.replace("_", "-"), {}))
        elif option in ("min_turns", "max_turns") and "turns" not in done:
            done.add("turns")
            units.append(_unit("turns", {"min_turns": _int("--min-turns", flags.min_turns),
                                         "max_turns": _int("--max-turns", flags.max_turns)}))
        elif option in ("min_tokens", "max_tokens") and "tokens" not in done:
            done.add("tokens")
            params: dict[str, Any] = {"min_tokens": _int("--min-tokens", flags.min_tokens),
                                      "max_tokens": _int("--max-tokens", flags.max_tokens)}
            if flags.tokenizer is not None:
                params["tokenizer"] = flags.tokenizer
            units.append(_unit("tokens", params))
        elif option == "decontaminate" and option not in done:
            done.add(option)
            params = {"paths": [str(p) for p in flags.decontaminate],
                      "field": flags.decontaminate_field}
            if flags.ngram is not None:
                params["n"] = _int("--ngram", flags.ngram)
            units.append(_unit("decontaminate", params))
        elif option == "balance" and option not in done:
            done.add(option)
            units.append(_unit("balance", parse_balance(flags.balance)))
    if not keep_all and not any(o in ("keep", "preset") for o in flags.order):
        units = default_units() + units
    return FilterChain(_unique(units))


def _unique(units: list[Filter]) -> list[Filter]:
    seen: list[tuple[str, dict[str, Any]]] = []
    out = []
    for unit in units:
        spec = (unit.name, unit.params)
        if spec not in seen:
            seen.append(spec)
            out.append(unit)
    return out
