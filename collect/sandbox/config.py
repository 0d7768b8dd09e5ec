"""Sandbox settings: resource limits and isolation, passed down as one value."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trajkit.core.errors import ConfigError

#: The largest size in MB a sandbox limit may name (1 TiB): ``memory_mb`` is each process's
#: address space (RLIMIT_AS) locally, and the whole sandbox's memory under docker and, where the
#: collector may make cgroups, locally too (``cgroup.py``); the tmpfs and
#: file sizes are MB too. Beyond this a value is a typo, and a big enough one overflows the
#: kernel's limit and fails only once the run has started ("sandbox worker failed to start").
MAX_MB = 1024 * 1024
#: The most CPUs one docker container may be given (``cpus``).
MAX_CPUS = 1024.0
#: Files (inodes) a private tmpfs may hold per MB of its size. A file costs the kernel ~1 KB
#: that neither the tmpfs's ``size=`` nor RLIMIT_AS counts, and the kernel's default allows
#: millions: 300,000 empty files in /tmp took 300 MB of the host's unreclaimable memory. At
#: 256 per MB, /tmp's default 128 MB holds 32,768 files, for ~32 MB of kernel memory.
FILES_PER_MB = 256


def tmpfs_files(size_mb: int) -> int:
    """``nr_inodes`` of a private tmpfs of ``size_mb`` MB (see :data:`FILES_PER_MB`)."""
    return size_mb * FILES_PER_MB

#: A docker image reference: ``[HOST[:PORT]/]PATH[:TAG][@DIGEST]`` (the grammar of
#: distribution/reference), so a bad ``--tag`` or ``image=`` fails before docker is asked.
_DOMAIN = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def check_image_reference(value: str) -> str:
    """``value`` if it is a valid docker image reference (``name[:tag][@digest]``), else a
    ``ValueError`` saying what the format is."""
    name = re.sub(r":[^/:]*$", "", value.partition("@")[0])
    if not IMAGE_REFERENCE.match(value) or len(name) > 255:
        raise ValueError(
            f"{value!r} is not a docker image reference ([HOST[:PORT]/]NAME[:TAG]: NAME in "
            "lowercase letters, digits and . _ -, separated by /; TAG up to 128 of "
            "letters, digits, _ . -)"
        )
    return value


class SandboxConfig(BaseModel):
    """Limits for one sandboxed worker; every field is recorded in ``run.json``.

    ``isolation=False`` is the explicit, unsafe opt-out for machines that refuse namespaces:
    the environment is still scrubbed and rlimits still apply, but the network and the host
    file system are reachable.

    Every limit is bounded on both sides (floats are finite: ``nan``/``inf`` are refused), so
    a bad value fails when the options are read, never once workers start.
    """

    model_config = ConfigDict(allow_inf_nan=False)

    isolation: bool = True
    memory_mb: int = Field(2048, ge=64, le=MAX_MB, description="memory per process (RLIMIT_AS) and, with a cgroup, per sandbox")
    cpu_seconds: int = Field(600, ge=1, le=10**9, description="CPU time for the worker's whole life")
    file_size_mb: int = Field(64, ge=1, le=MAX_MB, description="largest file the code may write")
    max_processes: int = Field(64, ge=4, le=4_194_304, description="RLIMIT_NPROC inside the sandbox")
    open_files: int = Field(256, ge=32, le=1_048_576)
    work_mb: int = Field(256, ge=1, le=MAX_MB, description="size of the private /work tmpfs")
    tmp_mb: int = Field(128, ge=1, le=MAX_MB, description="size of the private /tmp tmpfs")
    output_limit: int = Field(
        65536, ge=256, le=2**31 - 1, description="characters of output kept per cell"
    )
    kill_grace_s: float = Field(2.0, gt=0, description="wait after an interrupt before killing")
    start_timeout_s: float = Field(30.0, gt=0)
    extra_binds: list[str] = Field(default_factory=list, description="more read-only paths")
    # Local backend only: the interpreter the code runs on, bound read-only into the jail.
    python: str | None = Field(
        None,
        description="interpreter or venv the local sandbox runs (default: trajkit's pinned "
        "stack, prepared by `trajkit sandbox env`)",
    )
    # Docker backend only (``--sandbox docker``), but ``cpus``; memory_mb is the container's
    # memory limit there, max_processes its pids limit, work_mb/tmp_mb its tmpfs sizes.
    image: str = Field("trajkit-sandbox:latest", description="image `trajkit sandbox build` makes")
    pool: int = Field(0, ge=0, le=256, description="containers kept started ahead (warm pool)")
    cpus: float = Field(
        1.0, gt=0, le=MAX_CPUS,
        description="CPUs one sandbox may use: a container's, or a local sandbox's cgroup where it has one",
    )
    user: str = Field("65534:65534", description="uid:gid the container runs as (non-root)")
    network: str = Field("none", description="docker network mode; anything but none is UNSAFE")
    label: str = Field("", description="run name put on containers (trajkit.run) for prune")

    @field_validator("python")
    @classmethod
    def _no_empty_python(cls, value: str | None) -> str | None:
        """``python=`` (empty) means the default, as leaving it out does."""
        return value or None

    @field_validator("image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        return check_image_reference(value)

    @classmethod
    def from_options(cls, pairs: Mapping[str, str], **base: Any) -> SandboxConfig:
        """``--sandbox-opt KEY=VALUE`` pairs on top of ``base`` fields; one line per mistake.

        A mistake in a ``base`` field not overridden by a pair names that field's own flag
        (``--memory-mb``, ``--pool``); one in a pair names ``--sandbox-opt KEY``."""
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
            name = str(first["loc"][0]) if first["loc"] else "?"
            message = first["msg"].removeprefix("Value error, ")
            if name in base and name not in {k.strip().replace("-", "_") for k in pairs}:
                raise ConfigError(f"--{name.replace('_', '-')}: {message}") from None
            raise ConfigError(f"--sandbox-opt {name}: {message}") from None
