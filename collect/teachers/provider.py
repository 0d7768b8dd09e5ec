"""``--teacher PROVIDER:MODEL`` → a ``TeacherProvider`` (from the plugin registry) → a ``Teacher``.

A provider is what a ``trajkit.teachers`` entry point names. It builds teachers and declares
what trajkit may do with them, so no other module ever tests a provider's name:

- ``cacheable``: answers are worth keeping in the response cache (a replay is not: it is
  already a recording);
- ``free``: its tokens cost nothing, so ``--max-cost`` needs no price and cost is 0;
- ``model_is_path``: the model part is a file (a replay), resolved relative to a job file;
- ``batchable`` and :meth:`TeacherProvider.batch_backend`: it has a provider batch API
  (``--mode batch``);
- ``prompt_caching``: its requests ask for prompt caching themselves (Anthropic's cache
  breakpoints), so its ``make`` takes ``prompt_cache`` (``--no-prompt-cache`` passes False);
  a provider that caches automatically (OpenAI) or not at all leaves it False;
- ``max_temperature``: the highest sampling temperature its API accepts (``--temperature``
  above it is refused before the run starts); ``None``: no upper bound known;
- ``supports_tools``: its teachers take ``complete(..., tools=...)`` and return the turn's
  native calls in ``Completion.tool_calls`` (``--action-format tools`` needs it; a plugin
  teacher that never heard of tool calling leaves it False and serves the other formats).
- ``can_go_down``: its calls can fail for a while (a service down or out of quota), so a
  streak of failed episodes stops the run as an outage (``--outage-streak``); a recording
  cannot, and its failures are the episodes' own;
- :meth:`TeacherProvider.check_tasks`: before a run starts, refuses a model that can answer
  none of its tasks (a recording of other tasks) and warns of those it cannot answer.

A plugin provider subclasses :class:`TeacherProvider`, sets ``name`` and implements
:meth:`TeacherProvider.make`; its teachers implement ``trajkit.collect.teachers.base.Teacher``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.rate_control import StatusHook
from trajkit.core import registry
from trajkit.core.errors import ConfigError

if TYPE_CHECKING:
    from trajkit.collect.teachers.batch_common import BatchBackend


class TeacherProvider:
    """Builds the teachers of one provider and declares what they support (see module doc)."""

    name: ClassVar[str] = ""
    cacheable: ClassVar[bool] = True
    free: ClassVar[bool] = False
    model_is_path: ClassVar[bool] = False
    batchable: ClassVar[bool] = False
    prompt_caching: ClassVar[bool] = False
    supports_tools: ClassVar[bool] = False
    max_temperature: ClassVar[float | None] = None
    can_go_down: ClassVar[bool] = True
    #: Shown in ``--teacher`` help and errors: how a user names one of its models.
    usage: ClassVar[str] = "PROVIDER:MODEL"

    def make(
        self,
        model: str,
        params: dict[str, Any],
        *,
        on_status: StatusHook | None = None,
        client_shards: int = 1,
    ) -> Teacher:
        """A teacher for ``model`` with sampling/client ``params``.

        Raise ``ConfigError``/``TeacherFatalError``/``DataError`` for what can never work
        (a missing key, an unreadable recording) now, before any episode starts.
        ``on_status`` should see the HTTP status of every response (adaptive concurrency);
        ``client_shards`` is how many HTTP clients to spread episodes over.
        """
        raise NotImplementedError

    def preload(self) -> None:
        """Import ahead what :meth:`make` will need (an SDK can take a quarter of a second to
        import). Called once, in a background thread, while a local run sets up; by default
        nothing. An import that fails here fails again in :meth:`make`, which reports it."""

    def cache_options(self, prompt_cache: bool) -> dict[str, Any]:
        """The keyword arguments of :meth:`make` that carry ``--no-prompt-cache``: none for a
        provider that does not declare ``prompt_caching`` (a plugin's ``make`` may not take
        them)."""
        return {"prompt_cache": prompt_cache} if self.prompt_caching else {}

    def record_model(self, model: str) -> str:
        """How a record names ``model`` when no teacher was built to say it (a record written
        for an episode that crashed before its first turn): the model as given by default."""
        return model

    def check_tasks(self, model: str, task_ids: Sequence[str]) -> str | None:
        """Before a run starts: raise ``ConfigError`` if ``model`` can answer none of the
        run's tasks (the caller names the flag), or return a warning line for the tasks it
        cannot answer. A live model can answer anything (``None``); a recording answers only
        the tasks it recorded."""
        return None

    def batch_backend(self, teacher: Teacher) -> BatchBackend:
        """The provider batch API behind ``teacher`` (only when ``batchable``)."""
        raise ConfigError(
            f"--mode batch: the {self.name} teacher has no batch API (use openai: or anthropic:)"
        )


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``PROVIDER:MODEL`` at the first colon (a replay path may contain more)."""
    provider, sep, model = spec.strip().partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if not sep or not provider or not model:
        raise ConfigError(f"--teacher {spec!r}: malformed, expected PROVIDER:MODEL ({_usages()})")
    return provider, model


def _usages() -> str:
    return "providers: " + ", ".join(registry.names("teacher"))


def get_provider(name: str, *, flag: str | None = None) -> TeacherProvider:
    """The provider registered as ``name`` (an instance, even if a class was registered)."""
    provider: TeacherProvider = registry.instance("teacher", name, flag=flag)
    return provider


def provider_for(spec: str) -> tuple[TeacherProvider, str]:
    """``(provider, model)`` for a ``--teacher`` value; errors name the flag."""
    name, model = parse_spec(spec)
    return get_provider(name, flag=f"--teacher {spec!r}"), model


def make_teacher(
    spec: str,
    params: dict[str, Any] | None = None,
    on_status: StatusHook | None = None,
    client_shards: int = 1,
) -> Teacher:
    """Build the teacher named by ``spec`` with sampling/client ``params``.

    Raises ``ConfigError`` for a bad spec, ``TeacherFatalError`` for a missing key and
    ``DataError`` for an unreadable replay file, all before any episode starts.
    """
    provider, model = provider_for(spec)
    return provider.make(model, dict(params or {}), on_status=on_status, client_shards=client_shards)
