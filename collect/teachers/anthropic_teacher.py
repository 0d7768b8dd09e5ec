"""Anthropic Messages API teacher.

The Messages API differs from chat completions in ways the loop must not see: the system
prompt is a separate field, roles must alternate, ``max_tokens`` is required, and the matched
stop sequence is reported (``stop_sequence``) but cut from the text. Retries are the SDK's.

Prompt caching is opt-in per request on this API: unless ``prompt_cache=False``
(``--no-prompt-cache``), each request marks two cache breakpoints (``cache_control``), on the
system prompt and on the last message. The provider then writes the conversation so far to
its cache, and the next turn, which repeats it and adds two messages, reads it back at a tenth
of the input price instead of paying for it again; the system prompt's own breakpoint lets
every episode of a run (and every attempt) read the shared system prompt. Prefixes shorter
than the model's minimum (1024 tokens for most models) are not cached, at no cost.

Native tool calls: offered ``tools`` go out as ``{name, description, input_schema}``; an
assistant turn that called functions is sent back as content blocks (its text, then one
``tool_use`` block per call), and the results of a turn's calls as ONE user message whose
``tool_result`` blocks come first (the API requires them in the message right after the
calls, before any text). Plain conversations are sent exactly as before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import anthropic

from trajkit.collect.teachers import shape
from trajkit.collect.teachers.base import (
    Completion,
    ContextLimitError,
    RateLimitedError,
    TeacherError,
)
from trajkit.collect.teachers.common import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    ProviderTeacher,
    http_client_options,
    is_context_limit,
    is_model_missing,
    one_line,
    shard_for,
    split_params,
)
from trajkit.collect.teachers.rate_control import StatusHook, response_hook
from trajkit.core.errors import TeacherFatalError, TeacherUnavailableError
from trajkit.core.tool_arguments import refuse_constant
from trajkit.core.tool_schema import anthropic_tools
from trajkit.schemas import Message, ToolCall

DEFAULT_MAX_TOKENS = 1024
#: What a cache breakpoint asks for: the default five-minute cache, refreshed on each read.
EPHEMERAL = {"type": "ephemeral"}
# The API rejects empty or whitespace-only text blocks (e.g. an empty assistant turn).
_EMPTY_PLACEHOLDER = "(empty)"


class AnthropicTeacher(ProviderTeacher):
    """A teacher behind the Anthropic Messages endpoint, through ``AsyncAnthropic`` (non-streaming)."""

    provider = "anthropic"

    def __init__(
        self,
        model: str,
        params: dict[str, Any] | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float = DEFAULT_TIMEOUT_S,
        on_status: StatusHook | None = None,
        client_shards: int = 1,
        prompt_cache: bool = True,
    ) -> None:
        """Build the client; a missing key is a user error now, not a failure per episode.

        ``params``: ``max_tokens`` (default 1024), sampling fields (temperature, top_p,
        top_k, ...) sent as body fields, and client options ``timeout``/``max_retries``.
        ``ANTHROPIC_BASE_URL`` is honoured by the SDK. ``prompt_cache``: mark cache
        breakpoints (see the module doc); not part of ``params``, so it changes neither the
        record's teacher nor the response cache's key: the same conversation is the same
        answer either way.
        """
        self.model = model
        self.prompt_cache = prompt_cache
        self._params = dict(params or {})
        sampling, options = split_params(self._params)
        self._max_tokens = int(sampling.pop("max_tokens", DEFAULT_MAX_TOKENS))
        self._extra = sampling
        self._max_retries = int(options.get("max_retries", max_retries))
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        token = None if key else os.environ.get("ANTHROPIC_AUTH_TOKEN")
        if not key and not token:
            raise TeacherFatalError(f"{self.name}: no API key — set ANTHROPIC_API_KEY")
        client_kwargs: dict[str, Any] = {
            "max_retries": self._max_retries,
            "timeout": float(options.get("timeout", timeout)),
        }
        if key:
            client_kwargs["api_key"] = key
        else:
            client_kwargs["auth_token"] = token
        if base_url is not None:
            client_kwargs["base_url"] = base_url
        # Adaptive concurrency sees every status, retries included, through this hook.
        hooks = {"response": [response_hook(on_status)]} if on_status is not None else {}
        try:
            # Several small connection pools, not one big one: see ``common.shard_for``.
            shards = max(1, client_shards)
            shared = http_client_options(anthropic.DefaultAsyncHttpxClient, shards)
            self._clients = [
                anthropic.AsyncAnthropic(
                    **client_kwargs,
                    http_client=anthropic.DefaultAsyncHttpxClient(event_hooks=hooks, **shared),
                )
                for _ in range(shards)
            ]
            self._client = self._clients[0]  # batch endpoints, file uploads
        except (anthropic.AnthropicError, ValueError, TypeError) as exc:
            raise TeacherFatalError(f"{self.name}: cannot create client: {one_line(exc)}") from None

    def request_body(
        self,
        messages: list[Message],
        stop: list[str],
        tools: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The Messages API JSON body for one turn (also a batch request's ``params``)."""
        system, turns = to_anthropic_messages(messages)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self._max_tokens,
            "messages": with_breakpoint(turns) if self.prompt_cache else turns,
        }
        if system:
            kwargs["system"] = cached_block(system) if self.prompt_cache else system
        if stop:
            kwargs["stop_sequences"] = list(stop)
        if tools:
            kwargs["tools"] = anthropic_tools(tools)
        return {**self._extra, **kwargs}

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        """One Messages API call; the matched stop sequence is put back on the text."""
        body = self.request_body(messages, stop, tools)
        started = time.perf_counter()
        try:
            # A plain-JSON POST through the SDK: same auth, retries and error types as
            # messages.create(), without its per-call params introspection (CPU per turn).
            # The answer comes back as plain JSON: ``to_completion`` checks every field.
            client = self._clients[shard_for(task_id, len(self._clients))]
            resp = await client.post("/v1/messages", body=body, cast_to=object)
        except anthropic.APIStatusError as exc:
            raise self._translate(exc) from exc
        except anthropic.APITimeoutError as exc:
            raise TeacherError(
                f"{self.name}: request timed out after {self._max_retries} retries"
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise TeacherError(
                f"{self.name}: connection failed after {self._max_retries} retries: "
                f"{one_line(exc.__cause__ or exc)}"
            ) from exc
        except anthropic.AnthropicError as exc:
            raise TeacherError(f"{self.name}: {one_line(exc)}") from exc
        except (ValueError, RecursionError) as exc:
            # A 200 whose body is not JSON (the SDK lets json's error out), or JSON nested
            # deeper than the parser recurses.
            raise TeacherError(
                f"{self.name}: malformed response body: {type(exc).__name__}: {one_line(exc)}"
            ) from exc
        return self.to_completion(resp, time.perf_counter() - started, stop)

    def to_completion(
        self, body: object, latency: float, stop: Sequence[str] = ()
    ) -> Completion:
        """A message's decoded JSON (live, or a batch's succeeded result) as the loop's
        ``Completion``; anything out of shape is a ``TeacherError`` (see ``shape``).

        The matched stop sequence is put back only if it is one of ``stop``, the ones sent.
        """
        try:
            return self._read(shape.plain(body), latency, stop)
        except shape.ShapeError as exc:
            raise TeacherError(f"{self.name}: malformed response: {exc}") from None

    def _read(self, body: object, latency: float, stop: Sequence[str]) -> Completion:
        resp = shape.mapping(body, "the response body")
        reason = shape.label(resp.get("stop_reason"), "stop_reason")
        if reason == "model_context_window_exceeded":
            raise ContextLimitError(f"{self.name}: context window exceeded while generating")
        content = resp.get("content")
        if not isinstance(content, list):
            raise shape.ShapeError(f"content is {shape.kind_of(content)}, expected a list")
        parts = []
        calls: list[ToolCall] = []
        seen: set[str] = set()
        for i, block in enumerate(content):
            block = shape.mapping(block, f"content[{i}]")
            if block.get("type") == "text":  # thinking, server tools, ...: not part of the turn
                parts.append(shape.text(block.get("text"), f"content[{i}].text"))
            elif block.get("type") == "tool_use":
                calls.append(shape.anthropic_tool_use(block, len(calls), f"content[{i}]", seen))
        text = "".join(parts)
        matched = shape.label(resp.get("stop_sequence"), "stop_sequence")
        restore = reason == "stop_sequence" and matched is not None and matched in stop
        if restore and matched is not None and not text.endswith(matched):
            text += matched
        return Completion(
            text=text,
            usage=shape.anthropic_usage(resp.get("usage")),
            stop_reason=reason,
            latency_s=latency,
            raw={
                "id": shape.label(resp.get("id"), "id"),
                "model": shape.label(resp.get("model"), "model"),
                "stop_reason": reason,
                "stop_sequence": matched,
            },
            tool_calls=calls,
        )

    def _translate(self, exc: anthropic.APIStatusError) -> Exception:
        """Map the SDK's final HTTP error onto fatal / context-limit / per-episode errors."""
        return self.status_error(exc.status_code, one_line(exc.api_message or exc.message))

    def status_error(self, status: int, msg: str) -> Exception:
        """The error for an HTTP ``status`` (a live call's, or a batch result's error type)."""
        if status == 401:
            return TeacherFatalError(
                f"{self.name}: authentication failed (401) — check ANTHROPIC_API_KEY: {msg}"
            )
        if status in (402, 403):
            return TeacherFatalError(f"{self.name}: permission denied ({status}): {msg}")
        if status == 404:
            return TeacherFatalError(
                f"{self.name}: model not found (404) — check the model name and "
                f"ANTHROPIC_BASE_URL: {msg}"
            )
        if status == 413 or (status == 400 and is_context_limit(msg)):
            return ContextLimitError(f"{self.name}: context limit exceeded: {msg}")
        if status == 400 and is_model_missing(msg):
            return TeacherFatalError(f"{self.name}: unknown model (400): {msg}")
        if status == 400 and "credit balance" in msg.lower():
            return TeacherUnavailableError(f"{self.name}: billing problem (400): {msg}")
        if status in (400, 422):
            return TeacherError(f"{self.name}: bad request ({status}): {msg}")
        error = RateLimitedError if status == 429 else TeacherError
        return error(f"{self.name}: HTTP {status} after {self._max_retries} retries: {msg}")

    async def aclose(self) -> None:
        """Close the SDK's HTTP connection pool."""
        for client in self._clients:
            await client.close()


def to_anthropic_messages(messages: list[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Split off the system prompt and merge consecutive same-role turns.

    The Messages API takes ``system`` as its own field and requires user/assistant turns
    to alternate; the loop may legitimately produce two user turns in a row, and a turn's
    tool results (``tool`` messages, then maybe a user message) are one user turn there.
    Plain text turns keep string content (so plain requests are what they always were);
    a turn holding tool blocks is a block list.
    """
    system_parts = [m.content for m in messages if m.role == "system"]
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role, content = _turn(m)
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _merged(turns[-1]["content"], content)
        else:
            turns.append({"role": role, "content": content})
    for turn in turns:
        if isinstance(turn["content"], str) and not turn["content"].strip():
            turn["content"] = _EMPTY_PLACEHOLDER
    return "\n\n".join(system_parts), turns


def _turn(m: Message) -> tuple[str, str | list[dict[str, Any]]]:
    """One message's (role, content) on this API: text stays a string."""
    if m.role == "tool":
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": m.tool_call_id,
            # an empty result is sent as the placeholder, like an empty turn
            "content": m.content if m.content.strip() else _EMPTY_PLACEHOLDER,
        }
        if m.is_error:
            result["is_error"] = True
        return "user", [result]
    if m.role == "assistant" and m.tool_calls:
        blocks: list[dict[str, Any]] = (
            [{"type": "text", "text": m.content}] if m.content.strip() else []
        )
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": tool_input(c)}
            for c in m.tool_calls
        ]
        return "assistant", blocks
    return m.role, m.content


def _merged(
    first: str | list[dict[str, Any]], second: str | list[dict[str, Any]]
) -> str | list[dict[str, Any]]:
    """Two same-role turns as one: strings joined as before; otherwise blocks, the
    ``tool_result`` ones first (the API wants them before anything else in a user turn),
    adjacent text blocks joined, whitespace-only text left out (the API refuses it)."""
    if isinstance(first, str) and isinstance(second, str):
        return first + "\n\n" + second
    blocks = _blocks(first) + _blocks(second)
    ordered = [b for b in blocks if b["type"] == "tool_result"]
    for block in (b for b in blocks if b["type"] != "tool_result"):
        if block["type"] == "text" and ordered and ordered[-1]["type"] == "text":
            ordered[-1] = {"type": "text", "text": ordered[-1]["text"] + "\n\n" + block["text"]}
        else:
            ordered.append(block)
    return ordered


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content.strip() else []
    return [b for b in content if b["type"] != "text" or b["text"].strip()]


def tool_input(call: ToolCall) -> dict[str, Any]:
    """A call's arguments as the ``input`` object a ``tool_use`` block needs: the parsed
    JSON object, or ``{}`` when the teacher's arguments were not one (the record keeps
    them as made; this API cannot carry anything else)."""
    try:
        value = json.loads(call.arguments, parse_constant=refuse_constant)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def cached_block(text: str) -> list[dict[str, Any]]:
    """``text`` as one text block carrying a cache breakpoint: the prefix up to and including
    it is cached (the API takes breakpoints on content blocks only, not on plain strings)."""
    return [{"type": "text", "text": text, "cache_control": dict(EPHEMERAL)}]


def with_breakpoint(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``turns`` with a cache breakpoint on the last one (on its last block when it already
    is a block list, e.g. a turn's tool results).

    The next turn's request repeats this whole conversation: the provider finds the prefix
    written here (it looks back up to 20 blocks from the new breakpoint) and bills it as a
    cache read. One breakpoint here and one on the system prompt: two of the four allowed.
    """
    if not turns or not turns[-1]["content"]:
        return list(turns)
    last = turns[-1]
    content = last["content"]
    if isinstance(content, str):
        marked = cached_block(content)
    else:
        marked = [*content[:-1], {**content[-1], "cache_control": dict(EPHEMERAL)}]
    return [*turns[:-1], {"role": last["role"], "content": marked}]
