"""``trajkit.plugins()``: what is registered, from which package, with which options.

Listing imports each entry (that is how its options and capabilities are known); an entry
that fails to import, or needs an extra that is missing, is listed with the reason instead
of breaking the listing.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from trajkit.core import registry
from trajkit.core.errors import PluginError

#: The default shown for an option that has none (it must be given).
REQUIRED = "<required>"


@dataclass
class PluginInfo:
    """One registered name. ``status`` is ``ok``, ``needs extra`` or ``broken`` (``detail``
    says why); ``options`` maps each option to its default (``REQUIRED`` when it has none)."""

    kind: str
    name: str
    package: str
    target: str | None
    status: str = "ok"
    detail: str = ""
    summary: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    shadowed: list[str] = field(default_factory=list)


def plugins(kind: str | None = None) -> list[PluginInfo]:
    """Every registered entry (of one ``kind``: source, teacher, filter, sandbox, executor,
    judge, action_format)."""
    kinds = [kind] if kind is not None else list(registry.KINDS)
    found = []
    for k in kinds:
        if k not in registry.KINDS:
            raise PluginError(f"unknown plugin kind {k!r} (kinds: {', '.join(registry.KINDS)})")
        for entry in registry.REGISTRY.entries(k):
            found.append(_describe(entry))
    return found


def _describe(entry: registry.Entry) -> PluginInfo:
    info = PluginInfo(
        entry.kind, entry.name, entry.package, entry.target,
        shadowed=[f"{e.package} ({e.target})" for e in entry.shadowed],
    )
    hints = entry.missing_extras()
    if hints:
        info.status, info.detail = "needs extra", hints[0]
        return info
    try:
        obj = entry.load()
    except PluginError as exc:
        info.status, info.detail = "broken", str(exc)
        return info
    info.summary = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ").replace("``", "")
    info.options = _options(entry.kind, obj)
    info.capabilities = _capabilities(entry.kind, obj)
    return info


def _options(kind: str, obj: Any) -> dict[str, Any]:
    if kind in ("source", "judge"):  # both take options from an ``options_model``
        model = getattr(obj, "options_model", None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            return {
                name: REQUIRED if f.is_required() else f.get_default(call_default_factory=True)
                for name, f in model.model_fields.items()
            }
        if isinstance(model, type) and dataclasses.is_dataclass(model):
            return {f.name: _dataclass_default(f) for f in dataclasses.fields(model)}
        return {}
    if kind == "filter":
        target = obj.__init__ if inspect.isclass(obj) else obj
        return {
            p.name: REQUIRED if p.default is inspect.Parameter.empty else p.default
            for p in inspect.signature(target).parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
    return {}


def _dataclass_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return REQUIRED


_FLAGS = {
    "source": ("demo_replay", "typical_episode"),
    "teacher": ("cacheable", "batchable", "free", "model_is_path"),
    "sandbox": ("supports_pool",),
    "executor": ("supports_batch",),
}


def _capabilities(kind: str, obj: Any) -> list[str]:
    """The capabilities ``obj`` declares as true (``batchable``, ``demo_replay``, ...), and for
    a source the methods it gives beyond ``BaseSource``'s defaults (its own verdict readings,
    an ``episode_setup``, its own in-context ``demonstration``)."""
    found = [name for name in _FLAGS.get(kind, ()) if getattr(obj, name, None)]
    if kind == "source":
        from trajkit.sources.base import BaseSource

        for name in ("verdict_summary", "reference_view", "episode_setup", "demonstration"):
            method = getattr(obj, name, None)
            default = BaseSource.__dict__[name]
            if method is not None and getattr(method, "__func__", method) is not getattr(
                default, "__func__", default
            ):
                found.append(name)
    return found
