"""Each game's opening observation, which the task prompt must show, cached on disk.

Reading it means starting the game once (0.5-1 s: the PDDL translator runs four times), so a
run of 500 games would spend minutes at load, and again on every resume. The text depends only
on the game file and the engine, so it is cached under a hash of both (one small file per
game, written atomically; a cache that cannot be read or written is skipped, never an error).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import metadata
from pathlib import Path

from trajkit.sources.alfworld.engine import close_game, initial_observation, open_game


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/trajkit/alfworld/openings`` (``~/.cache/...`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "trajkit" / "alfworld" / "openings"


def _engine_versions() -> str:
    return ",".join(f"{d}={metadata.version(d)}" for d in ("alfworld", "textworld"))


def read_opening(game_file: Path) -> str:
    """Start the game once and return its first observation (no cache)."""
    game = open_game(game_file)
    try:
        return initial_observation(game.intro)
    finally:
        close_game(game)


def opening(game_file: Path, cache: Path | None) -> str:
    """The opening observation of ``game_file``, from ``cache`` when it was seen before."""
    if cache is None:
        return read_opening(game_file)
    digest = hashlib.sha256(_engine_versions().encode() + b"\0" + game_file.read_bytes())
    path = cache / f"{digest.hexdigest()}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = read_opening(game_file)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=cache, delete=False, encoding="utf-8") as tmp:
            tmp.write(text)
        os.replace(tmp.name, path)
    except OSError:
        pass
    return text
