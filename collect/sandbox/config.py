"""Sandbox settings: resource limits and isolation, passed down as one value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from trajkit.core.errors import ConfigError


class SandboxConfig(BaseModel):
    """Limits for one sandboxed worker; every field is recorded in ``run.json``.

    ``isolation=False`` is the explicit, unsafe opt-out for machines that refuse namespaces:
    the environment is still scrubbed and rlimits still apply, but the network and the host
    file system are reachable.
    """

    isolation: bool = True
    memory_mb: int = Field(2048, ge=64, description="address-space limit (RLIMIT_AS)")
    cpu_seconds: int = Field(600, ge=1, description="CPU time for the worker's whole life")
    file_size_mb: int = Field(64, ge=1, description="largest file the code may write")
    max_processes: int = Field(64, ge=4, description="RLIMIT_NPROC inside the sandbox")
    open_files: int = Field(256, ge=32)
    work_mb: int = Field(256, ge=1, description="size of the private /work tmpfs")
    tmp_mb: int = Field(128, ge=1, description="size of the private /tmp tmpfs")
    output_limit: int = Field(65536, ge=256, description="characters of output kept per cell")
    kill_grace_s: float = Field(2.0, gt=0, description="wait after an interrupt before killing")
    start_timeout_s: float = Field(30.0, gt=0)
    extra_binds: list[str] = Field(default_factory=list, description="more read-only paths")
    # Local backend only: the interpreter the code runs on, bound read-only into the jail.
    python: str | None = Field(
        None,
        description="interpreter or venv the local sandbox runs (default: trajkit's pinned "
        "stack, prepared by `trajkit sandbox env`)",
    )
    # Docker backend only (``--sandbox docker``); memory_mb is the container's memory limit
    # there, max_processes its pids limit, work_mb/tmp_mb its tmpfs sizes.
    image: str = Field("trajkit-sandbox:latest", description="image `trajkit sandbox build` makes")
    pool: int = Field(0, ge=0, le=256, description="containers kept started ahead (warm pool)")
    cpus: float = Field(1.0, gt=0, description="CPU share of one container")
    user: str = Field("65534:65534", description="uid:gid the container runs as (non-root)")
    network: str = Field("none", description="docker network mode; anything but none is UNSAFE")
    label: str = Field("", description="run name put on containers (trajkit.run) for prune")

    @field_validator("python")
    @classmethod
    def _no_empty_python(cls, value: str | None) -> str | None:
        """``python=`` (empty) means the default, as leaving it out does."""
        return value or None

    @classmethod
    def from_options(cls, pairs: Mapping[str, str], **base: Any) -> SandboxConfig:
        """``--sandbox-opt KEY=VALUE`` pairs on top of ``base`` fields; one line per mistake."""
        fields = dict(base)
        hidden = {"isolation", "extra_binds", "label"}
        for raw_key, value in pairs.items():
            key = raw_key.strip().replace("-", "_")
            if key not in cls.model_fields or key in hidden:
                known = sorted(set(cls.model_fields) - hidden)
                raise ConfigError(f"--sandbox-opt {key}: unknown (known: {', '.join(known)})")
            fields[key] = value.strip() if isinstance(value, str) else value
        try:
            return cls(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = first["loc"][-1] if first["loc"] else "?"
            raise ConfigError(f"--sandbox-opt {name}: {first['msg']}") from None
