"""Helpers for the WebShop tests: play hand-written cells in-process against the local env."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

from trajkit.core.tools import EndEpisode
from trajkit.sources.base import LoadOptions
from trajkit.sources.webshop import WebShopSource

EXEC_RE = re.compile(r"<execute>(.*?)</execute>", re.S)


class _Ended(BaseException):
    """Stops a cell the way the sandbox does when a tool ends the episode."""


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def play_cells(
    source: WebShopSource, task_id: str, turns: list[str]
) -> tuple[list[str | None], Any]:
    """Run each turn's cell in one namespace whose ``search``/``click`` call a fresh env's
    tools (host errors arrive as RuntimeError, as in the sandbox). Returns the error type of
    each cell (None = ran cleanly) and the env's outcome."""
    task = next(t for t in source.load(LoadOptions()) if t.task_id == task_id)
    loop = asyncio.new_event_loop()
    try:
        env = loop.run_until_complete(source.open_env(task))
        namespace: dict[str, Any] = {}
        for tool in env.tools():

            def stub(*args: Any, _tool: Any = tool, **kwargs: Any) -> Any:
                try:
                    return loop.run_until_complete(_tool.call(list(args), kwargs))
                except EndEpisode as exc:
                    print(exc.text)
                    raise _Ended from None
                except Exception as exc:
                    raise RuntimeError(
                        f"{_tool.name}() failed: {type(exc).__name__}: {exc}"
                    ) from None

            namespace[tool.name] = stub
        kinds: list[str | None] = []
        for code in (c.strip() for turn in turns for c in EXEC_RE.findall(turn)):
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(code, "<cell>", "exec"), namespace)
                kinds.append(None)
            except _Ended:
                kinds.append(None)
                break
            except Exception as exc:
                kinds.append(type(exc).__name__)
        return kinds, env.outcome
    finally:
        loop.close()


def widget(i: int, **kw: Any) -> dict[str, Any]:
    """A product record in ``items_shuffle`` format."""
    rec: dict[str, Any] = {
        "asin": f"B0WIDGET{i:02d}",
        "name": f"Widget model {i}",
        "query": "widget",
        "category": "electronics",
        "product_category": "Electronics › Widgets › Small",
        "pricing": f"${10 + i}.50",
        "customization_options": None,
        "small_description": [f"Widget bullet {i}"],
        "full_description": f"Widget description {i}.",
        "images": [""],
    }
    rec.update(kw)
    return rec


def write_data(folder: Path, products: list[dict[str, Any]], attributes: dict[str, Any],
               human: dict[str, Any], products_name: str = "items_shuffle_1000.json") -> Path:
    """A WebShop data folder with the three files under their upstream names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / products_name).write_text(json.dumps(products, indent=1))
    (folder / "items_ins_v2_1000.json").write_text(json.dumps(attributes, indent=1))
    (folder / "items_human_ins.json").write_text(json.dumps(human, indent=1))
    return folder
