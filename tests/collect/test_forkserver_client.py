"""The fork server's host side: many sandboxes starting at once never freeze the event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

from support import require_isolation

from trajkit.collect.sandbox.forkserver_client import fork_server
from trajkit.collect.sandbox.local import LocalSandbox

STALL_S = 3.0


async def test_a_lagging_fork_server_never_blocks_the_event_loop() -> None:
    """Requests used to be sent from the loop: once the socket filled, each send waited for
    the server to fork, and the whole collector (teacher replies included) stood still."""
    require_isolation()
    server = fork_server()
    server._ensure()
    assert server._proc is not None
    pid = server._proc.pid
    os.kill(pid, signal.SIGSTOP)  # a server far behind: nothing it is sent gets read
    resume = threading.Timer(STALL_S, os.kill, (pid, signal.SIGCONT))
    resume.start()
    sandboxes = [LocalSandbox() for _ in range(200)]  # enough to fill the socket's buffer
    starts = [asyncio.create_task(s.start()) for s in sandboxes]
    try:
        t0 = time.perf_counter()
        await asyncio.sleep(0.05)
        assert time.perf_counter() - t0 < STALL_S / 2, "the event loop was blocked"
        await asyncio.wait_for(asyncio.gather(*starts), 60)
        result = await sandboxes[-1].run("1 + 1", timeout=10)
        assert result.output.strip() == "2"
    finally:
        resume.join()
        os.kill(pid, signal.SIGCONT)
        await asyncio.gather(*starts, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in sandboxes))


def test_the_fork_server_leaves_quietly_when_the_host_goes_with_replies_unread() -> None:
    """A collector that stops at once (a teacher's bad key) may close its end while replies
    it never read are queued there; the server's next read then fails with ECONNRESET. It
    used to die printing a traceback into the collector's one-line error; it exits quietly."""
    import json
    import select
    import socket
    import subprocess
    import sys

    from trajkit.collect.sandbox.forkserver_client import FORKSERVER

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(FORKSERVER), str(theirs.fileno())],
        pass_fds=[theirs.fileno()], stderr=subprocess.PIPE, text=True,
    )
    theirs.close()
    try:
        ours.send(json.dumps({"op": "start", "id": 1}).encode())  # no fds: answered "failed"
        assert select.select([ours], [], [], 30)[0], "the server never answered"
    finally:
        ours.close()  # with the reply unread
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and err == "", err


async def test_a_start_cancelled_while_its_pipes_are_attached_closes_each_fd_once(
    monkeypatch,
) -> None:
    """An episode cancelled as its sandbox's pipes became streams (a teacher's bad key stopping
    the run) closed the bare fds while a file and a transport still owned them: asyncio closed
    them again later, printing EBADF into the run's one-line error, or closing whatever file
    had reused the number since. Pipes opened afterwards must survive the stray closes."""
    import gc

    import pytest

    require_isolation()
    loop = asyncio.get_running_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))

    real = loop.connect_write_pipe

    async def cancelled(factory, pipe):
        """Cancelled while waiting for the new transport, as asyncio handles it: the
        transport is closed (its pipe closed on a later loop turn) and the error raised."""
        transport, _ = await real(factory, pipe)
        transport.close()
        raise asyncio.CancelledError

    monkeypatch.setattr(loop, "connect_write_pipe", cancelled)
    box = LocalSandbox()
    with pytest.raises(asyncio.CancelledError):
        await box.start()
    monkeypatch.undo()
    bystanders = [os.pipe() for _ in range(4)]  # likely to reuse the freed fd numbers
    try:
        gc.collect()  # files and transports left behind close their fds now
        for _ in range(5):
            await asyncio.sleep(0)  # and scheduled connection_lost callbacks run
        for r, w in bystanders:
            os.fstat(r)
            os.fstat(w)
        assert errors == []
    finally:
        for r, w in bystanders:
            for fd in (r, w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        await box.close()
