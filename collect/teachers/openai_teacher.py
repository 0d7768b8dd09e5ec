"""OpenAI chat-completions teacher (also vLLM, Ollama, LiteLLM and other compatible servers).

Native tool calls: offered ``tools`` go out as ``{"type": "function", "function": ...}``
entries; an assistant turn that called functions is sent back with its ``tool_calls`` (and
``content: null`` when it said nothing), each result as a ``tool`` message naming its call.
Plain conversations are sent exactly as before, so their bodies (and batch files) are the same.

Key and endpoint come from the SDK's own ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` so a local
server is used by setting two env vars. Retries (429, 5xx, timeouts, dropped connections)
are left to the SDK's ``max_retries`` machinery; we only translate what it finally raises.
"""

from __future__ import annotations

import os
import time
from typing import Any

import openai

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
    restore_closing_tag,
    shard_for,
    split_params,
)
from trajkit.collect.teachers.rate_control import StatusHook, response_hook
from trajkit.core.errors import TeacherFatalError, TeacherUnavailableError
from trajkit.core.tool_schema import openai_tools
from trajkit.schemas import Message

# Request fields the SDK names explicitly; anything else in params (e.g. vLLM's ``top_k``,
# ``repetition_penalty``) goes through ``extra_body`` so compatible servers still get it.
_NAMED = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "reasoning_effort",
        "service_tier",
        "user",
    }
)
# 400 codes that will fail every call of the run (a config mistake, not a bad episode).
_FATAL_400_CODES = frozenset({"unsupported_parameter", "unsupported_value", "invalid_api_key"})


