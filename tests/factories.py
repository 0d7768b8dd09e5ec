"""Build valid ``Trajectory`` records (and run files) for tests, with errors where you want them.

Steps can be given as ``Step`` objects or as short names, so a test reads like the episode::

    make_trajectory(steps=["exception", "ok", "solve"])   # fails, recovers, solves

Names: ``"ok"`` (code ran), an ``ErrorKind`` value (``"exception"``, ``"syntax"``,
``"timeout"``, ``"worker_restart"``: code failed that way), ``"solve"`` (accepted answer),
``"wrong"`` (rejected answer), ``"invalid"`` (no parsable action).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from trajkit.schemas import (
    Action,
    ActionKind,
    ErrorInfo,
    ErrorKind,
    Message,
    Observation,
    Step,
    Task,
    TeacherInfo,
    Termination,
    Timing,
    ToolCall,
    Trajectory,
    Usage,
    Verdict,
)

ERROR_KINDS = {k.value for k in ErrorKind}
_ERROR_TYPES = {
    "exception": ("ZeroDivisionError", "division by zero"),
    "syntax": ("SyntaxError", "invalid syntax"),
    "timeout": ("TimeoutError", "execution exceeded 10s"),
    "worker_restart": ("WorkerRestart", "sandbox worker died and was restarted"),
}


def make_step(
    index: int,
    kind: str = "ok",
    *,
    content: str | None = None,
    score: float | None = None,
    usage: Usage | None = None,
) -> Step:
    """One step from a short name (see module docstring)."""
    usage = usage or Usage(input_tokens=100, output_tokens=20, calls=1)
    if kind == "ok" or kind in ERROR_KINDS:
        error = None
        if kind in ERROR_KINDS:
            etype, msg = _ERROR_TYPES[kind]
            error = ErrorInfo(kind=ErrorKind(kind), type=etype, message=msg)
        code = content if content is not None else f"x = {index}\nprint(x)"
        return Step(
            index=index,
            assistant=f"Let me compute.\n<execute>\n{code}\n</execute>",
            action=Action(kind=ActionKind.EXECUTE, content=code),
            observation=Observation(
                text=f"{error.type}: {error.message}" if error else str(index), error=error
            ),
            usage=usage,
        )
    if kind in ("solve", "wrong"):
        ok = kind == "solve"
        answer = content if content is not None else ("42" if ok else "41")
        return Step(
            index=index,
            assistant=f"<solution>{answer}</solution>",
            action=Action(kind=ActionKind.SOLUTION, content=answer),
            verdict=Verdict(success=ok, score=score if score is not None else float(ok)),
            usage=usage,
        )
    if kind == "invalid":
        return Step(
            index=index,
            assistant=content or "I am thinking.",
            action=Action(kind=ActionKind.INVALID, content=""),
            usage=usage,
        )
    raise ValueError(f"unknown step kind {kind!r}")


def _messages(prompt: str, steps: Sequence[Step]) -> list[Message]:
    msgs = [Message(role="system", content="You are a CodeAct agent."), Message(role="user", content=prompt)]
    for step in steps:
        msgs.append(Message(role="assistant", content=step.assistant))
        if step.observation is not None:
            msgs.append(Message(role="user", content=f"Observation: {step.observation.text}"))
        elif step.verdict is not None and not step.verdict.success:
            msgs.append(Message(role="user", content="Your answer is wrong."))
    return msgs


def make_trajectory(
    task_id: str = "task-1",
    steps: Sequence[Step | str] | None = None,
    success: bool | None = None,
    score: float | None = None,
    *,
    source: str = "math",
    run: str = "run-1",
    id: str | None = None,
    termination: Termination | str | None = None,
    self_corrected: bool = False,
    usage: Usage | None = None,
    **overrides: Any,
) -> Trajectory:
    """A valid trajectory; unspecified fields get plausible values derived from the steps.

    ``success`` defaults to whether any step is an accepted answer; ``score`` to 1.0/0.0;
    ``termination`` to solved/max_turns; ``usage`` to the sum of step usages; ``id`` to
    ``f"{run}/{task_id}"``. ``self_corrected`` is stored as given (default False) on purpose:
    filters must not trust it. ``overrides`` set any other ``Trajectory`` field.
    """
    if steps is None:
        steps = ["ok", "solve"] if success in (None, True) else ["ok", "wrong"]
    built = [s if isinstance(s, Step) else make_step(i, s) for i, s in enumerate(steps)]
    if success is None:
        success = any(s.verdict is not None and s.verdict.success for s in built)
    if score is None:
        score = 1.0 if success else 0.0
    if termination is None:
        termination = Termination.SOLVED if success else Termination.MAX_TURNS
    if usage is None:
        usage = Usage()
        for s in built:
            usage = usage + s.usage
    prompt = f"Solve problem {task_id}."
    fields: dict[str, Any] = {
        "id": id if id is not None else f"{run}/{task_id}",
        "run": run,
        "source": source,
        "task_id": task_id,
        "task": Task(source=source, task_id=task_id, prompt=prompt, reference="42"),
        "teacher": TeacherInfo(provider="fake", model="fake-1"),
        "sandbox": "subprocess",
        "messages": _messages(prompt, built),
        "steps": built,
        "success": success,
        "score": score,
        "answer": "42" if success else None,
        "self_corrected": self_corrected,
        "termination": Termination(termination),
        "usage": usage,
        "timing": Timing(
            started_at="2024-01-01T00:00:00Z", finished_at="2024-01-01T00:00:05Z", duration_s=5.0
        ),
        "toolkit_version": "0.1.0",
    }
    fields.update(overrides)
    return Trajectory(**fields)


def trajectory_line(traj: Trajectory) -> str:
    """The line a run writer appends for ``traj`` (compact JSON, newline-terminated)."""
    return traj.model_dump_json() + "\n"


def write_jsonl(path: Path, trajs: Iterable[Trajectory], tail: str = "") -> Path:
    """Write ``trajs`` one per line, then ``tail`` verbatim (e.g. a torn half line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for traj in trajs:
            fh.write(trajectory_line(traj))
        fh.write(tail)
    return path


def write_run(run_dir: Path, trajs: Iterable[Trajectory], tail: str = "") -> Path:
    """A run directory with ``trajectories.jsonl`` and a minimal ``run.json``; returns the dir."""
    run_dir = Path(run_dir)
    write_jsonl(run_dir / "trajectories.jsonl", trajs, tail)
    run_json = {
        "run": run_dir.name,
        "status": "completed",
        "config": {},
        "started_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:01:00Z",
        "toolkit_version": "0.1.0",
    }
    (run_dir / "run.json").write_text(json.dumps(run_json, indent=2) + "\n", encoding="utf-8")
    return run_dir


# ----------------------------------------------------------------- native function calling

#: A host tool's function schema, as ``core.tool_schema.function_schema`` writes one.
SEARCH_SCHEMA: dict[str, Any] = {
    "name": "search",
    "description": "Search the wiki and return the first paragraph.",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
        "additionalProperties": False,
    },
}
_BUDGET = "You have {turns} steps left and 2 chances to propose solution left."


