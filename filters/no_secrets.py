"""``no-secrets``: drop any trajectory holding something shaped like a credential.

Teachers echo environment variables, tool output can print config files, and a dataset is
published: one leaked key in a training set is a leak to everyone who downloads it and to
every model trained on it. So this scans the *whole* record as it will be written (every
message, observation, answer, score detail, teacher param, task reference and metadata), not
just the conversation, and prefers a false positive (one record lost) to a miss.

The reason names the pattern (``secret:github-token``), never the matched text, so the
manifest, the table and the logs can not leak what was found.
"""

from __future__ import annotations

import re
from typing import Any

from trajkit.filters.base import KEEP, Decision, Drop
from trajkit.schemas import Trajectory

# Not preceded by a key character, or preceded by a JSON escape (``\n``, ``\t``, ``\r``): the
# record is scanned in its JSON form, where a key at a line start follows ``\n``.
_B = r"(?:(?<![A-Za-z0-9_-])|(?<=\\[nrt]))"
_E = r"(?![A-Za-z0-9])"

# (name, pattern). Order matters where one prefix contains another: the first alternative
# matching at a position names the match, so specific shapes come before general ones.
PATTERNS: tuple[tuple[str, str], ...] = (
    ("private-key", r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
    ("anthropic-key", _B + r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai-project-key", _B + r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"),
    ("openai-key", _B + r"sk-[A-Za-z0-9]{20,}" + _E),
    ("stripe-key", _B + r"[rs]k_(?:live|test)_[A-Za-z0-9]{20,}"),
    ("huggingface-token", _B + r"hf_[A-Za-z0-9]{30,}" + _E),
    ("aws-access-key-id", _B + r"(?:AKIA|ASIA)[0-9A-Z]{16}" + _E),
    ("github-token", _B + r"gh[pousr]_[A-Za-z0-9]{36,}" + _E),
    ("github-pat", _B + r"github_pat_[A-Za-z0-9_]{22,}"),
    ("slack-token", _B + r"xox[abposr]-[A-Za-z0-9-]{10,}"),
    ("google-api-key", _B + r"AIza[0-9A-Za-z_-]{35}"),
    ("jwt", _B + r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
)

_REGEX = re.compile("|".join(f"(?P<{name.replace('-', '_')}>{pat})" for name, pat in PATTERNS))
_NAMES = {name.replace("-", "_"): name for name, _ in PATTERNS}

# Every pattern contains one of these; a record with none of them is clean. Plain substrings
# and expressions starting with a literal are scanned at memchr-like speed, far faster than the
# combined expression, and grouping the lookalike prefixes halves the number of scans.
_MARKERS = ("PRIVATE KEY", "sk-", "hf_", "xox", "eyJ", "github_pat_")
_MARKER_RES = tuple(re.compile(p) for p in (r"k_(?:live|test)_", r"A(?:KIA|SIA|Iza)", r"gh[pousr]_"))


def find_secret(text: str) -> str | None:
    """The name of the first credential pattern found in ``text``, or ``None``."""
    if not any(m in text for m in _MARKERS) and not any(r.search(text) for r in _MARKER_RES):
        return None
    match = _REGEX.search(text)
    return _NAMES[match.lastgroup] if match is not None and match.lastgroup else None


class NoSecretsFilter:
    """Drops ``secret:PATTERN`` when :func:`find_secret` matches the serialised record."""

    name = "no-secrets"

    @property
    def params(self) -> dict[str, Any]:
        return {}

    def decide(self, traj: Trajectory) -> Decision:
        found = find_secret(traj.model_dump_json())
        return Drop(f"secret:{found}") if found else KEEP