class OpenAITeacher(ProviderTeacher):
    """A teacher behind the OpenAI chat-completions endpoint, through ``AsyncOpenAI`` (non-streaming)."""

    provider = "openai"

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
    ) -> None:
        """Build the client; a missing key is a user error now, not a failure per episode.

        ``params`` holds sampling fields (temperature, max_tokens, top_p, seed, ...) plus the
        optional client options ``timeout`` (seconds) and ``max_retries``, which override the
        keyword arguments.
        """
        self.model = model
        self._params = dict(params or {})
        self._sampling, options = split_params(self._params)
        self._max_retries = int(options.get("max_retries", max_retries))
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise TeacherFatalError(
                f"{self.name}: no API key — set OPENAI_API_KEY (any non-empty value for a "
                "local vLLM/Ollama server given in OPENAI_BASE_URL)"
            )
        client_kwargs: dict[str, Any] = {
            "api_key": key,
            "max_retries": self._max_retries,
            "timeout": float(options.get("timeout", timeout)),
        }
        if base_url is not None:
            client_kwargs["base_url"] = base_url
        # Adaptive concurrency sees every status, retries included, through this hook.
        hooks = {"response": [response_hook(on_status)]} if on_status is not None else {}
        try:
            # Several small connection pools, not one big one: see ``common.shard_for``.
            shards = max(1, client_shards)
            shared = http_client_options(openai.DefaultAsyncHttpxClient, shards)
            self._clients = [
                openai.AsyncOpenAI(
                    **client_kwargs,
                    http_client=openai.DefaultAsyncHttpxClient(event_hooks=hooks, **shared),
                )
                for _ in range(shards)
            ]
            self._client = self._clients[0]  # batch endpoints, file uploads
        except (openai.OpenAIError, ValueError, TypeError) as exc:
            raise TeacherFatalError(f"{self.name}: cannot create client: {one_line(exc)}") from None

    def request_body(
        self,
        messages: list[Message],
        stop: list[str],
        tools: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The chat-completions JSON body for one turn (also one line of a batch file)."""
        named = {k: v for k, v in self._sampling.items() if k in _NAMED}
        extra = {k: v for k, v in self._sampling.items() if k not in _NAMED}
        if stop:
            named["stop"] = list(stop)
        body = {
            **extra,
            **named,
            "model": self.model,
            "messages": [openai_message(m) for m in messages],
        }
        if tools:
            body["tools"] = openai_tools(tools)
        return body

    async def complete(
        self,
        messages: list[Message],
        stop: list[str],
        *,
        task_id: str,
        tools: list[dict[str, Any]] | None = None,
    ) -> Completion:
        """One chat completion; the stripped closing-tag stop sequence is put back."""
        started = time.perf_counter()
        try:
            # A plain-JSON POST through the SDK keeps its auth, retries and error types but
            # skips its per-call type introspection of the params (~4 ms of CPU per call,
            # which caps throughput at thousands of concurrent episodes). The answer comes
            # back as plain JSON (``object``): ``to_completion`` checks every field itself.
            resp = await self._clients[shard_for(task_id, len(self._clients))].post(
                "/chat/completions",
                body=self.request_body(messages, stop, tools),
                cast_to=object,
                options={"security": {"bearer_auth": True}},  # what create() asks for
            )
        except openai.APIStatusError as exc:
            raise self._translate(exc) from exc
        except openai.APITimeoutError as exc:
            raise TeacherError(
                f"{self.name}: request timed out after {self._max_retries} retries"
            ) from exc
        except openai.APIConnectionError as exc:
            raise TeacherError(
                f"{self.name}: connection failed after {self._max_retries} retries: "
                f"{one_line(exc.__cause__ or exc)}"
            ) from exc
        except openai.OpenAIError as exc:  # e.g. a response that does not parse
            raise TeacherError(f"{self.name}: {one_line(exc)}") from exc
        except (ValueError, RecursionError) as exc:
            # A 200 whose body is not JSON (the SDK lets json's error out), or JSON nested
            # deeper than the parser recurses.
            raise TeacherError(
                f"{self.name}: malformed response body: {type(exc).__name__}: {one_line(exc)}"
            ) from exc
        return self.to_completion(resp, stop, time.perf_counter() - started)

    def to_completion(self, body: object, stop: list[str], latency: float) -> Completion:
        """A chat completion's decoded JSON (live, or a batch output line's ``body``) as the
        loop's ``Completion``; anything out of shape is a ``TeacherError`` (see ``shape``)."""
        try:
            return self._read(body, stop, latency)
        except shape.ShapeError as exc:
            raise TeacherError(f"{self.name}: malformed response: {exc}") from None

    def _read(self, body: object, stop: list[str], latency: float) -> Completion:
        resp = shape.mapping(body, "the response body")
        choices = resp.get("choices")
        if choices is None or choices == []:
            raise TeacherError(f"{self.name}: response had no choices")
        if not isinstance(choices, list):
            raise shape.ShapeError(f"choices is {shape.kind_of(choices)}, expected a list")
        choice = shape.mapping(choices[0], "choices[0]")
        message = shape.mapping(choice.get("message"), "choices[0].message")
        # ``null`` content is what a refusal or an empty answer looks like: an empty turn.
        text = shape.text(message.get("content"), "choices[0].message.content", null_ok=True)
        finish = shape.label(choice.get("finish_reason"), "choices[0].finish_reason")
        calls = shape.openai_tool_calls(message.get("tool_calls"), "choices[0].message.tool_calls")
        # A turn that called functions ended by calling them (some compatible servers still
        # say "stop"), never at a stop sequence: no tag to put back.
        if finish == "stop" and stop and not calls:
            text = _restore_stop(text, stop, choice)
        return Completion(
            text=text,
            usage=shape.openai_usage(resp.get("usage")),
            stop_reason=finish,
            latency_s=latency,
            raw={
                "id": shape.label(resp.get("id"), "id"),
                "model": shape.label(resp.get("model"), "model"),
                "finish_reason": finish,
            },
            tool_calls=calls,
        )

    def _translate(self, exc: openai.APIStatusError) -> Exception:
        """Map the SDK's final HTTP error onto fatal / context-limit / per-episode errors."""
        body = exc.body if isinstance(exc.body, dict) else {}
        msg = one_line(body.get("message") or exc.message)
        code = str(body.get("code") or "") or None
        return self.status_error(exc.status_code, msg, code)

    def status_error(self, status: int, msg: str, code: str | None = None) -> Exception:
        """The error for an HTTP ``status`` (a live call's, or one line of a batch error file)."""
        if status == 401:
            return TeacherFatalError(
                f"{self.name}: authentication failed (401) — check OPENAI_API_KEY: {msg}"
            )
        if status == 403:
            return TeacherFatalError(f"{self.name}: permission denied (403): {msg}")
        if status == 404:
            return TeacherFatalError(
                f"{self.name}: model not found (404) — check the model name and "
                f"OPENAI_BASE_URL: {msg}"
            )
        if status in (400, 413, 422):
            if is_context_limit(msg, code) or status == 413:
                return ContextLimitError(f"{self.name}: context limit exceeded: {msg}")
            if is_model_missing(msg, code):
                return TeacherFatalError(f"{self.name}: unknown model ({status}): {msg}")
            if code in _FATAL_400_CODES:
                return TeacherFatalError(f"{self.name}: request rejected ({status}, {code}): {msg}")
            return TeacherError(f"{self.name}: bad request ({status}): {msg}")
        if status == 429 and code == "insufficient_quota":
            return TeacherUnavailableError(f"{self.name}: quota exhausted (429): {msg}")
        error = RateLimitedError if status == 429 else TeacherError
        return error(f"{self.name}: HTTP {status} after {self._max_retries} retries: {msg}")

    async def aclose(self) -> None:
        """Close the SDK's HTTP connection pool."""
        for client in self._clients:
            await client.close()


def openai_message(message: Message) -> dict[str, Any]:
    """One message in chat-completions form: ``{role, content}`` for plain text (exactly as
    always), an assistant turn's ``tool_calls`` (``content: null`` when it said nothing), a
    ``tool`` message's ``tool_call_id``. ``is_error`` has no field here: a failed call's
    result text says so."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def _restore_stop(text: str, stop: list[str], extra: dict[str, Any]) -> str:
    """Put back the stop sequence the server cut.

    vLLM reports the matched stop string in a non-standard ``stop_reason`` field of the choice
    (``None`` for a natural end); when present it is exact, and only one of the requested stop
    sequences is ever appended. Otherwise (OpenAI) infer it from the unclosed opening tag.
    """
    if "stop_reason" in extra:
        matched = extra["stop_reason"]
        if isinstance(matched, str) and matched in stop and not text.endswith(matched):
            return text + matched
        return text
    return restore_closing_tag(text, stop)

