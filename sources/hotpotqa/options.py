"""``--source-opt KEY=VALUE`` settings of the HotpotQA source, parsed and checked up front.

Every mistake is a one-line ``ConfigError`` naming the option, raised before any episode
starts, so a typo never costs a half-finished run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from trajkit.core.errors import ConfigError
from trajkit.sources.options import number_option

DEFAULT_API = "https://en.wikipedia.org/w/api.php"
SEARCH_BACKENDS = ("context", "corpus", "live")
_F1_RULE = re.compile(r"^f1\s*>=\s*([0-9]*\.?[0-9]+)$")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/trajkit/hotpotqa``, i.e. ``~/.cache/trajkit/hotpotqa`` by default."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "trajkit" / "hotpotqa"


@dataclass(frozen=True)
class SuccessRule:
    """When a ``<solution>`` counts as correct: ``em``, ``f1>=T`` or ``contains``."""

    kind: str = "em"
    threshold: float = 1.0

    @classmethod
    def parse(cls, text: str) -> SuccessRule:
        value = text.strip().lower().replace(" ", "")
        if value in ("em", "contains"):
            return cls(value)
        m = _F1_RULE.match(value)
        if m and 0.0 <= float(m.group(1)) <= 1.0:
            return cls("f1", float(m.group(1)))
        raise ConfigError(
            f"--source-opt success={text!r}: use em, contains or f1>=T with 0 <= T <= 1"
        )

    def __str__(self) -> str:
        return f"f1>={self.threshold:g}" if self.kind == "f1" else self.kind


@dataclass(frozen=True)
class HotpotQAOptions:
    """Everything configurable about the source; the defaults need no option at all."""

    search: str = "context"
    corpus: Path | None = None
    cache: Path = field(default_factory=default_cache_dir)
    api: str = DEFAULT_API
    rate: float = 4.0
    user_agent: str | None = None
    timeout: float = 10.0
    top_k: int = 3
    summary_chars: int = 500
    success: SuccessRule = field(default_factory=SuccessRule)

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> HotpotQAOptions:
        """Build from ``--source-opt`` strings; unknown keys and bad values are ConfigErrors."""
        known = {
            "search",
            "corpus",
            "cache",
            "api",
            "rate",
            "user_agent",
            "timeout",
            "top_k",
            "summary_chars",
            "success",
        }
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"--source-opt {unknown[0]}: unknown option for hotpotqa "
                f"(known: {', '.join(sorted(known))})"
            )
        kw: dict[str, object] = {}
        search = raw.get("search", "context").strip().lower()
        if search not in SEARCH_BACKENDS:
            raise ConfigError(
                f"--source-opt search={search!r}: use one of {', '.join(SEARCH_BACKENDS)}"
            )
        kw["search"] = search
        if "corpus" in raw:
            if search != "corpus":
                raise ConfigError("--source-opt corpus=...: only used with search=corpus")
            corpus = Path(raw["corpus"]).expanduser()
            if not corpus.is_file():
                raise ConfigError(f"--source-opt corpus={raw['corpus']}: no such file")
            kw["corpus"] = corpus
        elif search == "corpus":
            raise ConfigError(
                "--source-opt search=corpus needs corpus=PATH (a JSONL of {title, text})"
            )
        for name in ("api", "rate", "user_agent", "timeout"):
            if name in raw and search != "live":
                raise ConfigError(f"--source-opt {name}=...: only used with search=live")
        if "cache" in raw:
            kw["cache"] = Path(raw["cache"]).expanduser()
        if "api" in raw:
            if not raw["api"].startswith(("http://", "https://")):
                raise ConfigError(f"--source-opt api={raw['api']!r}: expected an http(s) URL")
            kw["api"] = raw["api"]
        if "user_agent" in raw:
            if not raw["user_agent"].strip():
                raise ConfigError("--source-opt user_agent: must not be empty")
            kw["user_agent"] = raw["user_agent"].strip()
        kw.update(_numbers(raw))
        if "success" in raw:
            kw["success"] = SuccessRule.parse(raw["success"])
        return cls(**kw)  # type: ignore[arg-type]


def _numbers(raw: Mapping[str, str]) -> dict[str, float | int]:
    limits: dict[str, tuple[type, float, float]] = {
        "rate": (float, 0.01, 100.0),
        "timeout": (float, 0.1, 600.0),
        "top_k": (int, 1, 10),
        "summary_chars": (int, 50, 4000),
    }
    return {
        name: number_option(raw, name, kind, lo, hi, 0)
        for name, (kind, lo, hi) in limits.items()
        if name in raw
    }
