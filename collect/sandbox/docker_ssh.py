"""``DOCKER_HOST=ssh://[USER@]HOST[:PORT]``: the remote engine's socket, forwarded by OpenSSH.

The docker SDK's own ssh transport needs paramiko and yields no socket an event loop can
adopt. Instead one ``ssh -N -L LOCAL:/var/run/docker.sock`` per collector process and host
forwards the remote engine's socket to a private local one (in a 0700 directory), and
everything then goes through that as through a local engine's socket: the one ssh connection
carries every request and every container's attach stream. ssh runs in batch mode (keys or
an agent, ``~/.ssh/config`` honoured, never a prompt) and dies with the collector.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from trajkit.core.errors import SandboxUnavailableError

REMOTE_SOCKET = "/var/run/docker.sock"
READY_TIMEOUT_S = 30.0
PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


class _Tunnel:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.socket = os.path.join(directory, "docker.sock")
        self.errors = os.path.join(directory, "ssh.err")
        self.proc: subprocess.Popen[bytes] | None = None
        self.spawned = threading.Event()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


_tunnels: dict[tuple[str, int], _Tunnel] = {}
_lock = threading.Lock()


def forward(host: str, port: int, named: str) -> str:
    """The local socket this process forwards to ``[USER@]HOST``'s engine (opened on first
    use, reopened if ssh died); ``named`` is how messages name the engine."""
    with _lock:
        current = _tunnels.get((host, port))
        if current is None or not current.alive():
            current = _tunnels[host, port] = _open(host, port, named)
    return current.socket


def _die_with_parent() -> None:
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _keep(tunnel: _Tunnel, cmd: list[str]) -> None:
    """Start ssh from this thread and wait on it: the death signal fires when the thread
    that started a child ends, and this one lives exactly as long as the tunnel (or the
    process) does."""
    try:
        with open(tunnel.errors, "wb") as errors:
            tunnel.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                preexec_fn=_die_with_parent,
            )
    finally:
        tunnel.spawned.set()
    tunnel.proc.wait()


def _open(host: str, port: int, named: str) -> _Tunnel:
    if shutil.which("ssh") is None:
        raise SandboxUnavailableError(f"{named}: needs the OpenSSH client (ssh) here")
    state = _Tunnel(tempfile.mkdtemp(prefix="trajkit-ssh-"))
    cmd = [
        "ssh", "-N", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
        "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
        "-p", str(port), "-L", f"{state.socket}:{REMOTE_SOCKET}", "--", host,
    ]
    threading.Thread(target=_keep, args=(state, cmd), name="trajkit-ssh", daemon=True).start()
    state.spawned.wait()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _answers(state.socket):
        if not state.alive() or time.monotonic() > deadline:
            reason = _last_error(state)
            _close(state)
            raise SandboxUnavailableError(
                f"docker engine unreachable at {named} (ssh: {reason}); check that "
                f"`ssh -p {port} {host} true` logs in without a prompt"
            )
        time.sleep(0.05)
    return state


def _answers(path: str) -> bool:
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _last_error(state: _Tunnel) -> str:
    try:
        with open(state.errors, errors="replace") as fh:
            lines = [line.strip() for line in fh if line.strip()]
    except OSError:
        lines = []
    if lines:
        return lines[-1][:200]
    return "exited" if not state.alive() else f"no forward within {READY_TIMEOUT_S:.0f}s"


def _close(state: _Tunnel) -> None:
    if state.alive():
        assert state.proc is not None
        state.proc.terminate()
        try:
            state.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            state.proc.kill()
    shutil.rmtree(state.directory, ignore_errors=True)


def close_all() -> None:
    """End every tunnel this process opened; called at exit after the engines removed their
    containers (through the tunnels)."""
    with _lock:
        tunnels = list(_tunnels.values())
        _tunnels.clear()
    for state in tunnels:
        _close(state)
