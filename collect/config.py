"""Everything ``trajkit collect`` needs, as one value built from flags (or a job file)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trajkit.collect.loop import LoopConfig
from trajkit.collect.pricing import Price, PriceEntry
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.sources.base import LoadOptions

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def default_run_name(source: str) -> str:
    return f"{source}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"


class CollectConfig(BaseModel):
    """A collection run's full configuration; ``run.json`` records it verbatim."""

    model_config = ConfigDict(extra="forbid")

    source: str
    source_options: dict[str, str] = Field(default_factory=dict)
    teacher: str
    teacher_params: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0.0})
    load: LoadOptions = Field(default_factory=LoadOptions)
    out: Path = Path("out")
    run: str
    concurrency: int = Field(8, ge=1, le=4096)
    sandbox: str = "local"
    sandbox_config: SandboxConfig = Field(default_factory=SandboxConfig)
    loop: LoopConfig = Field(default_factory=LoopConfig)
    cache: bool = True
    adaptive: bool = Field(
        True, description="lower the teacher calls in flight on sustained 429s (sync mode)"
    )
    outage_streak: int = Field(
        8, ge=1, description="teacher_error episodes in a row that stop the run (exit 4)"
    )
    executor: str = Field(
        "local", description="where episodes run: this process (local), Ray workers (ray), a plugin's"
    )
    ray_address: str | None = Field(None, description="existing Ray cluster (ray.init address)")
    ray_workers: int | None = Field(
        None, ge=1, le=4096, description="Ray episode workers (default: the cluster's CPUs)"
    )
    max_cost: float | None = Field(None, gt=0, description="USD budget for the whole run")
    prices: dict[str, PriceEntry] = Field(
        default_factory=dict,
        description="model → USD per 1M (input, output[, cache read[, cache write]]) tokens",
    )
    task_chars: int = Field(
        200_000, ge=1000, description="longest task prompt played; longer ones are left out"
    )
    mode: Literal["sync", "batch"] = "sync"
    prompt_cache: bool = Field(
        True, description="ask the provider to cache each turn's conversation prefix"
    )
    samples: int = Field(1, ge=1, le=1000, description="independent attempts per task and teacher")
    until: Literal["self-corrected", "success"] | None = Field(
        None, description="stop sampling a task once one attempt is this"
    )
    escalate: list[str] = Field(
        default_factory=list,
        description="PROVIDER:MODEL teachers, in order, for tasks no earlier teacher solved",
    )
    batch_poll_s: float = Field(30.0, gt=0, description="first batch poll interval (backoff 10x)")
    batch_window_s: float = Field(
        60.0, gt=0, description="send a batch this long after its first request at the latest"
    )

    @property
    def ladder(self) -> list[str]:
        """The run's teachers in order: ``teacher`` (stage 0), then each ``escalate`` one."""
        return [self.teacher, *self.escalate]

    def for_stage(self, stage: int) -> CollectConfig:
        """This config with stage ``stage``'s teacher in place of the first (what the
        executors build that stage's teacher from)."""
        if stage == 0:
            return self
        return self.model_copy(update={"teacher": self.ladder[stage], "escalate": []})

    def teacher_price(self, stage: int = 0) -> Price | None:
        """USD per 1M tokens for stage ``stage``'s teacher (replays are free); None if unknown."""
        from trajkit.collect.pricing import mode_price, price_for
        from trajkit.collect.teachers.provider import provider_for

        provider, model = provider_for(self.ladder[stage])
        if provider.free:
            return Price(0.0, 0.0, 0.0, 0.0)
        price = price_for(model, self.prices, provider=provider.name)
        return None if price is None else mode_price(price, self.mode)

    @property
    def cache_path(self) -> Path:
        """Shared by every run under the same output root, so a repeat never pays twice."""
        return self.out / "cache" / "responses.sqlite"

    @field_validator("run")
    @classmethod
    def _safe_run_name(cls, value: str) -> str:
        if not RUN_NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names a directory)")
        return value

    @model_validator(mode="after")
    def _label_sandboxes(self) -> CollectConfig:
        """Docker containers carry the run name, so ``trajkit sandbox prune --run`` finds them."""
        if not self.sandbox_config.label:
            self.sandbox_config = self.sandbox_config.model_copy(update={"label": self.run})
        return self

    @property
    def run_dir(self) -> Path:
        return self.out / "runs" / self.run
