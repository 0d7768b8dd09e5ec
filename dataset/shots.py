"""How many in-context demonstrations (``--shots``) a version's parents were collected with.

A teacher shown an example episode writes differently from one shown none, so a version
records, per parent, the shots its run used (read from ``run.json``'s loop config, or from a
parent version's own manifest), and ``trajkit filter`` warns when it merges parents that differ,
as it does for sandbox environments. A run from before ``--shots`` existed showed no
demonstration: 0. A bare JSONL file, or a version built before shots were recorded, says
nothing: ``None``, never guessed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from trajkit.dataset.inputs import (
    RUN_FILE,
    TRAJECTORIES_FILE,
    VERSION_DATA_FILE,
    VERSION_MANIFEST_FILE,
    InputSnapshot,
)
from trajkit.dataset.lineage import parent_label
from trajkit.schemas import DatasetManifest, ParentRef
from trajkit.schemas.manifests import ShotsUse


def input_shots(data: Path) -> list[int | None]:
    """The shots an input file's records were collected with, as recorded beside it (a run's
    ``run.json``, a version's ``manifest.json``); ``[None]`` when nothing says."""
    data = Path(data)
    directory = data.parent
    found: list[int | None] = []
    try:
        if data.name == TRAJECTORIES_FILE and (directory / RUN_FILE).is_file():
            config = json.loads((directory / RUN_FILE).read_bytes()).get("config")
            loop = config.get("loop") if isinstance(config, dict) else None
            if isinstance(loop, dict):
                shots = loop.get("shots", 0)  # absent: collected before demonstrations existed
                found = [shots if isinstance(shots, int) and not isinstance(shots, bool) else None]
        elif data.name == VERSION_DATA_FILE and (directory / VERSION_MANIFEST_FILE).is_file():
            manifest = DatasetManifest.model_validate_json(
                (directory / VERSION_MANIFEST_FILE).read_bytes()
            )
            found = [use.shots for use in manifest.shots or []]
    except (OSError, ValueError, AttributeError):
        found = []
    return found or [None]


def shots_uses(snaps: Sequence[InputSnapshot], parents: Sequence[ParentRef]) -> list[ShotsUse]:
    """The parents grouped by the shots they were collected with, first seen first."""
    groups: dict[int | None, list[str]] = {}
    for snap, parent in zip(snaps, parents, strict=True):
        for shots in input_shots(snap.path):
            paths = groups.setdefault(shots, [])
            if parent.path not in paths:
                paths.append(parent.path)
    return [ShotsUse(shots=shots, parents=paths) for shots, paths in groups.items()]


def shots_warning(uses: Sequence[ShotsUse], parents: Sequence[ParentRef]) -> str | None:
    """One line when parents were collected with different recorded shots, naming which;
    None when they agree (parents that recorded none are not a difference)."""
    known = [use for use in uses if use.shots is not None]
    if len({use.shots for use in known}) < 2:
        return None
    labels = {p.path: parent_label(p) for p in parents}
    where = "; ".join(
        f"{', '.join(labels.get(p, p) for p in use.parents)}: --shots {use.shots}" for use in known
    )
    return (
        "warning: these inputs were collected with different in-context demonstrations "
        f"(--shots differ), so their teachers were prompted differently: {where}"
    )
