"""The sandbox fork server: starts isolated workers without starting a Python each time.

Why: two interpreter start-ups (launcher + worker) cost ~30 ms of CPU per episode, which at
thousands of episodes is most of the collector's CPU. This process (stdlib only, run as a
script by the host) imports the worker once; each sandbox is a clone of it straight into
fresh namespaces (``jail.py``: the worker is PID 1 there), on a root assembled once per
set of binds in the server's own mount namespace. The clone is made by a spawner, a fork of
this process per configuration that only clones (``spawner.py``: the server's own work then
never copies pages shared with the sandboxes), but it is this process's child. Every
sandbox is a new process that no other episode's code ever ran in: it inherits only its own
three pipes, a scrubbed environment and its own file systems.

It also keeps a few sandboxes started ahead per configuration (``warm_pool.py``, depth asked
by the host), refilled once requests pause, so that ``start()`` is one message.

Protocol on a SOCK_SEQPACKET socket (fd given as argv[1]):
* host → server: JSON ``{"id", "config", "pool"[, "fresh"]}`` (``pool``: how many
  sandboxes of this configuration to keep started ahead; ``fresh``: start a new one even
  if one is kept);
* server → host: ``{"op": "started", "id", "pid", "pooled"}`` with three fds (the host ends
  of the worker's stdin, stdout and stderr) or ``{"op": "failed", "id", "error"}``, then
  ``{"op": "exited", "pid", "status"}`` when that sandbox's worker (its PID 1) exits.
The server exits when the host's end of the socket closes (the host exited or died), killing
and reaping every sandbox it started (each worker also has PDEATHSIG set, for a server
killed outright).
"""

import _signal  # type: ignore[import-not-found]  # the C module under signal.py
import gc
import json
import os
import select
import signal
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import jail  # noqa: E402 - stdlib-only sibling, loaded by path on purpose
import reaper  # noqa: E402
import spawner as spawner_mod  # noqa: E402
import warm_pool  # noqa: E402
import worker  # noqa: E402

sys.path.remove(HERE)
STDLIB_PATH = list(sys.path)
MAX_MESSAGE = 1 << 20
RECHECK_S = 1.0
#: Refill the pool only once no request came for this long: the sandbox just handed out (its
#: handshake) and the rest of a burst of starts get the CPU first.
REFILL_AFTER_S = 0.005
#: Spawners kept (one per configuration in use; each is a process): the least recently used
#: one stops beyond this.
MAX_SPAWNERS = 8
#: The worker's output limit, taken out of the sandbox's environment by its spawner.
_OUTPUT_LIMIT: int | None = None


class Unavailable(Exception):
    """No sandbox can be made: the exit code and the line its start failure reports."""

    def __init__(self, code: int, line: str) -> None:
        super().__init__(line)
        self.code = code
        self.line = line


