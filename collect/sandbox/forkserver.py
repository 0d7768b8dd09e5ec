"""The sandbox fork server: starts isolated workers without starting a Python each time.

Why: two interpreter start-ups (launcher + worker) cost ~30 ms of CPU per episode, which at
thousands of episodes is most of the collector's CPU. This process (stdlib only, run as a
script by the host) imports the worker once; each request forks a child that builds fresh
namespaces (``jail.launch``) and runs the worker in them. The child drops everything it
inherited: it gets only the pipes sent with the request, a scrubbed environment and the
sandbox's own file system.

Protocol on a SOCK_SEQPACKET socket (fd given as argv[1]):
* host → server: JSON ``{"id", "config"}`` with three fds (worker stdin, stdout, stderr);
* server → host: ``{"op": "started", "id", "pid"}`` or ``{"op": "failed", "id", "error"}``,
  then ``{"op": "exited", "pid", "status"}`` when that sandbox's launcher exits.
The server exits when the host's end of the socket closes (the host exited or died), and its
sandboxes die with it (each launcher has PDEATHSIG set).
"""

import json
import os
import select
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import jail  # noqa: E402 - stdlib-only sibling, loaded by path on purpose
import worker  # noqa: E402

sys.path.remove(HERE)
STDLIB_PATH = list(sys.path)
MAX_MESSAGE = 1 << 20


def _send(sock: socket.socket, msg: dict) -> None:
    try:
        sock.send(json.dumps(msg).encode())
    except OSError:
        pass  # the host is gone; the next recv ends the loop


def _child(sock: socket.socket, wake: tuple[int, int], cfg: dict, fds: list[int]) -> None:
    """In the forked child: own session, only the request's fds, then build the sandbox."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sock.close()
    for fd in wake:
        os.close(fd)
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    sys.path[:] = STDLIB_PATH + [p for p in cfg.get("sys_path", []) if p not in STDLIB_PATH]
    # The interpreter as the jail shows it (a venv is bound at a fixed place), so code that
    # runs ``sys.executable`` or reads ``sys.prefix`` finds it inside.
    for name, value in cfg.get("python", {}).items():
        if name in ("executable", "prefix", "exec_prefix"):
            setattr(sys, name, value)
    jail.launch(cfg, worker.main)


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(sock, {"op": "exited", "pid": pid, "status": os.waitstatus_to_exitcode(status)})


def serve(sock_fd: int) -> None:
    """Fork workers on request until the host closes its end. A host that went away with
    replies unread (a collector stopping at once) resets the connection: that is the same
    end of service, not an error to print into the collector's output."""
    try:
        _serve(sock_fd)
    except ConnectionError:  # reset or broken pipe on the host's socket: the host is gone
        return


def _serve(sock_fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's to handle
    sock = socket.socket(fileno=sock_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        # A socket and a raw fd: both are valid select() entries (fileno() or int).
        ready, _, _ = select.select([sock, wake_r], [], [])  # type: ignore[type-var]
        if wake_r in ready:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
            _reap(sock)
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3)
        except InterruptedError:
            continue
        if not data:
            return
        request = json.loads(data)
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            _send(sock, {"op": "failed", "id": request.get("id"), "error": "expected 3 fds"})
            continue
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            _send(sock, {"op": "failed", "id": request.get("id"), "error": str(exc)})
            continue
        if pid == 0:
            try:
                _child(sock, (wake_r, wake_w), request["config"], fds)
            finally:
                os._exit(jail.JAIL_BROKEN)
        for fd in fds:
            os.close(fd)
        _send(sock, {"op": "started", "id": request.get("id"), "pid": pid})
        _reap(sock)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
