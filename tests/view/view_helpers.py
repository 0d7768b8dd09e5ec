"""Runs and versions with known contents for the ``trajkit view`` tests."""

from __future__ import annotations

from pathlib import Path

from factories import make_step, make_trajectory, write_run

from trajkit.dataset.version import build_version
from trajkit.filters.presets import default_chain
from trajkit.schemas import TeacherInfo, Trajectory, Usage

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def episodes(run: str = "run-a") -> list[Trajectory]:
    """Eight episodes over two sources and two teachers; the default chain keeps m1, m4, h1.

    Self-correcting successes: m1 (exception → solve), m4 (syntax → ok → solve), h1 (timeout →
    solve). m2 succeeds without an error, m3 and h2 fail, m5 errs only after its success, h3
    succeeds partially (score 0.5) after an error.
    """
    gpt = TeacherInfo(provider="openai", model="gpt-4o-mini")
    usage = Usage(input_tokens=1000, output_tokens=200, calls=1)
    steps = {
        "m1": ["exception", "solve"],
        "m2": ["ok", "solve"],
        "m3": ["ok", "wrong", "wrong"],
        "m4": ["syntax", "ok", "solve"],
        "m5": ["solve", "exception"],
        "h1": ["timeout", "solve"],
        "h2": ["exception", "ok", "ok", "ok", "wrong"],
        "h3": ["exception", "solve"],
    }
    out = []
    for task_id, kinds in steps.items():
        source = "math" if task_id[0] == "m" else "hotpotqa"
        built = [make_step(i, k, usage=usage) for i, k in enumerate(kinds)]
        extra = {"teacher": gpt} if task_id in ("m1", "m2", "h1") else {}
        score = 0.5 if task_id == "h3" else None
        out.append(make_trajectory(task_id, built, run=run, source=source, score=score, **extra))
    return out


def hostile(run: str = "run-h") -> Trajectory:
    """A self-correcting success whose every text field carries markup that must stay inert."""
    steps = [
        make_step(0, "exception", content=f"print('{HOSTILE}')"),
        make_step(1, "solve", content=HOSTILE),
    ]
    traj = make_trajectory(f"task-{HOSTILE}", steps, run=run, source=f"src{HOSTILE}")
    data = traj.model_dump()
    data["task"]["prompt"] = HOSTILE
    data["messages"][1]["content"] = HOSTILE
    data["messages"][3]["content"] = f"Observation: {HOSTILE}"
    data["score_details"] = {HOSTILE: HOSTILE}
    data["answer"] = HOSTILE
    return Trajectory.model_validate(data)


def make_run(root: Path, name: str = "run-a", trajs: list[Trajectory] | None = None) -> Path:
    """``ROOT/runs/NAME`` holding ``trajs`` (default :func:`episodes`)."""
    return write_run(root / "runs" / name, trajs if trajs is not None else episodes(name))


def make_version(root: Path) -> Path:
    """``ROOT/datasets/demo/v1`` filtered by the default chain from :func:`make_run`."""
    run = make_run(root)
    return build_version([run], "demo", root, default_chain()).path


def report_text(report: Path) -> str:
    """Every file of a report folder as one string (pages and data chunks): what a reader
    who receives the folder can see."""
    return "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(report.rglob("*")) if p.is_file()
    )