class Templates:
    """One read-only root per (jail directory, binds), rebuilt when a bind source changed
    (a directory replaced on the host; looked at once per ``RECHECK_S`` at most)."""

    def __init__(self) -> None:
        self._entered: str | None = None  # None: not yet; "" done; else why it failed
        self._bases: set[str] = set()
        self._roots: dict[tuple[str, str], tuple[str, tuple, float]] = {}  # root, sources, until
        self._count = 0

    def root_for(self, cfg: dict) -> str:
        if self._entered is None:
            try:
                jail.enter_private_mounts()
                self._entered = ""
            except (jail.JailError, OSError) as exc:
                self._entered = f"cannot create the sandbox namespaces: {exc}"
        if self._entered:
            raise Unavailable(jail.JAIL_UNAVAILABLE, self._entered)
        base = cfg["root_dir"]
        binds = cfg["binds"]
        key = (base, json.dumps(binds))
        known = self._roots.get(key)
        now = time.monotonic()
        if known is not None and now < known[2]:
            return known[0]
        identity = jail.source_identity(binds)
        if known is not None and known[1] == identity:
            self._roots[key] = (known[0], identity, now + RECHECK_S)
            return known[0]
        try:
            if base not in self._bases:
                jail.private_base(base)
                self._bases.add(base)
            self._count += 1
            root = f"{base}/{self._count}"
            try:
                jail.build_template(root, binds)
            except BaseException:
                jail.drop_template(root)
                raise
        except (jail.JailError, OSError) as exc:
            raise Unavailable(
                jail.JAIL_BROKEN, f"cannot build the sandbox file system: {exc}"
            ) from None
        if known is not None:
            jail.drop_template(known[0])
        self._roots[key] = (root, identity, now + RECHECK_S)
        return root


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.wake = os.pipe()
        self.templates = Templates()
        self.pool = warm_pool.WarmPool()
        self.handed: set[int] = set()  # sandboxes the host knows: their exits are reported
        self.children: set[int] = set()  # every live sandbox, pooled or handed out
        self.spawners: dict[str, spawner_mod.Spawner] = {}  # by configuration, LRU order

    # -- starting ---------------------------------------------------------------------

    def launch(self, key: str, cfg: dict) -> warm_pool.Ready:
        """A fresh sandbox for ``cfg`` (``key``: its canonical JSON); raises ``Unavailable``."""
        template = self.templates.root_for(cfg)
        try:
            try:
                pid, ours, go_w = self._spawner(key, template, cfg).spawn()
            except spawner_mod.Gone:  # killed since its last sandbox: one more try
                self._forget_spawner(key)
                pid, ours, go_w = self._spawner(key, template, cfg).spawn()
        except spawner_mod.Gone as exc:
            self._forget_spawner(key)
            raise Unavailable(
                jail.JAIL_UNAVAILABLE, f"cannot start a sandbox spawner: {exc}"
            ) from None
        except OSError as exc:  # the kernel refused this clone (or the spawner's fork)
            raise Unavailable(
                jail.JAIL_UNAVAILABLE, f"cannot create the sandbox namespaces: {exc}"
            ) from None
        self.children.add(pid)
        try:
            jail.write_id_maps(pid)
            os.write(go_w, b"g")
        except OSError:
            pass  # the child reads end-of-file and says so on its stderr
        os.close(go_w)
        return warm_pool.Ready(pid, ours, template)

    def _spawner(self, key: str, template: str, cfg: dict) -> spawner_mod.Spawner:
        """The spawner of ``cfg`` (most recently used last), made from the current template;
        the least recently used one stops when there are too many."""
        spawner = self.spawners.pop(key, None)
        if spawner is not None and spawner.template != template:
            spawner.stop()  # made from a replaced template
            spawner = None
        if spawner is None:
            while len(self.spawners) >= MAX_SPAWNERS:
                self.spawners.pop(next(iter(self.spawners))).stop()
            spawner = spawner_mod.Spawner.start(
                template, lambda: _prepare(cfg), lambda fds, go_r: _sandbox(fds, go_r, template, cfg)
            )
        self.spawners[key] = spawner
        return spawner

    def _forget_spawner(self, key: str) -> None:
        spawner = self.spawners.pop(key, None)
        if spawner is not None:
            spawner.stop()

    def failing(self, error: Unavailable) -> warm_pool.Ready:
        """A process that reports ``error`` as a sandbox start failure would (its stderr
        line and exit code), so the host handles it in one place."""
        pipes = [os.pipe() for _ in range(3)]
        pid = os.fork()
        if pid == 0:
            try:
                os.write(pipes[2][1], (error.line + "\n").encode())
            finally:
                os._exit(error.code)
        self.children.add(pid)
        for fd in (pipes[0][0], pipes[1][1], pipes[2][1]):
            os.close(fd)
        return warm_pool.Ready(pid, [pipes[0][1], pipes[1][0], pipes[2][0]])

    # -- serving ----------------------------------------------------------------------

    def handle(self, request: dict) -> None:
        cfg = request["config"]
        key = json.dumps(cfg, sort_keys=True)
        for entry in self.pool.request(key, cfg, request.get("pool", 0)):
            self.discard(entry)
        kept = None if request.get("fresh") else self.take(key, cfg)
        pooled = kept is not None
        if kept is not None:
            entry = kept
        else:
            try:
                entry = self.launch(key, cfg)
            except Unavailable as exc:
                entry = self.failing(exc)
        self.handed.add(entry.pid)
        reply = {"op": "started", "id": request.get("id"), "pid": entry.pid, "pooled": pooled}
        try:
            socket.send_fds(self.sock, [json.dumps(reply).encode()], entry.fds)
        except OSError:
            pass  # the host is gone; the next recv ends the loop
        finally:
            for fd in entry.fds:
                os.close(fd)

    def take(self, key: str, cfg: dict) -> warm_pool.Ready | None:
        """A kept sandbox that is still alive and made from the current template."""
        while (entry := self.pool.take(key)) is not None:
            try:
                current = self.templates.root_for(cfg)
            except Unavailable:
                current = None
            if not self._alive(entry.pid):  # died while kept (and reaped just now)
                for fd in entry.fds:
                    os.close(fd)
            elif entry.template != current:
                self.discard(entry)
            else:
                self.pool.handed_out_alive(key)
                return entry
        return None

    def _alive(self, pid: int) -> bool:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            self.children.discard(pid)
            return False
        return True

    def refill(self) -> None:
        wanted = self.pool.wanted()
        if wanted is None:
            return
        key, cfg = wanted
        try:
            entry = self.launch(key, cfg)
        except Unavailable:
            self.pool.request(key, cfg, 0)  # nothing to keep ahead until the host asks again
            return
        if not self.pool.add(key, entry):
            self.discard(entry)

    def discard(self, entry: warm_pool.Ready) -> None:
        """Kill a kept sandbox nobody will use (reaped with the others)."""
        for fd in entry.fds:
            os.close(fd)
        if entry.pid in self.children:  # never a pid already reaped: it may be reused
            _kill(entry.pid)

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            forgotten = self.pool.forget(pid)
            if forgotten is not None:
                for fd in forgotten.fds:
                    os.close(fd)
            if pid in self.handed:
                self.handed.discard(pid)
                self.send({"op": "exited", "pid": pid, "status": os.waitstatus_to_exitcode(status)})

    def send(self, msg: dict) -> None:
        try:
            self.sock.send(json.dumps(msg).encode())
        except OSError:
            pass  # the host is gone; the next recv ends the loop

    def stop(self) -> None:
        """The host is gone: stop the spawners, kill every sandbox started here and reap
        them all."""
        for spawner in self.spawners.values():
            spawner.stop()
        self.spawners.clear()
        for entry in self.pool.drain():
            for fd in entry.fds:
                os.close(fd)
        for pid in self.children:
            _kill(pid)
        while True:
            try:
                os.waitpid(-1, 0)
            except ChildProcessError:
                return
            except InterruptedError:
                continue

    def serve(self) -> None:
        wake_r, wake_w = self.wake
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        quiet_from = 0.0  # when the last request was handled
        while True:
            timeout = None
            if self.pool.wanted() is not None:
                timeout = max(0.0, quiet_from + REFILL_AFTER_S - time.monotonic())
            # A socket and a raw fd: both are valid select() entries (fileno() or int).
            ready, _, _ = select.select([self.sock, wake_r], [], [], timeout)  # type: ignore[type-var]
            if wake_r in ready:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                self.reap()
            if self.sock not in ready:
                if not ready and time.monotonic() >= quiet_from + REFILL_AFTER_S:
                    self.refill()  # nothing waiting for a while: one more sandbox ahead
                continue
            try:
                data, fds, _, _ = socket.recv_fds(self.sock, MAX_MESSAGE, 3)
            except InterruptedError:
                continue
            for fd in fds:
                os.close(fd)  # this protocol sends none to the server
            if not data:
                return
            request = json.loads(data)
            if not isinstance(request.get("config"), dict):
                self.send({"op": "failed", "id": request.get("id"), "error": "no config"})
                continue
            self.handle(request)
            self.reap()
            quiet_from = time.monotonic()


