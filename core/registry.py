"""One registry for every kind of extension: a name → a lazily imported object.

=============  ==========================  =============================================================================
kind           entry-point group           what the name resolves to
=============  ==========================  =============================================================================
source         ``trajkit.sources``         a source class (``load``, ``judge``; see ``sources.base``)
teacher        ``trajkit.teachers``        a teacher provider (``make``; see ``collect.teachers.provider``)
filter         ``trajkit.filters``         a filter unit class (``decide``; see ``filters.base``)
sandbox        ``trajkit.sandboxes``       a sandbox backend (``make_factory``; see ``collect.sandbox.backend``)
executor       ``trajkit.executors``       an executor backend (``make``; see ``collect.executors``)
judge          ``trajkit.judges``          a judge class (``judge``; see ``sources.judges.base``)
action_format  ``trajkit.action_formats``  an action format (``parse``, ``system_prompt``; see ``collect.formats.base``)
=============  ==========================  =============================================================================

trajkit's own built-ins are entry points of its own distribution (``pyproject.toml``), so a
user's package adds to trajkit exactly the way trajkit does::

    [project.entry-points."trajkit.sources"]
    mytasks = "my_package.source:MyTasks"

In a notebook or a test, :func:`register` adds an entry to this process only.

Nothing is imported until a name is used: naming ``math`` never imports WebShop, and a
broken or half-installed plugin breaks only itself. Its error (:class:`PluginError`) names
the entry point and the package that registered it. An entry point may name the extra it
needs (``ray = "trajkit.collect.executors.ray_executor:RayExecutorBackend [ray]"``); when that
extra is not installed the error is the install hint, not an ``ImportError``. What an object
can do is declared on the object itself (a teacher provider says whether it is cacheable or
batchable, a source names its demo replay), never tested by name elsewhere.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from trajkit.core.errors import PluginError

BUILTIN_PACKAGE = "trajkit"
RUNTIME_PACKAGE = "<registered at run time>"


@dataclass(frozen=True)
class Kind:
    """One kind of extension: its entry-point group and what a loaded object must have."""

    name: str
    group: str
    noun: str
    required: tuple[str, ...]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("source", "trajkit.sources", "source", ("load", "judge")),
        Kind("teacher", "trajkit.teachers", "teacher provider", ("make",)),
        Kind("filter", "trajkit.filters", "filter", ("decide",)),
        Kind("sandbox", "trajkit.sandboxes", "sandbox backend", ("make_factory",)),
        Kind("executor", "trajkit.executors", "executor", ("make",)),
        Kind("judge", "trajkit.judges", "judge", ("judge",)),
        Kind("action_format", "trajkit.action_formats", "action format", ("parse", "system_prompt")),
    )
}

_UNLOADED = object()


def first_line(exc: BaseException) -> str:
    """``Type: first line``: plugin errors are often pages of traceback text."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


@dataclass
class Entry:
    """One registered name. ``target`` is ``"module:attr"`` (imported on first use) unless the
    object was registered directly; ``package`` is the distribution that registered it."""

    kind: str
    name: str
    target: str | None
    package: str
    extras: tuple[str, ...] = ()
    shadowed: list[Entry] = field(default_factory=list)
    conflicts: list[Entry] = field(default_factory=list)
    _obj: Any = field(default=_UNLOADED, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def builtin(self) -> bool:
        return self.package == BUILTIN_PACKAGE

    @property
    def where(self) -> str:
        """How a user finds this entry again: the entry point line and its package."""
        group = KINDS[self.kind].group
        if self.target is None:
            return f"{self.kind} {self.name!r} ({self.package})"
        extras = f" [{','.join(self.extras)}]" if self.extras else ""
        return f"entry point {group}:{self.name} = {self.target}{extras} (package {self.package})"

    def missing_extras(self) -> list[str]:
        """The extras this entry needs that are not installed (each as an install hint)."""
        return [
            f"pip install '{self.package}[{extra}]'"
            for extra in self.extras
            if not _extra_installed(self.package, extra)
        ]

    def load(self) -> Any:
        """The object, imported once; every failure is a one-line ``PluginError``."""
        with self._lock:
            if self._obj is _UNLOADED:
                self._obj = self._import()
            return self._obj

    def _import(self) -> Any:
        kind = KINDS[self.kind]
        if self.conflicts:
            packages = ", ".join(sorted({e.package for e in [self, *self.conflicts]}))
            raise PluginError(
                f"{kind.noun} {self.name!r} is registered by several packages ({packages}); "
                "uninstall all but one"
            )
        hints = self.missing_extras()
        if hints:
            raise PluginError(f"{kind.noun} {self.name!r} needs an extra: {hints[0]}")
        assert self.target is not None
        module_name, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name.strip())
            for part in filter(None, attr.strip().split(".")):
                obj = getattr(obj, part)
        except Exception as exc:
            raise PluginError(f"{kind.noun} {self.name!r}: {self.where} is broken: {first_line(exc)}") from None
        check(self.kind, self.name, obj, self.where)
        return obj


def check(kind_name: str, name: str, obj: Any, where: str) -> None:
    """Raise ``PluginError`` unless ``obj`` has what kind ``kind_name`` requires."""
    kind = KINDS[kind_name]
    missing = [attr for attr in kind.required if not hasattr(obj, attr)]
    if missing:
        raise PluginError(
            f"{kind.noun} {name!r}: {where} is not a {kind.noun} (it has no {missing[0]!r})"
        )


