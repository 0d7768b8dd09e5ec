"""The WebShop source (Yao et al., 2022): buy the product an instruction describes.

An interactive source: every episode opens its own shop session and the teacher's code acts
on it with ``search(query)`` and ``click(target)``; the episode ends at ``Buy Now`` with
WebShop's reward (``score``), solved when the reward reaches ``success_threshold``.

``backend=local`` (default) is trajkit's own implementation of WebShop's text environment
(BM25 search, pages, reward) over WebShop's data files (``--data FOLDER``) or the bundled
sample; ``backend=server url=...`` drives a real WebShop server instead. Task ``fixed_i`` is
goal ``i`` in WebShop's shuffled goal order under both, and ``--split test|eval|train`` picks
WebShop's ranges (goals 0-499, 500-1499, 1500+); ``--type`` filters by category.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import ConfigError
from trajkit.core.tools import Tool
from trajkit.schemas import Task, Verdict
from trajkit.sources.base import LoadOptions, SourceRuntime
from trajkit.sources.sampling import sample_tasks
from trajkit.sources.webshop.catalog import SAMPLE_DIR, Catalogue, load_catalogue
from trajkit.sources.webshop.demonstration import DEMONSTRATION
from trajkit.sources.webshop.engine import LocalSession, LocalShop
from trajkit.sources.webshop.episode import NO_PURCHASE, WebShopEnv
from trajkit.sources.webshop.options import WebShopOptions
from trajkit.sources.webshop.prompt import build_prompt
from trajkit.sources.webshop.report import WebShopReport
from trajkit.sources.webshop.reward import Goal, Purchase, get_reward
from trajkit.sources.webshop.server import ServerSession, fetch_instructions, httpx, open_client

__all__ = [
    "DEMO_REPLAY",
    "SAMPLE_DIR",
    "Goal",
    "Purchase",
    "WebShopEnv",
    "WebShopOptions",
    "WebShopSource",
    "build_prompt",
    "get_reward",
    "load_catalogue",
]

#: Hand-written CodeAct turns for some sample goals, for an offline demo (replay teacher).
DEMO_REPLAY = SAMPLE_DIR / "webshop_demo_replay.jsonl"
#: WebShop's goal ranges for its splits (``baseline_models/env.py``).
SPLITS = {"test": (0, 500), "eval": (500, 1500), "train": (1500, None)}


def split_range(split: str | None, total: int | None) -> tuple[int, int | None]:
    """Goal index range for ``--split`` (all goals without one)."""
    if split is None:
        return 0, total
    key = {"validation": "eval", "dev": "eval"}.get(split.lower(), split.lower())
    if key not in SPLITS:
        raise ConfigError(f"--split {split!r}: webshop has test, eval and train")
    lo, hi = SPLITS[key]
    return lo, hi if hi is not None else total


class WebShopSource(WebShopReport):
    """WebShop as an interactive trajkit source: one shop session per episode."""

    name = "webshop"
    options_model = WebShopOptions
    demo_replay = DEMO_REPLAY
    typical_episode = (6.0, 180.0, 350.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstration.py``."""
        return DEMONSTRATION

    def __init__(self, options: WebShopOptions | None = None) -> None:
        self.options = options or WebShopOptions()
        self.catalogue: Catalogue | None = None
        self._shop: LocalShop | None = None
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_options(cls, raw: Mapping[str, str]) -> WebShopSource:
        """Build from ``--source-opt KEY=VALUE`` pairs; bad ones are one-line ConfigErrors."""
        return cls(WebShopOptions.parse(raw))

    def load(self, options: LoadOptions) -> list[Task]:
        """Goals as tasks ``fixed_i``: from the data folder (local) or the server's pages."""
        if options.hf:
            raise ConfigError("--hf: webshop reads its data files from --data FOLDER")
        if options.levels:
            raise ConfigError("--level: webshop goals have no levels (use --type CATEGORY)")
        if self.options.backend == "server":
            return self._load_from_server(options)
        self.catalogue = load_catalogue(Path(options.data) if options.data else SAMPLE_DIR)
        goals = self.catalogue.goals
        lo, hi = split_range(options.split, len(goals))
        wanted = {t.lower() for t in options.types}
        tasks = [
            _task(i, goals[i].instruction_text, goals[i])
            for i in range(lo, min(hi or len(goals), len(goals)))
            if not wanted or goals[i].category.lower() in wanted
        ]
        return sample_tasks(tasks, options.limit, options.seed)

    def _load_from_server(self, options: LoadOptions) -> list[Task]:
        if options.data or options.types:
            raise ConfigError("--data/--type: with backend=server the server holds the goals")
        if self.options.goals is not None:
            lo, hi = self.options.goals
        else:
            lo, end = split_range(options.split, None)
            if end is None:
                raise ConfigError(
                    "backend=server: say which goals to play with --split test|eval or "
                    "--source-opt goals=START:END"
                )
            hi = end
        chosen = sample_tasks(
            [_task(i, "", None) for i in range(lo, hi)], options.limit, options.seed
        )
        assert self.options.url is not None
        texts = fetch_instructions(
            self.options.url, [t.metadata["goal_index"] for t in chosen], self.options.timeout
        )
        return [
            _task(t.metadata["goal_index"], text, None)
            for t, text in zip(chosen, texts, strict=True)
        ]

    def attach(self, runtime: SourceRuntime) -> None:
        """Build the search index once, before the first episode (local backend)."""
        if self.options.backend == "local":
            self._local_shop()

    def _local_shop(self) -> LocalShop:
        if self._shop is None:
            if self.catalogue is None:
                self.catalogue = load_catalogue(SAMPLE_DIR)
            self._shop = LocalShop(self.catalogue)
        return self._shop

    def tools(self, task: Task) -> Sequence[Tool]:
        """None at the source level: each episode's environment brings its own."""
        return []

    async def open_env(self, task: Task) -> WebShopEnv:
        """A fresh session on goal ``task.metadata['goal_index']``, on this episode alone."""
        index = int(task.metadata["goal_index"])
        session: ServerSession | LocalSession
        if self.options.backend == "server":
            if self._client is None:
                self._client = open_client(self.options.timeout)
            session = ServerSession(self._client, self.options.url or "", index)
        else:
            shop = self._local_shop()
            assert self.catalogue is not None
            session = shop.session(self.catalogue.goals[index])
        await session.start()
        return WebShopEnv(
            session,
            max_steps=self.options.max_steps,
            success_threshold=self.options.success_threshold,
        )

    async def judge(self, task: Task, answer: str) -> Verdict:
        """Only a purchase scores; an answer outside an episode buys nothing."""
        return Verdict(success=False, score=0.0, details={"reason": NO_PURCHASE})

    async def aclose(self) -> None:
        """Close the server backend's HTTP client (called by the runner after the run)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _task(index: int, instruction: str, goal: Goal | None) -> Task:
    metadata: dict[str, object] = {"goal_index": index}
    if goal is not None:
        metadata.update(category=goal.category, asin=goal.asin)
    return Task(
        source="webshop",
        task_id=f"fixed_{index}",
        prompt=build_prompt(instruction) if instruction else "",
        reference=goal.to_dict() if goal is not None else None,
        metadata=metadata,
    )