def _prepare(cfg: dict) -> None:
    """In a spawner, once: what every sandbox of ``cfg`` starts with. The environment is the
    sandbox's own (scrubbed by the host; the output limit is kept for the worker instead), the
    import path the sandbox interpreter's, and ``sys.executable``/``prefix`` as the jail
    shows the interpreter (a venv is bound at a fixed place), so code that runs
    ``sys.executable`` or reads ``sys.prefix`` finds it inside."""
    global _OUTPUT_LIMIT
    env = dict(cfg.get("env", {}))
    limit = env.pop("TRAJKIT_OUTPUT_LIMIT", None)
    _OUTPUT_LIMIT = int(limit) if limit is not None else None
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = STDLIB_PATH + [p for p in cfg.get("sys_path", []) if p not in STDLIB_PATH]
    for name, value in cfg.get("python", {}).items():
        if name in ("executable", "prefix", "exec_prefix"):
            setattr(sys, name, value)
    _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
    # Installed here once, inherited by every clone: each sandbox's worker is PID 1 and reaps
    # what its cells orphan. The spawner itself never has a child to reap (its clones are
    # the server's children).
    reaper.install()
    worker.prepare()


def _sandbox(fds: list[int], go_r: int, template: str, cfg: dict) -> None:
    """In a sandbox's clone: own session, only its pipes, wait for the id maps, then the
    jail and the worker (``jail.run_sandbox``; never returns)."""
    # ``_signal``, not ``signal``: the latter turns each old handler into an enum member,
    # which for an old Python handler means raising and catching a ValueError: ~0.1 ms of
    # copy-on-write faults in every fresh clone.
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    jail.die_with_parent()
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    go = os.read(go_r, 1)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    if go != b"g":
        os.write(2, b"cannot create the sandbox namespaces: the uid map was not written\n")
        os._exit(jail.JAIL_UNAVAILABLE)
    jail.run_sandbox(template, cfg, _run_worker)


def _run_worker() -> None:
    """The worker, as PID 1 of its sandbox (the reaper its spawner installed reaps what its
    cells' code orphans)."""
    worker.main(_OUTPUT_LIMIT)


def _kill(pid: int) -> None:
    """SIGKILL a sandbox's process group (its worker did setsid), or the process if it has
    none."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    except PermissionError:
        pass


def serve(sock_fd: int) -> None:
    """Start sandboxes on request until the host closes its end. A host that went away with
    replies unread (a collector stopping at once) resets the connection: that is the same
    end of service, not an error to print into the collector's output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's to handle
    # Everything imported so far is shared, read-only, by every sandbox forked from here:
    # keep the collector from ever walking it (a walk writes to every page it visits).
    gc.freeze()
    server = Server(socket.socket(fileno=sock_fd))
    try:
        server.serve()
    except ConnectionError:  # reset or broken pipe on the host's socket: the host is gone
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
