"""Manifests: ``run.json`` for a collection run and ``manifest.json`` for a dataset version."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trajkit.schemas.trajectory import Usage
from trajkit.schemas.version import SCHEMA_VERSION


class RunCounts(BaseModel):
    total_tasks: int = 0
    done: int = 0
    succeeded: int = 0
    self_corrected: int = 0
    by_termination: dict[str, int] = Field(default_factory=dict)


class RunManifest(BaseModel):
    """``OUT/runs/RUN/run.json``: the full config, progress counts, token totals and status."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    run: str
    status: Literal["running", "completed", "interrupted", "failed"]
    status_detail: str = ""
    config: dict[str, Any]
    counts: RunCounts = Field(default_factory=RunCounts)
    usage: Usage = Field(default_factory=Usage)
    started_at: str
    updated_at: str
    toolkit_version: str


class InputFile(BaseModel):
    path: str
    sha256: str
    records: int


class FilterReport(BaseModel):
    """One filter unit's outcome: how many it saw, kept, dropped, and why."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    drop_reasons: dict[str, int] = Field(default_factory=dict)


class DatasetManifest(BaseModel):
    """``OUT/datasets/NAME/vN/manifest.json``: how to rebuild ``data.jsonl`` byte for byte."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    name: str
    version: int
    fingerprint: str
    created_at: str
    inputs: list[InputFile]
    filters: list[FilterReport]
    records: int
    counts_by_source: dict[str, int] = Field(default_factory=dict)
    data_sha256: str
    toolkit_version: str
