"""Hostile input from the sandbox to the host: text the host cannot encode, forged protocol
frames, oversized tool arguments, threads and exceptions that outlive or fight their cell.

Each attack runs through the battery (``battery.py``) on both backends: a real episode, the
next action calling a host tool, a fresh episode after, the host unchanged. On top of that,
every record must serialise as valid UTF-8 JSON: one lone surrogate reaching a record used
to crash the collector at the first write.
"""

from __future__ import annotations

from battery import Battery, Host, Outcome, report
from support import FIND_CHANNEL

from trajkit.schemas import ErrorKind


def records_encode(out: Outcome) -> None:
    for traj in (out.episode, out.next_episode):
        traj.model_dump_json().encode("utf-8")
        assert "\ud800" not in traj.model_dump_json()


async def test_lone_surrogates_from_every_direction(battery: Battery, host: Host) -> None:
    code = (
        "import sys, threading\n"
        "print('out \\ud800')\n"
        "sys.stderr.write('err \\udfff\\n')\n"
        "t = threading.Thread(target=lambda: print('thread \\udc80')); t.start(); t.join()\n"
        "print(echo('tool \\ud800'))\n"
        "class R:\n    def __repr__(self): return 'repr \\ud800'\n"
        "print(repr(R()))\n"
        "raise SystemExit('exit \\ud800')"
    )
    out = await battery.attack(code)
    r = out.attack
    records_encode(out)
    assert not r.restarted and r.error is not None and r.error.type == "SystemExit"
    assert r.output.count("\ufffd") == 6, r.output
    report(out, "lone surrogates printed, raised, echoed by a tool, sys.exit()",
           f"{r.output.count(chr(0xFFFD))} replaced by U+FFFD; records valid UTF-8; "
           "interpreter kept")


async def test_forged_result_frame(battery: Battery, host: Host) -> None:
    code = FIND_CHANNEL + (
        "for fields in [{'duration': float('nan')}, {'truncated': 10**400}]:\n"
        "    frame = {'op': 'result', 'id': 1, 'output': '', 'truncated': 0, 'error': None,\n"
        "             'duration': 0.0, 'ended': False, **fields}\n"
        "    os.write(ch.wfd, json.dumps(frame).encode() + b'\\n')\n"
        "import time\ntime.sleep(2)"
    )
    out = await battery.attack(code)
    r = out.attack
    records_encode(out)
    assert r.restarted and r.error is not None and r.error.kind is ErrorKind.WORKER_RESTART
    assert "corrupt protocol message" in r.error.message
    for traj in (out.episode, out.next_episode):
        for step in traj.steps:
            if step.observation is not None:
                assert step.observation.duration_s < 60
    field = r.error.message.split("(", 1)[1].split(":", 1)[0]
    report(out, "forge a result frame (duration NaN, truncated 10**400)",
           f"corrupt frame ({field} refused): killed at once, restarted")


async def test_forged_tool_call_frame(battery: Battery, host: Host) -> None:
    code = FIND_CHANNEL + (
        "frame = {'op': 'tool_call', 'id': 1, 'name': 'echo', 'args': {'not': 'a list'},\n"
        "         'kwargs': {}}\n"
        "os.write(ch.wfd, json.dumps(frame).encode() + b'\\n')\n"
        "import time\ntime.sleep(2)"
    )
    out = await battery.attack(code)
    r = out.attack
    assert r.restarted and r.error is not None and "corrupt protocol message" in r.error.message
    report(out, "forge a tool call (arguments not a list)",
           "corrupt frame: killed at once, restarted; the tool never ran")


async def test_a_100_mb_tool_argument(battery: Battery, host: Host) -> None:
    out = await battery.attack("kept = 1\necho('x' * 100_000_000)", timeout=20.0)
    r = out.attack
    assert not r.restarted and r.error is not None and r.error.type == "ValueError", r.output
    report(out, "100 MB argument to a host tool",
           f"ValueError in the cell ({r.error.message.split(': ', 1)[1]}); interpreter kept")


async def test_threads_calling_tools_after_their_cell(battery: Battery, host: Host) -> None:
    code = (
        "import threading\n"
        "def spin():\n    while True:\n        echo('again')\n"
        "for _ in range(3):\n    threading.Thread(target=spin, daemon=True).start()\n"
        "print('started')"
    )
    out = await battery.attack(code)
    r = out.attack
    assert r.output == "started\n" and r.error is None
    assert not out.after.restarted and out.after.error is None
    report(out, "threads that keep calling a host tool after their cell ended",
           "replies routed by call id; the next action ran normally (no restart)")


async def test_an_exception_whose_str_raises(battery: Battery, host: Host) -> None:
    code = (
        "kept = 1\n"
        "class E(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n"
        "raise E()"
    )
    out = await battery.attack(code)
    r = out.attack
    assert not r.restarted and r.error is not None and r.error.type == "E"
    assert "Traceback" in r.output
    report(out, "an exception whose __str__ raises",
           f"traceback shown ({r.error.message}); interpreter kept")


async def test_output_printed_after_the_cell_ended(battery: Battery, host: Host) -> None:
    # Deterministically between this cell and the next: the worker's main loop, back for its
    # next command, first lets the thread print (a hook on the channel, installed by the cell).
    code = FIND_CHANNEL + (
        "import threading\n"
        "ended, printed = threading.Event(), threading.Event()\n"
        "def late():\n    ended.wait()\n    print('late words')\n    printed.set()\n"
        "def recv():\n"
        "    del ch.recv\n    ended.set()\n    printed.wait(5)\n    return ch.recv()\n"
        "ch.recv = recv\n"
        "threading.Thread(target=late).start()\nprint('cell done')"
    )
    out = await battery.attack(code)
    assert out.attack.output == "cell done\n"
    after = out.after.output
    assert after.startswith("[printed after cell 1 ended") and "late words" in after, after
    assert after.endswith("still alive\n")
    report(out, "a thread printing after its cell ended",
           "shown at the start of the next observation, labelled, at most 2,000 chars")
