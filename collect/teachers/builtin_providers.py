"""The teacher providers trajkit ships: ``openai``, ``anthropic`` and ``replay``.

Registered as entry points (``trajkit.teachers``) like any other package's providers. Each
imports its SDK only when it builds a teacher, so listing plugins or naming ``replay:``
never loads the OpenAI or Anthropic SDK.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.provider import TeacherProvider
from trajkit.collect.teachers.rate_control import StatusHook
from trajkit.core.errors import ConfigError

if TYPE_CHECKING:
    from trajkit.collect.teachers.batch_common import BatchBackend


class OpenAIProvider(TeacherProvider):
    """``openai:MODEL``: chat completions on OpenAI or any compatible server (``OPENAI_BASE_URL``)."""

    name = "openai"
    batchable = True
    supports_tools = True
    max_temperature = 2.0
    usage = "openai:MODEL"

    def make(
        self,
        model: str,
        params: dict[str, Any],
        *,
        on_status: StatusHook | None = None,
        client_shards: int = 1,
    ) -> Teacher:
        from trajkit.collect.teachers.openai_teacher import OpenAITeacher

        return OpenAITeacher(model, params, on_status=on_status, client_shards=client_shards)

    def preload(self) -> None:
        import trajkit.collect.teachers.openai_teacher  # noqa: F401 - imported ahead

    def batch_backend(self, teacher: Teacher) -> BatchBackend:
        from trajkit.collect.teachers.openai_batch import OpenAIBatchBackend
        from trajkit.collect.teachers.openai_teacher import OpenAITeacher

        assert isinstance(teacher, OpenAITeacher)
        return OpenAIBatchBackend(teacher)


class AnthropicProvider(TeacherProvider):
    """``anthropic:MODEL``: the Messages API (``ANTHROPIC_BASE_URL`` for proxies)."""

    name = "anthropic"
    batchable = True
    prompt_caching = True
    supports_tools = True
    max_temperature = 1.0
    usage = "anthropic:MODEL"

    def make(
        self,
        model: str,
        params: dict[str, Any],
        *,
        on_status: StatusHook | None = None,
        client_shards: int = 1,
        prompt_cache: bool = True,
    ) -> Teacher:
        from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher

        return AnthropicTeacher(
            model, params, on_status=on_status, client_shards=client_shards,
            prompt_cache=prompt_cache,
        )

    def preload(self) -> None:
        import trajkit.collect.teachers.anthropic_teacher  # noqa: F401 - imported ahead

    def batch_backend(self, teacher: Teacher) -> BatchBackend:
        from trajkit.collect.teachers.anthropic_batch import AnthropicBatchBackend
        from trajkit.collect.teachers.anthropic_teacher import AnthropicTeacher

        assert isinstance(teacher, AnthropicTeacher)
        return AnthropicBatchBackend(teacher)


class ReplayProvider(TeacherProvider):
    """``replay:PATH``: recorded turns, no API. Free, and never cached (it is a recording).

    ``PATH`` is where the recording is on this machine (``model_is_path``: a job file's
    relative path is resolved against the job); records name the teacher by the file's name
    and content hash instead, and carry token counts a tokenizer made, not a bill
    (``collect.teachers.replay_teacher``).
    """

    name = "replay"
    cacheable = False
    free = True
    model_is_path = True
    can_go_down = False  # a task it did not record fails the same way every time
    supports_tools = True  # a recording may hold native turns (``replay_teacher``)
    usage = "replay:PATH"

    def make(
        self,
        model: str,
        params: dict[str, Any],
        *,
        on_status: StatusHook | None = None,
        client_shards: int = 1,
    ) -> Teacher:
        from trajkit.collect.teachers.replay_teacher import ReplayTeacher

        return ReplayTeacher(model, params)

    def check_tasks(self, model: str, task_ids: Sequence[str]) -> str | None:
        """A recording answers only its own tasks: none of the run's is a one-line error before
        anything starts (each episode would end as ``teacher_error``, and eight in a row read
        as a provider outage); some missing is a warning naming the first."""
        from trajkit.collect.teachers.replay_teacher import load_recording, recording_name

        digest, recordings = load_recording(Path(model))
        missing = [t for t in task_ids if t not in recordings]
        if not missing:
            return None
        name = f"replay:{recording_name(Path(model), digest)}"
        if len(missing) == len(task_ids):
            raise ConfigError(
                f"no recording for any of the run's {len(task_ids)} "
                f"task(s) (first: {missing[0]!r}; the recording's first: {next(iter(recordings))!r})"
            )
        return (
            f"warning: {name} has no recording for {len(missing)} of the run's {len(task_ids)} "
            f"task(s) (first: {missing[0]!r}); they will end as teacher_error"
        )

    def record_model(self, model: str) -> str:
        """``FILE@sha256:HASH``, as the teacher names itself; just ``FILE`` if unreadable."""
        from trajkit.collect.teachers.replay_teacher import recording_name, sha256_of

        try:
            return recording_name(Path(model), sha256_of(Path(model)))
        except OSError:
            return Path(model).name
