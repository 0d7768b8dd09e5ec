"""Helpers shared by the teachers: stop-sequence handling, error wording, option splitting.

Kept free of any SDK import so the replay teacher (and tests) never pay for loading one.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Sequence
from typing import Any

from trajkit.schemas import TeacherInfo
from trajkit.schemas.text import valid_text

#: Keys of a teacher's ``params`` that configure the HTTP client rather than sampling.
CLIENT_OPTION_KEYS = ("timeout", "max_retries")

DEFAULT_MAX_RETRIES = 6
DEFAULT_TIMEOUT_S = 600.0

# Wordings vendors and OpenAI-compatible servers (vLLM, Ollama, LiteLLM) use when the
# conversation does not fit; matched case-insensitively against the error message/code.
_CONTEXT_RE = re.compile(
    r"context_length_exceeded|maximum context length|context (length|window|limit)"
    r"|prompt is too long|too many (input )?tokens|input is too long",
    re.IGNORECASE,
)
# A 400 that really means "this model does not exist" (some proxies do not use 404).
_MODEL_MISSING_RE = re.compile(
    r"model\b.*\b(does not exist|not found|not exist|is not available|unknown)"
    r"|(unknown|invalid) model|model_not_found",
    re.IGNORECASE,
)
_CLOSING_TAG_RE = re.compile(r"^</([A-Za-z][\w-]*)>$")
# A stop sequence ``End X`` closes a block opened by ``X:`` (``Action: ... End Action``).
_END_WORD_RE = re.compile(r"^End ([A-Za-z]\w*)$")


def http_client_options(http_client_class: type, shards: int) -> dict[str, Any]:
    """Options every shard's HTTP client shares: one TLS context for all of them.

    Each httpx client otherwise builds its own, loading the CA bundle (~20 ms of CPU); at 16
    shards that was a third of a second of start-up. The context is made by the HTTP library
    the SDK itself uses (``create_ssl_context()`` with its defaults, environment variables
    included), so it is the one each client would have built.
    """
    if shards <= 1:
        return {}
    for cls in http_client_class.__mro__:
        package = sys.modules.get(cls.__module__.split(".")[0])
        make = getattr(package, "create_ssl_context", None)
        if callable(make):
            return {"verify": make()}
    return {}


#: Connections per HTTP client: httpx's pool scans (and polls) every connection it holds on
#: each request, so one pool of 256 connections costs O(256) syscalls per call; a teacher at
#: high concurrency spreads its episodes over several pools of about this size instead.
CONNECTIONS_PER_CLIENT = 16


def client_shards(concurrency: int) -> int:
    """How many HTTP clients a teacher running ``concurrency`` episodes should hold."""
    return max(1, -(-concurrency // CONNECTIONS_PER_CLIENT))


def shard_for(task_id: str, shards: int) -> int:
    """The client an episode uses: stable per task, so its turns reuse warm connections."""
    return zlib.crc32(task_id.encode()) % shards if shards > 1 else 0


def split_params(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``params`` into (sampling params sent with each request, client options).

    One ``params`` dict comes from the CLI; ``timeout``/``max_retries`` tune the SDK's own
    retry machinery and must not be sent to the API as body fields.
    """
    sampling = {k: v for k, v in params.items() if k not in CLIENT_OPTION_KEYS}
    options = {k: params[k] for k in CLIENT_OPTION_KEYS if k in params}
    return sampling, options


def one_line(text: object, limit: int = 300) -> str:
    """Collapse whitespace and cap length: errors must print as a single readable line.

    Made valid Unicode too: an error body quotes what the server sent, and the line ends up in
    a record's ``termination_detail``.
    """
    flat = valid_text(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def is_context_limit(message: str, code: str | None = None) -> bool:
    """True when a 400's message or code says the conversation exceeds the context window."""
    return bool(_CONTEXT_RE.search(message) or (code and _CONTEXT_RE.search(code)))


def is_model_missing(message: str, code: str | None = None) -> bool:
    """True when an error says the requested model does not exist."""
    return bool(_MODEL_MISSING_RE.search(message) or (code and _MODEL_MISSING_RE.search(code)))


def restore_closing_tag(text: str, stop: Sequence[str]) -> str:
    """Re-append a stripped closing stop sequence (``</execute>``, ``End Action``) to ``text``.

    OpenAI-style APIs cut the matched stop sequence and do not say which one matched, so we
    infer it: only a stop sequence that closes something still open in ``text`` is restored
    (the innermost/last-opened wins): a closing tag whose opening tag is unclosed, or
    ``End X`` after an ``X:`` with no ``End X`` since (the written-call formats' ``Action:
    ... End Action``). A natural end of turn leaves nothing open, so it never gets a bogus
    closing.
    """
    best: str | None = None
    best_pos = -1
    for seq in stop:
        m = _CLOSING_TAG_RE.match(seq)
        ended = _END_WORD_RE.match(seq)
        if m:
            opener = rf"<{re.escape(m.group(1))}(\s[^<>]*)?>"
        elif ended:
            opener = rf"(?<![A-Za-z0-9_]){re.escape(ended.group(1))}:"
        else:
            continue
        opens = list(re.finditer(opener, text))
        if not opens:
            continue
        pos = opens[-1].start()
        if seq in text[pos:]:
            continue  # already closed
        if pos > best_pos:
            best, best_pos = seq, pos
    return text + best if best is not None else text


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, str | None]:
    """Cut ``text`` where a generating model would have hit a stop sequence, keeping it.

    Returns ``(text_with_stop_restored, matched_stop_or_None)``. The stop that completes
    first while generating (earliest end) wins, as with a streaming vendor.
    """
    best: tuple[int, int, str] | None = None
    for seq in stop:
        if not seq:
            continue
        i = text.find(seq)
        if i >= 0:
            cand = (i + len(seq), i, seq)
            if best is None or cand[:2] < best[:2]:
                best = cand
    if best is None:
        return text, None
    end, _, seq = best
    return text[:end], seq


class ProviderTeacher:
    """What the SDK-backed teachers share: their name in messages and their record entry."""

    provider: str
    model: str
    _params: dict[str, Any]

    @property
    def name(self) -> str:
        """``PROVIDER:MODEL``, the prefix of every error message the teacher raises."""
        return f"{self.provider}:{self.model}"

    @property
    def info(self) -> TeacherInfo:
        """What goes into each trajectory's ``teacher`` field."""
        return TeacherInfo(provider=self.provider, model=self.model, params=self._params)
