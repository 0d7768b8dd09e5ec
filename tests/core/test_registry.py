"""The plugin registry: built-ins and other packages' entry points, found the same way.

Fake distributions are real ``*.dist-info`` folders on a temporary path, read by
``importlib.metadata`` exactly as installed packages are.
"""

from __future__ import annotations

import importlib.metadata as metadata
import sys
from pathlib import Path

import pytest

from trajkit.core import registry
from trajkit.core.errors import ConfigError, PluginError
from trajkit.core.registry import KINDS, Registry


def make_dist(root: Path, name: str, entry_points: str, requires: tuple[str, ...] = ()) -> None:
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "entry_points.txt").write_text(entry_points)


def registry_over(root: Path) -> Registry:
    """A registry reading only the distributions under ``root`` plus trajkit's own."""

    def entry_points(group: str) -> list[metadata.EntryPoint]:
        found = [ep for d in metadata.distributions(path=[str(root)]) for ep in d.entry_points
                 if ep.group == group]
        return [*metadata.entry_points(group=group), *found]

    return Registry(entry_points)


@pytest.fixture
def plugin_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path where fake plugin modules and distributions live."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "good_plugin.py").write_text(
        "class Tasks:\n"
        "    name = 'tasks'\n"
        "    def load(self, options): return []\n"
        "    async def judge(self, task, answer): return None\n"
        "NOT_A_SOURCE = object()\n"
    )
    (tmp_path / "broken_plugin.py").write_text("import a_module_that_does_not_exist\n")
    yield tmp_path
    for name in ("good_plugin", "broken_plugin"):
        sys.modules.pop(name, None)


def test_builtins_are_entry_points_of_trajkit_itself() -> None:
    assert {"math", "hotpotqa", "apps", "webshop", "alfworld"} <= set(registry.names("source"))
    assert registry.names("teacher") == ["anthropic", "openai", "replay"]
    assert {"success", "self-correct", "dedup"} <= set(registry.names("filter"))
    assert {"local", "docker"} <= set(registry.names("sandbox"))
    assert {"local", "ray"} <= set(registry.names("executor"))
    for kind in KINDS:
        for entry in registry.REGISTRY.entries(kind):
            if entry.builtin and not entry.missing_extras():
                registry.check(kind, entry.name, entry.load(), entry.where)


def test_another_package_registers_exactly_like_the_builtins(plugin_root: Path) -> None:
    make_dist(plugin_root, "tasks-plugin", "[trajkit.sources]\nmytasks = good_plugin:Tasks\n")
    reg = registry_over(plugin_root)
    entry = reg.entry("source", "MyTasks")  # names are case-insensitive
    assert entry.package == "tasks-plugin" and not entry.builtin
    assert reg.get("source", "mytasks").name == "tasks"
    assert "math" in reg.names("source")


def test_a_broken_plugin_names_its_entry_point_and_package_and_breaks_only_itself(plugin_root: Path) -> None:
    make_dist(plugin_root, "bad-plugin",
              "[trajkit.sources]\nbad = broken_plugin:Tasks\nodd = good_plugin:NOT_A_SOURCE\n")
    reg = registry_over(plugin_root)
    with pytest.raises(PluginError) as info:
        reg.get("source", "bad")
    message = str(info.value)
    assert "trajkit.sources:bad = broken_plugin:Tasks" in message and "bad-plugin" in message
    assert "ModuleNotFoundError" in message and "\n" not in message
    with pytest.raises(PluginError, match=r"odd.*is not a source \(it has no 'load'\)"):
        reg.get("source", "odd")
    assert reg.get("source", "math").name == "math"  # the built-ins still work
    assert isinstance(info.value, ConfigError)  # one line, exit code 2 on the command line


def test_two_packages_claiming_one_name_is_an_error_naming_both(plugin_root: Path) -> None:
    make_dist(plugin_root, "pkg-one", "[trajkit.sources]\nmytasks = good_plugin:Tasks\n")
    make_dist(plugin_root, "pkg-two", "[trajkit.sources]\nmytasks = good_plugin:Tasks2\n")
    reg = registry_over(plugin_root)
    with pytest.raises(PluginError, match=r"registered by several packages \(pkg-one, pkg-two\)"):
        reg.get("source", "mytasks")


def test_a_plugin_cannot_take_over_a_builtin_name(plugin_root: Path) -> None:
    make_dist(plugin_root, "greedy", "[trajkit.sources]\nmath = good_plugin:Tasks\n")
    reg = registry_over(plugin_root)
    entry = reg.entry("source", "math")
    assert entry.builtin and [e.package for e in entry.shadowed] == ["greedy"]
    assert reg.get("source", "math").__module__ == "trajkit.sources.math"


def test_a_missing_extra_is_an_install_hint_not_an_import_error(plugin_root: Path) -> None:
    make_dist(plugin_root, "fancy-plugin", "[trajkit.executors]\nfancy = broken_plugin:X [gpu]\n",
              requires=("requests", 'surely-not-installed-pkg>=1; extra == "gpu"'))
    reg = registry_over(plugin_root)
    with pytest.raises(PluginError) as info:
        reg.get("executor", "fancy")
    assert str(info.value) == "executor 'fancy' needs an extra: pip install 'fancy-plugin[gpu]'"


def test_unknown_names_list_what_is_available() -> None:
    with pytest.raises(PluginError) as info:
        registry.get("sandbox", "podman")
    assert str(info.value) == "unknown sandbox backend 'podman' (available: docker, local)"
    with pytest.raises(PluginError, match="unknown plugin kind 'widget'"):
        registry.names("widget")


def test_register_in_process(plugin_root: Path) -> None:
    import good_plugin

    reg = Registry(lambda group: [])
    reg.register("source", "mine", good_plugin.Tasks)
    assert reg.get("source", "mine") is good_plugin.Tasks
    assert reg.entry("source", "mine").package == registry.RUNTIME_PACKAGE
    with pytest.raises(PluginError, match="already registered"):
        reg.register("source", "mine", good_plugin.Tasks)
    reg.register("source", "mine", "good_plugin:Tasks", replace=True)  # lazily, by import path
    assert reg.get("source", "mine") is good_plugin.Tasks
    with pytest.raises(PluginError, match="is not a filter"):
        reg.register("filter", "nope", good_plugin.Tasks)  # checked where it was made
    reg.unregister("source", "mine")
    assert reg.names("source") == []


def test_the_global_register_is_what_collect_looks_up(plugin_root: Path) -> None:
    import good_plugin

    from trajkit.sources.base import make_source

    registry.register("source", "tasks-in-process", good_plugin.Tasks)
    try:
        assert make_source("tasks-in-process").name == "tasks"
    finally:
        registry.REGISTRY.unregister("source", "tasks-in-process")
    with pytest.raises(PluginError):
        make_source("tasks-in-process")