def _tool_step(index: int, text: str, calls: list[ToolCall], result: str, *,
               error: ErrorInfo | None = None, answer: str | None = None) -> Step:
    first = calls[0]
    if answer is not None:
        action = Action(kind=ActionKind.SOLUTION, content=answer)
        return Step(index=index, assistant=text, action=action, calls=calls,
                    verdict=Verdict(success=answer == "42", score=float(answer == "42")),
                    usage=Usage(input_tokens=100, output_tokens=20, calls=1))
    return Step(
        index=index, assistant=text, calls=calls,
        action=Action(kind=ActionKind.TOOL, content=f"{first.name}({first.arguments})"),
        observation=Observation(text=result, error=error),
        usage=Usage(input_tokens=100, output_tokens=20, calls=1),
    )


def make_tools_trajectory(task_id: str = "tools-1", *, malformed: bool = True,
                          **overrides: Any) -> Trajectory:
    """A solved episode in the ``tools`` action format, shaped as the loop writes it: a call,
    two parallel calls, a failed call (``malformed``: arguments that are not JSON; otherwise
    code that raises) answered with ``is_error``, a turn without a call corrected by a user
    message, then ``submit``. ``overrides`` set any other ``Trajectory`` field."""
    from trajkit.core.tool_schema import EXECUTE_PYTHON, SUBMIT

    bad_args = '{"code": "print(1' if malformed else '{"code": "1/0"}'
    error = (ErrorInfo(kind=ErrorKind.BAD_CALL, type="BadCall", message="arguments are not JSON")
             if malformed else ErrorInfo(kind=ErrorKind.EXCEPTION, type="ZeroDivisionError",
                                         message="division by zero"))
    bad_result = ("Error: the arguments are not valid JSON." if malformed
                  else "ZeroDivisionError: division by zero")
    c0 = ToolCall(id="call_0", name="search", arguments='{"query": "answer"}')
    c1 = ToolCall(id="call_1a", name="execute_python", arguments='{"code": "print(6 * 7)"}')
    c2 = ToolCall(id="call_1b", name="search", arguments='{"query": "forty-two"}')
    c3 = ToolCall(id="call_2", name="execute_python", arguments=bad_args)
    c4 = ToolCall(id="call_4", name="submit", arguments='{"answer": "42"}')
    steps = [
        _tool_step(0, "Let me search first.", [c0], "The answer is a number."),
        _tool_step(1, "", [c1, c2], "42\n\nForty-two is a number."),
        _tool_step(2, "Now check it in Python.", [c3], bad_result, error=error),
        Step(index=3, assistant="I think the answer is 42.",
             action=Action(kind=ActionKind.INVALID, content="no function call"),
             usage=Usage(input_tokens=100, output_tokens=20, calls=1)),
        _tool_step(4, "", [c4], "", answer="42"),
    ]
    prompt = f"Solve problem {task_id}."
    messages = [
        Message(role="system", content="You are a helpful assistant who calls functions."),
        Message(role="user", content=prompt),
        Message(role="assistant", content=steps[0].assistant, tool_calls=[c0]),
        Message(role="tool", content="The answer is a number.\n" + _BUDGET.format(turns=4),
                tool_call_id="call_0"),
        Message(role="assistant", content="", tool_calls=[c1, c2]),
        Message(role="tool", content="42", tool_call_id="call_1a"),
        Message(role="tool", content="Forty-two is a number.\n" + _BUDGET.format(turns=3),
                tool_call_id="call_1b"),
        Message(role="assistant", content=steps[2].assistant, tool_calls=[c3]),
        Message(role="tool", content=f"{bad_result}\n" + _BUDGET.format(turns=2),
                tool_call_id="call_2", is_error=True),
        Message(role="assistant", content=steps[3].assistant),
        Message(role="user", content="I could not find a function call in your last message "
                "(no function call). Call one of the functions you were given.\n"
                + _BUDGET.format(turns=1)),
        Message(role="assistant", content="", tool_calls=[c4]),
    ]
    fields: dict[str, Any] = {
        "action_format": "tools",
        "tools": [SEARCH_SCHEMA, EXECUTE_PYTHON, SUBMIT],
        "messages": messages,
    }
    fields.update(overrides)
    return make_trajectory(task_id, steps, **fields)


DEEP_LINE = "[" * 100_000 + "]" * 100_000 + "\n"
"""Valid JSON nested far deeper than Python's ``json`` can read (it raises ``RecursionError``)."""


def nested_line(traj: Trajectory, depth: int) -> str:
    """``traj``'s line with a list in ``task.metadata`` making the whole record ``depth`` deep
    (the record, ``task`` and ``metadata`` are the first three levels)."""
    obj = json.loads(traj.model_dump_json())
    value: object = 0
    for _ in range(depth - 3):
        value = [value]
    obj["task"]["metadata"]["deep"] = value
    return json.dumps(obj) + "\n"
