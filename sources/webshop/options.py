"""``--source-opt KEY=VALUE`` settings of the WebShop source, checked before any episode.

``backend=local`` (default) runs trajkit's own WebShop over the ``--data`` folder (or the
bundled sample); ``backend=server url=http://HOST:3000`` drives a real WebShop server.
``success_threshold`` (default 1.0: only a perfect purchase counts as solved), ``max_steps``
(actions per episode, default 50) and, for the server, ``goals=START:END`` (which ``fixed_i``
sessions to play when ``--split`` does not say).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trajkit.core.errors import ConfigError
from trajkit.sources.options import number_option

BACKENDS = ("local", "server")
KNOWN = ("backend", "url", "success_threshold", "max_steps", "goals", "timeout")


@dataclass(frozen=True)
class WebShopOptions:
    backend: str = "local"
    url: str | None = None
    success_threshold: float = 1.0
    max_steps: int = 50
    goals: tuple[int, int] | None = None
    timeout: float = 30.0

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> WebShopOptions:
        """Build from ``--source-opt`` strings; unknown keys and bad values are ConfigErrors."""
        unknown = sorted(set(raw) - set(KNOWN))
        if unknown:
            raise ConfigError(
                f"--source-opt {unknown[0]}: unknown option for webshop (known: {', '.join(KNOWN)})"
            )
        backend = raw.get("backend", "local").strip().lower()
        if backend not in BACKENDS:
            raise ConfigError(f"--source-opt backend={backend!r}: use local or server")
        url = raw.get("url")
        if backend == "server":
            if not url or not url.startswith(("http://", "https://")):
                raise ConfigError(
                    "--source-opt backend=server needs url=http://HOST:PORT (a WebShop server)"
                )
        elif url is not None or "goals" in raw:
            raise ConfigError("--source-opt url/goals: only used with backend=server")
        return cls(
            backend=backend,
            url=url.rstrip("/") if url else None,
            success_threshold=number_option(raw, "success_threshold", float, 0.0, 10.0, 1.0),
            max_steps=int(number_option(raw, "max_steps", int, 1, 10_000, 50)),
            goals=_range(raw["goals"]) if "goals" in raw else None,
            timeout=number_option(raw, "timeout", float, 0.1, 600.0, 30.0),
        )


def _range(text: str) -> tuple[int, int]:
    start, sep, end = text.partition(":")
    try:
        lo, hi = int(start or 0), int(end)
    except ValueError:
        raise ConfigError(f"--source-opt goals={text!r}: expected START:END, e.g. 0:500") from None
    if not sep or lo < 0 or hi <= lo:
        raise ConfigError(f"--source-opt goals={text!r}: expected START:END with START < END")
    return lo, hi