def _extra_installed(package: str, extra: str) -> bool:
    """True if every requirement ``package`` declares for ``extra`` is installed."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requires = metadata.distribution(package).requires or []
    except metadata.PackageNotFoundError:
        return False
    for line in requires:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.marker is None or not req.marker.evaluate({"extra": extra}):
            continue
        if req.marker.evaluate({"extra": ""}):
            continue  # a requirement of the package itself, not of this extra
        try:
            metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            return False
    return True


def _normal(name: str) -> str:
    return name.strip().lower()


EntryPoints = Callable[[str], Iterable[metadata.EntryPoint]]


def _installed_entry_points(group: str) -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=group)


class Registry:
    """Entries of every kind: installed entry points, read once per kind, plus those added in
    this process with :meth:`register`.

    A name registered by trajkit itself cannot be taken over by another package's entry
    point (the other one is kept as ``shadowed``, and ``trajkit plugins`` shows it); two
    other packages claiming one name make that name an error naming both, not a coin toss.
    """

    def __init__(self, entry_points: EntryPoints = _installed_entry_points) -> None:
        self._entry_points = entry_points
        self._installed: dict[str, dict[str, Entry]] = {}
        self._runtime: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self._lock = threading.Lock()

    def _scan(self, kind: str) -> dict[str, Entry]:
        with self._lock:
            if kind not in self._installed:
                self._installed[kind] = self._read(kind)
            return self._installed[kind]

    def _read(self, kind: str) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        seen: set[tuple[str, str | None, str]] = set()
        for ep in self._entry_points(KINDS[kind].group):
            dist = getattr(ep, "dist", None)
            package = dist.metadata["Name"] if dist is not None else "?"
            entry = Entry(kind, _normal(ep.name), ep.value.split("[")[0].strip(), package,
                          tuple(getattr(ep, "extras", ()) or ()))
            key = (entry.name, entry.target, entry.package)
            if key in seen:
                continue  # the same distribution seen twice on sys.path
            seen.add(key)
            have = found.get(entry.name)
            if have is None:
                found[entry.name] = entry
            elif have.builtin:
                have.shadowed.append(entry)
            elif entry.builtin:
                entry.shadowed.append(have)
                found[entry.name] = entry
            else:
                have.conflicts.append(entry)
        return found

    def register(
        self, kind: str, name: str, obj: Any, *, package: str = RUNTIME_PACKAGE, replace: bool = False
    ) -> Entry:
        """Add ``obj`` (or a ``"module:attr"`` string, imported on first use) under ``name``.

        Registering a name that exists raises ``PluginError`` unless ``replace=True``; the
        object is checked now when given directly, so a mistake shows where it was made.
        """
        _kind(kind)
        key = _normal(name)
        if not key:
            raise PluginError(f"register: empty {KINDS[kind].noun} name")
        if not replace and (key in self._runtime[kind] or key in self._scan(kind)):
            have = self._runtime[kind].get(key) or self._scan(kind)[key]
            raise PluginError(
                f"{KINDS[kind].noun} {key!r} is already registered ({have.where}); "
                "pass replace=True to override it"
            )
        if isinstance(obj, str):
            entry = Entry(kind, key, obj, package)
        else:
            check(kind, key, obj, f"{KINDS[kind].noun} {key!r}")
            entry = Entry(kind, key, None, package, _obj=obj)
        self._runtime[kind][key] = entry
        return entry

    def unregister(self, kind: str, name: str) -> None:
        """Forget a name added with :meth:`register` (installed entry points stay)."""
        self._runtime[_kind(kind).name].pop(_normal(name), None)

    def entries(self, kind: str) -> list[Entry]:
        """Every name of ``kind``, sorted; run-time registrations hide installed ones."""
        merged = {**self._scan(_kind(kind).name), **self._runtime[kind]}
        return [merged[name] for name in sorted(merged)]

    def names(self, kind: str) -> list[str]:
        return [entry.name for entry in self.entries(kind)]

    def entry(self, kind: str, name: str) -> Entry:
        """The entry called ``name``; unknown names list what is available."""
        key = _normal(name)
        entry = self._runtime[_kind(kind).name].get(key) or self._scan(kind).get(key)
        if entry is None:
            known = ", ".join(self.names(kind)) or "none"
            raise PluginError(f"unknown {KINDS[kind].noun} {name!r} (available: {known})")
        return entry

    def get(self, kind: str, name: str) -> Any:
        """The loaded object called ``name`` (imported now if it was not yet)."""
        return self.entry(kind, name).load()


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise PluginError(f"unknown plugin kind {name!r} (kinds: {', '.join(KINDS)})")
    return kind


#: The process-wide registry every stage looks names up in.
REGISTRY = Registry()


def get(kind: str, name: str) -> Any:
    """``REGISTRY.get``: the object registered as ``name`` of ``kind``."""
    return REGISTRY.get(kind, name)


def instance(kind: str, name: str, *, flag: str | None = None) -> Any:
    """The object registered as ``name``, instantiated when a class was registered (teacher
    providers and sandbox/executor backends are stateless, so either form may be registered);
    a ``PluginError`` is prefixed with the ``flag`` that named it."""
    try:
        obj = REGISTRY.get(kind, name)
    except PluginError as exc:
        raise PluginError(f"{flag}: {exc}" if flag else str(exc)) from None
    return obj() if isinstance(obj, type) else obj


def register(
    kind: str, name: str, obj: Any, *, package: str = RUNTIME_PACKAGE, replace: bool = False
) -> Entry:
    """``REGISTRY.register``: add an entry for this process (notebooks, tests)."""
    return REGISTRY.register(kind, name, obj, package=package, replace=replace)


def names(kind: str) -> list[str]:
    """``REGISTRY.names``: every registered name of ``kind``, sorted."""
    return REGISTRY.names(kind)
