"""Manifests: ``run.json`` for a collection run and ``manifest.json`` for a dataset version."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trajkit.schemas.trajectory import Count, Usage
from trajkit.schemas.version import SCHEMA_VERSION


class RunCounts(BaseModel):
    """``total_tasks`` tasks loaded; ``done`` episodes recorded (several per task with
    ``--samples`` or ``--escalate``); ``tasks_settled`` tasks owed no further episode."""

    total_tasks: Count = 0
    done: Count = 0
    tasks_settled: Count = 0
    succeeded: Count = 0
    self_corrected: Count = 0
    by_termination: dict[str, Count] = Field(default_factory=dict)
    #: Yield per source and per teacher (``provider:model``); empty in runs from before.
    by_source: dict[str, YieldCounts] = Field(default_factory=dict)
    by_teacher: dict[str, YieldCounts] = Field(default_factory=dict)


class YieldCounts(BaseModel):
    """Attempts to kept trajectories, and what they cost: the figures behind a dataset's price.

    ``episodes`` counts every attempt (``--samples``, each escalation step); ``tasks`` the
    distinct tasks they played; ``kept`` those that pass the default filter chain (a success
    that self-corrects) — or, in a dataset version's manifest, the records the version kept.
    ``cost_usd`` is what all the episodes cost (``None``: some were collected unpriced), so
    ``cost_per_kept`` charges each kept trajectory its share of the attempts thrown away.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    episodes: Count = 0
    tasks: Count = 0
    succeeded: Count = 0
    self_corrected: Count = 0
    kept: Count = 0
    input_tokens: Count = 0
    output_tokens: Count = 0
    cost_usd: float | None = Field(0.0, ge=0)

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.episodes if self.episodes else 0.0

    @property
    def self_correction_rate(self) -> float:
        return self.self_corrected / self.episodes if self.episodes else 0.0

    @property
    def tokens_per_kept(self) -> float | None:
        """Input + output tokens of every episode per kept trajectory; None when none kept."""
        return (self.input_tokens + self.output_tokens) / self.kept if self.kept else None

    @property
    def cost_per_kept(self) -> float | None:
        """USD of every episode per kept trajectory; None when none kept or unpriced."""
        if not self.kept or self.cost_usd is None:
            return None
        return self.cost_usd / self.kept


class SandboxEnvironment(BaseModel):
    """The Python a run's code actions ran on, as read inside it once per run.

    What a teacher could import, and which library versions printed its observations (numpy 2
    prints ``np.float64(6.67)`` where numpy 1 printed ``6.67``), is part of the data. Nothing
    here names the collecting machine: no paths, only versions and hashes.

    ``packages`` maps each package of trajkit's sandbox stack (``collect/sandbox/stack.py``)
    to its version there, ``None`` when it could not be imported. ``content_sha256`` hashes
    every installed distribution's files as pip recorded them, with the interpreter's version
    and platform: equal hashes mean the same code, on any machine, locally or in the image.
    ``stack`` names trajkit's pin set when the environment was built from it (``None``: an
    interpreter or image of the user's own); ``image_id`` is the docker image the run used.
    """

    model_config = ConfigDict(extra="forbid")

    backend: str
    python: str
    implementation: str = ""
    machine: str = ""
    packages: dict[str, str | None] = Field(default_factory=dict)
    content_sha256: str
    stack: str | None = None
    image_id: str | None = None
    #: The limits that bound the sandbox as a whole rather than each of its processes:
    #: ``memory`` (``memory_mb``) and ``cpus``. Docker: both; local: what its cgroup bounds
    #: on that machine (``[]`` without one, ``trajkit sandbox env``). A memory-hungry cell can
    #: end differently under the two, so a run records which it had; ``None``: recorded
    #: before trajkit said.
    per_sandbox_limits: list[str] | None = None


class NodeCounts(BaseModel):
    """One worker node's part in a run: ``episodes`` recorded that it played; ``lost``
    episode attempts that were in flight on it when its worker was lost (each started again
    elsewhere, never written twice); ``replayed`` episodes it played after another node
    lost them. The key is an opaque id (a hash of Ray's node id salted with the run name):
    no host name, address or path."""

    model_config = ConfigDict(extra="forbid")

    episodes: Count = 0
    lost: Count = 0
    replayed: Count = 0


