"""Loading a Hugging Face dataset split, shared by the sources that read the Hub.

One place decides how a Hub id, a local data folder or a ``save_to_disk`` directory becomes
rows, and how failures (no network, unknown dataset or split) become one-line ``DataError``s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError


def first_line(exc: BaseException) -> str:
    """``Type: first line of the message``: third-party errors are often pages long."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def load_hf_dataset(name: str, config: str | None, split: str) -> Any:
    """A ``datasets.Dataset``: from the Hub, a local data folder, or a ``save_to_disk`` dir
    (the local forms are also how the Hub path is tested offline)."""
    import datasets  # slow import, only needed here

    where = f"hf {name}" + (f" ({config})" if config else "")
    local = Path(name).expanduser()
    try:
        if local.is_dir() and any(
            (local / marker).exists() for marker in ("dataset_dict.json", "dataset_info.json")
        ):
            ds = datasets.load_from_disk(str(local))
        else:
            ds = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # network, unknown dataset, missing config: one line for users
        raise DataError(f"{where}: cannot load split {split!r}: {first_line(exc)}") from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(f"{where}: no split {split!r} (available: {', '.join(ds)})")
        ds = ds[split]
    return ds


def pick_records(
    options: Any,
    read_local: Callable[[str], Iterable[Any]],
    read_hf: Callable[[str, str | None, str | None], Iterable[Any]],
    sample: Path,
    noun: str,
) -> tuple[str, Iterable[Any]]:
    """``(origin, raw records)`` from ``--data``, ``--hf`` or the bundled sample, in that order;
    both flags at once is a one-line ``ConfigError``."""
    if options.data and options.hf:
        raise ConfigError(f"--data and --hf are mutually exclusive: pass one source of {noun}")
    if options.data:
        return options.data, read_local(options.data)
    if options.hf:
        return f"hf:{options.hf}", read_hf(options.hf, options.hf_config, options.split)
    return str(sample), read_local(str(sample))
