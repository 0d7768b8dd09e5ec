"""The run's teacher, assembled the same way by every executor (in-process, Ray workers).

Layers, innermost first: the provider's client (``TeacherProvider.make``, whose HTTP hook feeds the
adaptive limit), then either provider batching (``--mode batch``) or adaptive concurrency
(sync mode, unless ``--no-adaptive``), then the response cache, so a cached answer never
waits for a slot or a batch.
"""

from __future__ import annotations

import threading

from trajkit.collect.config import CollectConfig
from trajkit.collect.teachers.base import Teacher
from trajkit.collect.teachers.batch_teacher import batch_teacher
from trajkit.collect.teachers.cache import with_cache
from trajkit.collect.teachers.common import client_shards
from trajkit.collect.teachers.provider import provider_for
from trajkit.collect.teachers.rate_control import AdaptiveLimit, AdaptiveTeacher


def preload_teacher(config: CollectConfig) -> None:
    """Start importing the teacher's SDK in a background thread, so that its import overlaps
    the run's set-up (loading the tasks, probing the sandbox's interpreter in a subprocess)
    instead of following it. Only where this process builds the teacher (``--executor
    local``); anything that goes wrong here is left for :func:`build_teacher` to report."""
    if config.executor != "local":
        return
    try:
        provider, _ = provider_for(config.teacher)
    except Exception:  # an unknown provider: build_teacher says so in one line
        return

    def load() -> None:
        try:
            provider.preload()
        except Exception:  # build_teacher imports it again and reports the error
            pass

    threading.Thread(target=load, name="trajkit-teacher-import", daemon=True).start()


def build_teacher(config: CollectConfig, *, cache: bool = True) -> Teacher:
    """The teacher ``config`` describes; ``cache=False`` leaves the cache to the caller."""
    provider, model = provider_for(config.teacher)
    limit = AdaptiveLimit(config.concurrency)
    teacher = provider.make(
        model, dict(config.teacher_params), on_status=limit.observe,
        client_shards=client_shards(config.concurrency),
        **provider.cache_options(config.prompt_cache),
    )
    if config.mode == "batch":  # answered requests land in the response cache
        teacher = batch_teacher(
            teacher, provider, run_dir=config.run_dir, poll_s=config.batch_poll_s,
            window_s=config.batch_window_s,
            results_path=config.cache_path if config.cache
            else config.run_dir / "batch-results.sqlite", run=config.run,
        )
    elif config.adaptive:  # fewer calls in flight while the provider keeps saying 429
        teacher = AdaptiveTeacher(teacher, limit)
    if cache and config.cache and provider.cacheable:
        teacher = with_cache(teacher, config.cache_path, config.run)
    return teacher
