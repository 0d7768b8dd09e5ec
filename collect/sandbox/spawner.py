"""Sandbox spawners: one small fork of the fork server per configuration, which only clones.

Why: every page a process writes while it shares that page with a fork it made costs a
copy-on-write fault (~2.5 us each on a small VM). When the fork server cloned each sandbox
itself, everything it did next (reading the host's JSON request, building the reply,
reaping, sending exits) wrote to ~200 pages shared with the sandboxes it had just made, and
each new sandbox then set up the same environment, import path, signals and worker hooks
again. A spawner is forked once per configuration, sets all of that up once, and then runs
a loop that writes to very few pages: read one byte, make the sandbox's pipes, ``clone``,
send back the pid and the host's ends. The fork server, which no longer forks sandboxes,
keeps its pages to itself (measured: its faults per sandbox 216 -> 2, its CPU 1.4 -> 0.5
ms; a fresh sandbox's start latency 3.7 -> 2.7 ms and its total CPU ~5 % less, the clone's
own ~1 ms, mostly the kernel making the namespaces, having moved to the spawner).

Each sandbox is cloned with ``CLONE_PARENT``: its parent is the fork server, not the
spawner, so the server reaps it, reports its exit and is the parent its PDEATHSIG watches,
exactly as when the server cloned it. A spawner never runs any episode's code and holds no
fd but its control socket; it dies with the server (PDEATHSIG) or when its socket closes.

Protocol on the control socket (SOCK_SEQPACKET): server → spawner one byte per sandbox;
spawner → server the sandbox's pid in ASCII with four fds (the host ends of its stdin,
stdout and stderr, and the write end of its ``go`` pipe, written once its id maps are), or
``E`` and the reason when the kernel refused the clone.
"""

import gc
import os
import signal
import socket

import jail  # a sibling loaded by path, as the fork server loads it

#: One reply: a pid, or ``E`` and an error line.
REPLY_MAX = 512


class Gone(Exception):
    """The spawner exited (killed, or out of memory): start another."""


class Spawner:
    """The fork server's handle on one spawner process."""

    def __init__(self, pid: int, sock: socket.socket, template: str) -> None:
        self.pid = pid
        self.sock = sock
        self.template = template

    @classmethod
    def start(cls, template: str, prepare, child) -> "Spawner":
        """Fork a spawner. In it, ``prepare()`` sets up what every sandbox of this
        configuration shares (environment, import path), then each request clones one whose
        child runs ``child(fds, go_r)`` (never returning). Every fd of the server's but the
        control socket is closed in the spawner first."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            try:
                ours.close()
                _serve(theirs, prepare, child)
            finally:
                os._exit(jail.JAIL_BROKEN)
        theirs.close()
        return cls(pid, ours, template)

    def spawn(self) -> tuple[int, list[int], int]:
        """One new sandbox: its pid (the server's child), the host ends of its stdin, stdout
        and stderr, and the ``go`` pipe's write end. Raises ``OSError`` when the kernel
        refused the clone, ``Gone`` when the spawner is dead."""
        try:
            self.sock.send(b"s")
            data, fds, _, _ = socket.recv_fds(self.sock, REPLY_MAX, 4)
        except OSError:  # reset or broken pipe: it died (the reason is its exit status)
            raise Gone("the spawner exited") from None
        if not data:
            raise Gone("the spawner exited")
        if data[:1] == b"E" or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            raise OSError(data[1:].decode(errors="replace") or "no pipes sent")
        return int(data), fds[:3], fds[3]

    def stop(self) -> None:
        """Close the control socket: the spawner reads end-of-file and exits (the server
        reaps it). Sandboxes it made are the server's children and live on."""
        self.sock.close()


def _serve(sock: socket.socket, prepare, child) -> None:
    """In the spawner: shed the server's state, set up once, then clone on request."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # no children: they are the server's
    jail.die_with_parent()
    ctl = sock.fileno()
    # Only the control socket stays open: nothing of the server's reaches a sandbox.
    os.closerange(3, ctl)
    os.closerange(ctl + 1, os.sysconf("SC_OPEN_MAX"))
    prepare()
    gc.freeze()  # what was set up is shared with every sandbox: never walked again
    while True:
        if not os.read(ctl, 1):
            os._exit(0)  # the server closed this spawner
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        go_r, go_w = os.pipe()
        try:
            pid = jail.clone()
        except OSError as exc:
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w, go_r, go_w):
                os.close(fd)
            sock.send(b"E" + str(exc).encode()[: REPLY_MAX - 1])
            continue
        if pid == 0:  # ``child`` keeps only its own pipes' ends
            child([in_r, out_w, err_w], go_r)
            os._exit(jail.JAIL_BROKEN)
        for fd in (in_r, out_w, err_w, go_r):
            os.close(fd)
        host = [in_w, out_r, err_r, go_w]
        try:
            socket.send_fds(sock, [str(pid).encode()], host)
        except OSError:
            os._exit(0)  # the server is gone; PDEATHSIG ends the sandbox
        finally:
            for fd in host:
                os.close(fd)

