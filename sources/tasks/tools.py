"""``--source-opt tools=module:function,...``: the user's own Python functions as sandbox tools.

Each function runs on the host, in the collector's process, and the teacher's code calls it
from the sandbox through the tool bridge (``trajkit.core.tools``): the sandbox only holds a
stub, so a user's API client, keys and data stay outside it. The tool's name, signature and
docstring are the function's own, listed in the system prompt. ``module`` is an importable
module (``my_pkg.tools``) or a ``.py`` file path (``./tools.py:lookup``). A plain function
is called inline on the collector's event loop, like any host tool: make a slow one (a
network call) ``async def`` so other episodes keep running while it waits.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError
from trajkit.core.tools import Tool
from trajkit.sources.hub import first_line


def _module_from_file(path: Path, item: str) -> Any:
    if not path.is_file():
        raise ConfigError(f"--source-opt tools={item}: no such file {str(path)!r}")
    name = f"trajkit_user_tools_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"--source-opt tools={item}: cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ConfigError(
            f"--source-opt tools={item}: importing {str(path)!r} failed: {first_line(exc)}"
        ) from None
    return module


def _import(module: str, item: str) -> Any:
    if module.endswith(".py"):
        return _module_from_file(Path(module).expanduser(), item)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"--source-opt tools={item}: cannot import module {module!r} ({first_line(exc)}); "
            "put it on PYTHONPATH or give a .py file path"
        ) from None
    except Exception as exc:  # the module itself raised while importing
        raise ConfigError(
            f"--source-opt tools={item}: importing {module!r} failed: {first_line(exc)}"
        ) from None


def load_function(item: str) -> Callable[..., Any]:
    """The callable ``item`` (``module:function`` or ``file.py:function``) names."""
    module, sep, attr = item.rpartition(":")
    if not sep or not module.strip() or not attr.strip():
        raise ConfigError(f"--source-opt tools={item}: expected module:function")
    found: Any = _import(module.strip(), item)
    for part in attr.strip().split("."):
        found = getattr(found, part, None)
        if found is None:
            raise ConfigError(f"--source-opt tools={item}: {module.strip()!r} has no {attr!r}")
    if not callable(found):
        raise ConfigError(f"--source-opt tools={item}: {attr!r} is not a function")
    return found


def host_tool(fn: Callable[..., Any], item: str) -> Tool:
    """``fn`` as a tool named after it, with its signature and docstring."""
    name = getattr(fn, "__name__", "") or item.rpartition(":")[2].split(".")[-1]
    if not name.isidentifier():
        name = item.rpartition(":")[2].split(".")[-1]
    try:
        return Tool.from_function(fn, name=name)
    except (TypeError, ValueError):  # no introspectable signature (some builtins)
        return Tool(name=name, fn=fn, signature=f"{name}(...)", doc=inspect.getdoc(fn) or "")


def load_tools(spec: str | None) -> list[Tool]:
    """Every tool ``spec`` (comma-separated ``module:function``) names, in order; two tools
    with one name are a ConfigError (the sandbox could define only one of them)."""
    tools: list[Tool] = []
    for item in (part.strip() for part in (spec or "").split(",")):
        if not item:
            continue
        tool = host_tool(load_function(item), item)
        if any(t.name == tool.name for t in tools):
            raise ConfigError(f"--source-opt tools={spec}: two tools named {tool.name!r}")
        tools.append(tool)
    return tools