class RunManifest(BaseModel):
    """``OUT/runs/RUN/run.json``: the full config, progress counts, token totals and status.

    ``sandbox_environments`` (added later; empty in older runs) lists each sandbox
    environment the run's collector processes ran in, oldest first: one, unless a resume ran
    in another (the collector says so).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    run: str
    status: Literal["running", "completed", "interrupted", "failed", "budget_reached"]
    status_detail: str = ""
    config: dict[str, Any]
    counts: RunCounts = Field(default_factory=RunCounts)
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = Field(
        None, ge=0, description="spent on teacher calls (cache hits are free); None if unpriced"
    )
    started_at: str
    updated_at: str
    toolkit_version: str
    sandbox_environments: list[SandboxEnvironment] = Field(default_factory=list)
    #: Where the episodes ran (``--executor ray``; empty in-process and in older runs): the
    #: opaque node id records carry in ``node`` → that node's share, lost and replayed ones.
    nodes: dict[str, NodeCounts] = Field(default_factory=dict)


#: Where a manifest's ``path`` of an input or parent is anchored (``None``: written before
#: this field existed, the path as resolved on the building machine, usually absolute).
#:
#: - ``"out"``: a POSIX path relative to the output root the version lives in (the directory
#:   holding ``datasets/`` and ``runs/``, i.e. ``vN/../../..``), so a rebuild finds it there,
#:   on this machine or after the whole tree moved, and no machine path is published.
#: - ``"elsewhere"``: the input lay outside that root; only its own name is kept (with the
#:   sha256 and record count every input has), since its directories would name the
#:   collecting machine, and ``trajkit verify --rebuild`` asks for it with ``--input``.
PathBase = Literal["out", "elsewhere"]


class InputFile(BaseModel):
    path: str
    sha256: str
    records: int
    base: PathBase | None = None  # see ``PathBase``; added later, absent in older manifests


class FilterReport(BaseModel):
    """One filter unit's outcome: how many it saw, kept, dropped, and why."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    drop_reasons: dict[str, int] = Field(default_factory=dict)


class ParentRef(BaseModel):
    """One input of a dataset version, described well enough to find and trust it again.

    ``kind`` says what was named on the command line: a run directory, an earlier dataset
    version (its ``data.jsonl`` is read), or a bare JSONL file. ``sha256`` is the hash of the
    complete lines that were read (for a version: its ``data_sha256``), so lineage survives a
    move: a parent found elsewhere with the same hash is the same parent. ``path`` names the
    run or version directory, or the file, anchored as ``base`` says (never a machine path in
    manifests written since ``base`` exists).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["run", "version", "jsonl"]
    path: str
    sha256: str
    records: int
    name: str | None = None  # run name, or the parent version's dataset name
    version: int | None = None  # the parent's vN when kind == "version"
    fingerprint: str | None = None  # the parent version's fingerprint when kind == "version"
    base: PathBase | None = None  # how ``path`` is anchored (``PathBase``); added later


class EnvironmentUse(BaseModel):
    """One sandbox environment a version's parents were collected in, and which parents.

    ``environment`` is ``None`` for parents that recorded none (runs collected before it was
    recorded, bare JSONL files). ``parents`` are the ``path``s of ``DatasetManifest.parents``.
    """

    model_config = ConfigDict(extra="forbid")

    environment: SandboxEnvironment | None
    parents: list[str]


class ShotsUse(BaseModel):
    """How many in-context demonstrations (``--shots``) some of a version's parents were
    collected with, and which parents (``DatasetManifest.parents`` paths).

    ``shots`` is ``None`` for parents that do not say (a bare JSONL file, a version built before
    shots were recorded); a run from before ``--shots`` existed had none, and says 0.
    """

    model_config = ConfigDict(extra="forbid")

    shots: int | None
    parents: list[str]


class FileDigest(BaseModel):
    """A file of the version directory (``manifest.json`` excepted: it cannot hash itself)."""

    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str
    bytes: int


class DatasetManifest(BaseModel):
    """``OUT/datasets/NAME/vN/manifest.json``: how to rebuild ``data.jsonl`` byte for byte.

    Fields after ``toolkit_version`` were added later and are optional (``None`` = not
    recorded, as in manifests written before them), so every older manifest still loads and
    verifies; ``verify_version`` checks each recorded one against the data. ``SCHEMA_VERSION``
    was deliberately not bumped for them: it is part of every dataset fingerprint, so a bump
    would make every existing version unrecognisable to ``build_version`` and rebuild it.
    """

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
    data_format: str | None = None
    parents: list[ParentRef] | None = None
    counts_by_teacher: dict[str, int] | None = None  # "provider:model" → records
    counts_by_termination: dict[str, int] | None = None
    usage: Usage | None = None  # token totals over the records (input/output/calls)
    files: list[FileDigest] | None = None  # data.jsonl, CHANGELOG.md
    previous_version: int | None = None  # what CHANGELOG.md compares with (None: first version)
    # The sandbox environments the parents ran in (not part of the fingerprint: it is read
    # from the parents, whose content the fingerprint already names).
    sandbox_environments: list[EnvironmentUse] | None = None
    # The in-context demonstrations (``--shots``) the parents were collected with, read from
    # their run.json/manifest like the environments (not part of the fingerprint either).
    shots: list[ShotsUse] | None = None
    # Attempts behind the kept records, per source and per teacher (``provider:model``), read
    # from the inputs as filtered: ``kept`` is what this version kept. Not fingerprinted.
    yield_by_source: dict[str, YieldCounts] | None = None
    yield_by_teacher: dict[str, YieldCounts] | None = None
    # Records per action format (``code``, ``tools``, ``json``, ``text``, a plugin's): how the
    # teachers acted. Counted from the data, so ``trajkit verify`` checks it.
    counts_by_action_format: dict[str, int] | None = None
