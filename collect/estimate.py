"""``trajkit collect --estimate``: tokens and cost of a run before paying for any of it.

Each episode re-sends the whole conversation every turn, so its input tokens grow
quadratically with turns: with prompt ``P`` (system prompt + task), ``T`` turns, ``O`` output
tokens per turn and ``B`` observation tokens per turn, the teacher reads
``T·P + (O + B)·T·(T−1)/2`` tokens and writes ``T·O``. ``P`` is counted exactly for every
pending task; ``T``, ``O`` and ``B`` come from the run's own finished episodes when it has
enough of them (a resumed run estimates its remainder from what it has seen), else from the
source's own ``typical_episode`` (CodeAct-style teachers on that benchmark), else
``DEFAULT_TYPICAL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from trajkit.collect.config import CollectConfig
from trajkit.collect.prompts import system_prompt
from trajkit.collect.run_store import TRAJECTORIES
from trajkit.core.jsonl import iter_records
from trajkit.core.tokenizers import offline_tokenizer
from trajkit.schemas import Task, Trajectory
from trajkit.sources.base import make_source

#: (turns per episode, output tokens per turn, observation tokens per turn) for a source that
#: declares no ``typical_episode`` of its own.
DEFAULT_TYPICAL = (3.5, 300.0, 200.0)
#: Finished episodes a run needs before its own averages replace the typical figures.
CALIBRATE_MIN = 5


@dataclass
class Estimate:
    tasks: int
    pending: int
    turns: float
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    basis: str
    tokenizer: str
    run: str = ""
    teacher: str = ""

    def describe(self) -> str:
        """One line for a person: what is pending, the token counts, the cost and its basis."""
        cost = (
            f"${self.cost_usd:,.2f}" if self.cost_usd is not None
            else "unknown (no list price: give --price)"
        )
        return (
            f"estimate for {self.run} ({self.teacher}): {self.pending} of {self.tasks} task(s) "
            f"pending, ~{self.turns:.1f} turns each; input ~{self.input_tokens:,} tokens, output "
            f"~{self.output_tokens:,} tokens; cost {cost}. Basis: {self.basis}; prompts counted "
            f"with {self.tokenizer}."
        )


def _counter() -> tuple[str, object]:
    """o200k_base when its BPE file is on this machine, else the chars/4 rule (said in the
    estimate); never a download attempt, which offline would only wait and fail."""
    return offline_tokenizer()


def _finished(run_dir: Path) -> list[Trajectory]:
    path = run_dir / TRAJECTORIES
    if not path.exists():
        return []
    return [traj for _, traj in iter_records(path, Trajectory)]


def _calibrate(done: list[Trajectory], count: object) -> tuple[float, float, float] | None:
    episodes = [t for t in done if t.steps]
    if len(episodes) < CALIBRATE_MIN:
        return None
    turns = fmean(len(t.steps) for t in episodes)
    out = fmean(s.usage.output_tokens or count(s.assistant) for t in episodes for s in t.steps)  # type: ignore[operator]
    obs = fmean(
        count(s.observation.text) if s.observation else 0  # type: ignore[operator]
        for t in episodes for s in t.steps
    )
    return turns, out, obs


def _prompt_tokens(task: Task, source: object, config: CollectConfig, count: object) -> int:
    try:
        tools = source.tools(task)  # type: ignore[attr-defined]
    except Exception:
        tools = ()  # an interactive source's tools live in its environment; small anyway
    system = system_prompt(tools, config.loop.max_turns, config.loop.max_solutions)
    return count(system) + count(task.prompt)  # type: ignore[operator]


def estimate_run(config: CollectConfig) -> Estimate:
    """Estimate the pending part of the run ``config`` describes; calls no teacher."""
    source = make_source(config.source, config.source_options)
    tasks = source.load(config.load)
    done = _finished(config.run_dir)
    done_ids = {t.task_id for t in done}
    pending = [t for t in tasks if t.task_id not in done_ids]
    name, count = _counter()
    calibrated = _calibrate(done, count)
    if calibrated is not None:
        turns, out, obs = calibrated
        basis = f"averages of this run's {len(done)} finished episodes"
    else:
        turns, out, obs = getattr(source, "typical_episode", None) or DEFAULT_TYPICAL
        basis = f"typical figures for {config.source}"
    turns = min(turns, float(config.loop.max_turns))
    out = min(out, float(config.teacher_params.get("max_tokens", out)))
    obs = min(obs, config.loop.observation_chars / 4)
    grow = (out + obs) * turns * (turns - 1) / 2
    input_tokens = sum(round(turns * _prompt_tokens(t, source, config, count) + grow) for t in pending)
    output_tokens = round(len(pending) * turns * out)
    price = config.teacher_price()
    cost = None
    if price is not None:
        cost = (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
    return Estimate(
        tasks=len(tasks), pending=len(pending), turns=turns, input_tokens=input_tokens,
        output_tokens=output_tokens, cost_usd=cost, basis=basis, tokenizer=name,
        run=config.run, teacher=config.teacher,
    )
