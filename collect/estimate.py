"""``trajkit collect --estimate``: tokens and cost of a run before paying for any of it.

Each episode re-sends the whole conversation every turn, so its input tokens grow
quadratically with turns: with prompt ``P`` (system prompt + task), ``T`` turns, ``O`` output
tokens per turn and ``B`` observation tokens per turn, the teacher reads
``T·P + (O + B)·T·(T−1)/2`` tokens and writes ``T·O``. ``P`` is counted exactly for every
pending task; ``T``, ``O`` and ``B`` come from the run's own finished episodes when it has
enough of them (a resumed run estimates its remainder from what it has seen), else from the
source's own ``typical_episode`` (CodeAct-style teachers on that benchmark), else
``DEFAULT_TYPICAL``.

Prompt caching bills part of that input at other prices: the split into uncached, cache-read
and cache-write tokens comes from the run's own finished episodes once it has enough of them
(what the provider's cache really did), else from the providers' documented rules applied to
the projected episodes (``collect.prompt_cache``), and the cost prices each part at its own
price.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

from trajkit.collect.attempts import AttemptPlan, EpisodeKey, Outcome
from trajkit.collect.config import CollectConfig
from trajkit.collect.demonstrations import demonstration_for
from trajkit.collect.estimate_yield import YieldProjection, project_yield
from trajkit.collect.pricing import usage_cost
from trajkit.collect.prompt_cache import caching, episode_split, shares
from trajkit.collect.prompts import system_prompt
from trajkit.collect.run_store import TRAJECTORIES
from trajkit.collect.teachers.provider import provider_for
from trajkit.core.jsonl import iter_records
from trajkit.core.tokenizers import offline_tokenizer
from trajkit.schemas import Task, Trajectory, Usage
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
    #: Of ``input_tokens``, those expected to be read from / written to the prompt cache.
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    #: ``--samples``/``--until``/``--escalate``: episodes per task and cost per kept trajectory
    projection: YieldProjection | None = None
    projection_text: str = ""

    def describe(self) -> str:
        """One line for a person: what is pending, the token counts, the cost and its basis."""
        cost = (
            f"${self.cost_usd:,.2f}" if self.cost_usd is not None
            else "unknown (no list price: give --price)"
        )
        cached = (
            f" (~{self.cache_read_tokens:,} read from and ~{self.cache_write_tokens:,} written "
            "to the prompt cache)" if self.cache_read_tokens or self.cache_write_tokens else ""
        )
        return (
            f"estimate for {self.run} ({self.teacher}): {self.pending} of {self.tasks} task(s) "
            f"pending, ~{self.turns:.1f} turns each; input ~{self.input_tokens:,} tokens{cached}, "
            f"output ~{self.output_tokens:,} tokens; cost {cost}. Basis: {self.basis}; prompts "
            f"counted with {self.tokenizer}."
            + (f" Yield: {self.projection_text}." if self.projection_text else "")
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


def _observed_shares(done: list[Trajectory]) -> tuple[float, float] | None:
    """(read, write) shares of the input the provider billed this run's finished episodes
    (calls answered from the response cache left out); None before ``CALIBRATE_MIN``."""
    episodes = [t for t in done if t.steps]
    if len(episodes) < CALIBRATE_MIN:
        return None
    billed = Usage()
    for traj in episodes:
        for step in traj.steps:
            if not step.usage.cached_calls:
                billed = billed + step.usage
    if not billed.input_tokens:
        return None
    return (
        billed.cache_read_tokens / billed.input_tokens,
        billed.cache_write_tokens / billed.input_tokens,
    )


def _prompt_tokens(task: Task, source: object, config: CollectConfig, count: object) -> int:
    return _system_tokens(task, source, config, count) + count(task.prompt)  # type: ignore[operator]


def _system_tokens(task: Task, source: object, config: CollectConfig, count: object) -> int:
    try:
        tools = source.tools(task)  # type: ignore[attr-defined]
    except Exception:
        tools = ()  # an interactive source's tools live in its environment; small anyway
    demonstration = demonstration_for(source) if config.loop.shots else None
    system = system_prompt(
        tools, config.loop.max_turns, config.loop.max_solutions, demonstration
    )
    return count(system)  # type: ignore[operator]


def estimate_run(config: CollectConfig) -> Estimate:
    """Estimate the pending part of the run ``config`` describes; calls no teacher."""
    source = make_source(config.source, config.source_options)
    tasks = source.load(config.load)
    done = _finished(config.run_dir)
    plan = AttemptPlan(stages=len(config.ladder), samples=config.samples, until=config.until)
    outcomes: dict[str, list[Outcome]] = {}
    for traj in done:
        outcomes.setdefault(traj.task_id, []).append(
            Outcome(EpisodeKey(traj.stage, traj.attempt), traj.success, traj.self_corrected)
        )
    # tasks still owed an episode of the first teacher (escalation is not projected)
    pending = [t for t in tasks if any(k.stage == 0 for k in plan.owed(outcomes.get(t.task_id, [])))]
    projection = project_yield(config, done)
    per_task = projection.episodes_per_task
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
    provider, model = provider_for(config.teacher)
    rule = caching(provider.name, config.prompt_cache)
    input_tokens = 0
    splits = []
    for task in pending:
        system = _system_tokens(task, source, config, count)
        prompt = system + count(task.prompt)  # type: ignore[operator]
        input_tokens += round((turns * prompt + grow) * per_task)
        splits.append(episode_split(turns, prompt, out + obs, system, rule, model))
    read_share, write_share = _observed_shares(done) or shares(splits)
    if rule is None:
        read_share = write_share = 0.0
    read, write = round(input_tokens * read_share), round(input_tokens * write_share)
    output_tokens = round(len(pending) * turns * out * per_task)
    price = config.teacher_price()
    cost = None
    if price is not None:
        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens,
                      cache_read_tokens=read, cache_write_tokens=write)
        cost = usage_cost(usage, price)
    return Estimate(
        tasks=len(tasks), pending=len(pending), turns=turns, input_tokens=input_tokens,
        output_tokens=output_tokens, cost_usd=cost, basis=basis, tokenizer=name,
        run=config.run, teacher=config.teacher, cache_read_tokens=read,
        cache_write_tokens=write, projection=projection,
        projection_text=projection.describe(config),
    )
