"""JSON Schema of every record, for consumers that do not use Python (``trajkit schema``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trajkit.schemas.manifests import DatasetManifest, RunManifest
from trajkit.schemas.task import Task
from trajkit.schemas.trajectory import Action, Observation, Step, Trajectory

MODELS: tuple[type[BaseModel], ...] = (
    Task,
    Action,
    Observation,
    Step,
    Trajectory,
    RunManifest,
    DatasetManifest,
)


def all_schemas() -> dict[str, dict[str, Any]]:
    """Model name → its JSON Schema (draft 2020-12, as pydantic emits it)."""
    return {model.__name__: model.model_json_schema() for model in MODELS}
