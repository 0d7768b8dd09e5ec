"""Start the sandbox worker inside fresh Linux namespaces (stdlib only, run as a script).

Why our own launcher instead of bubblewrap: it needs nothing but the kernel and Python, so a
``pip install`` is enough for a genuinely isolated sandbox. It builds, per worker:

* a user namespace (the host user, or ``nobody`` when the collector runs as root, becomes
  namespace-root just long enough to build the mounts) and then a nested one for the worker,
  so the teacher's code holds no capability over any mount, including its own;
* a network namespace with no interfaces up (no network at all), PID, IPC and UTS namespaces
  (its own ``/proc``: the collector's ``/proc/<pid>/environ`` does not exist in there);
* a new root on tmpfs holding read-only binds of the system and Python directories only (no
  home, no run output, no keys), a size-limited tmpfs ``/sandbox`` (the working directory) and ``/tmp``, a minimal ``/dev``;
* rlimits (address space, CPU time, file size, processes, open files, no core dumps) and
  ``no_new_privs``; the worker gets only the environment the host passes (scrubbed).

Process tree: launcher (host PID namespace, a child of the fork server) → init (PID 1,
reaps, dies with us) → worker. Exit code ``JAIL_UNAVAILABLE`` plus one line on stderr means
the kernel refused isolation; ``JAIL_BROKEN`` means building the sandbox failed.

Used by ``forkserver.py`` through :func:`launch`; stdlib only, like the worker.
"""

import ctypes
import os
import resource
import signal
import sys
from collections.abc import Callable

JAIL_UNAVAILABLE = 97

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# statvfs f_flag bits that are "locked" on mounts inherited from the host: a remount inside a
# user namespace must keep them or the kernel answers EPERM.
_LOCKED_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

PR_SET_PDEATHSIG = 1

PR_SET_NO_NEW_PRIVS = 38
SYS_MOUNT_SETATTR = 442  # same number on x86_64 and aarch64 (unified syscall table)
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4

NOBODY = 65534
WORKER_UID = 1000
JAIL_BROKEN = 98
DEV_NODES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.syscall.restype = ctypes.c_long


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


class JailError(Exception):
    pass


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise JailError(f"{what}: {os.strerror(err)}")


def _b(path: str) -> bytes:
    return os.fsencode(path)


def mount(src, dst, fstype, flags, data=None) -> None:
    _check(
        _libc.mount(
            _b(src) if src else None,
            _b(dst),
            _b(fstype) if fstype else None,
            flags,
            _b(data) if data else None,
        ),
        f"mount {src or fstype} on {dst}",
    )


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _make_readonly(target: str, source_flags: int) -> None:
    """Read-only (recursively where the kernel allows), keeping the source's locked flags."""
    attr = _MountAttr(attr_set=MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
    ret = _libc.syscall(
        SYS_MOUNT_SETATTR, -100, _b(target), AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)
    )
    if ret == 0:
        return
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID
    for st_bit, ms_bit in _LOCKED_FLAGS:
        if source_flags & st_bit:
            flags |= ms_bit
    mount(None, target, None, flags)


def _mkpath(root: str, path: str, is_dir: bool) -> str:
    target = root + path
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    return target


def _inspect_sources(binds: list) -> list[tuple[str, str, bool, int, str | None]]:
    """(source, target, is_dir, statvfs flags, symlink target or None) for each existing bind
    source. A bind is a path (shown at the same path) or ``[source, target]`` (the sandbox's
    Python environment, shown at one fixed place whatever the host calls it)."""
    out: list[tuple[str, str, bool, int, str | None]] = []
    for bind in binds:
        path, target = (bind, bind) if isinstance(bind, str) else (bind[0], bind[1])
        if os.path.islink(path):
            out.append((path, target, False, 0, os.readlink(path)))
        elif os.path.exists(path):
            out.append((path, target, os.path.isdir(path), os.statvfs(path).f_flag, None))
    return out


def _enter_userns(inside_uid: int, extra_flags: int) -> None:
    """Unprivileged entry: map only our own uid (the kernel allows nothing more)."""
    outside_uid, outside_gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER | extra_flags), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{inside_uid} {outside_uid} 1")
    _write("/proc/self/gid_map", f"{inside_uid} {outside_gid} 1")


def _enter_userns_as_root(extra_flags: int) -> None:
    """Root entry: a helper left outside maps namespace-root to root (to build the mounts) and
    the worker's uid to ``nobody``, so the teacher's code never owns a host file."""
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    parent = os.getpid()
    helper = os.fork()
    if helper == 0:
        os.close(go_w)
        os.close(done_r)
        ok = b"e"
        if os.read(go_r, 1) == b"u":
            try:
                for name in ("uid_map", "gid_map"):
                    _write(f"/proc/{parent}/{name}", f"0 0 1\n{WORKER_UID} {NOBODY} 1\n")
                ok = b"k"
            except OSError as exc:
                sys.stderr.write(f"cannot write the sandbox uid map: {exc}\n")
        os.write(done_w, ok)
        os._exit(0)
    os.close(go_r)
    os.close(done_w)
    try:
        _check(_libc.unshare(CLONE_NEWUSER | extra_flags), "unshare")
        os.write(go_w, b"u")
    finally:
        os.close(go_w)
        answer = os.read(done_r, 1)
        os.close(done_r)
        os.waitpid(helper, 0)
    if answer != b"k":
        raise JailError("the uid map helper failed")


def _build_root(cfg: dict, sources: list) -> None:
    """Assemble the new root on tmpfs and pivot into it (runs as PID 1 of the new namespace)."""
    root = cfg["root_dir"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    # The private /sandbox and /tmp first, so a bound directory that lives under /tmp (a
    # virtualenv in a CI runner's /tmp, say) is bound on top of the tmpfs, not hidden by it.
    for name, size in (("sandbox", cfg["work_mb"]), ("tmp", cfg["tmp_mb"])):
        target = _mkpath(root, "/" + name, True)
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}m,mode=1777")
    for path, where, is_dir, flags, link in sources:
        if link is not None:
            _mkpath(root, os.path.dirname(where), True)
            if not os.path.lexists(root + where):
                os.symlink(link, root + where)
            continue
        target = _mkpath(root, where, is_dir)
        mount(path, target, None, MS_BIND | MS_REC)
        _make_readonly(target, flags)
    dev = _mkpath(root, "/dev", True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for node in DEV_NODES:
        target = _mkpath(root, f"/dev/{node}", False)
        mount(f"/dev/{node}", target, None, MS_BIND)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"{dev}/{name}")
    os.symlink("/proc/self/fd", f"{dev}/fd")
    shm = _mkpath(root, "/dev/shm", True)
    mount("tmpfs", shm, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['tmp_mb']}m,mode=1777")
    mount("proc", _mkpath(root, "/proc", True), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(root + "/.oldroot")
    os.chdir(root)
    pivot_root = 155 if os.uname().machine == "x86_64" else 41
    _check(_libc.syscall(pivot_root, b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
    os.rmdir("/.oldroot")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _libc.sethostname(b"sandbox", 7)


def _become_worker(cfg: dict, privileged: bool) -> None:
    """In the worker: give up every capability, set rlimits, take the scrubbed environment.

    As root we switch to the uid mapped to ``nobody``; otherwise a nested user namespace
    leaves us no capability over the mount namespace (no remounting the binds read-write).
    """
    if privileged:
        os.setgroups([])
        os.setresgid(WORKER_UID, WORKER_UID, WORKER_UID)
        os.setresuid(WORKER_UID, WORKER_UID, WORKER_UID)
    else:
        _enter_userns(WORKER_UID, 0)
    for name, value in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.chdir("/sandbox")
    os.environ.clear()
    os.environ.update(cfg["env"])


def _init(child: int) -> int:
    """PID 1: reap everything; leave when the worker leaves (the kernel then kills the rest)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        if pid == child:
            return os.waitstatus_to_exitcode(status) & 0xFF


def launch(cfg: dict, run_worker: Callable[[], None]) -> None:
    """Build the namespaces for one worker and run it; never returns (exits with its status).

    Called in a fresh child of the fork server whose fds 0/1/2 are the worker's protocol and
    diagnostics pipes. Becomes the host-side process of the sandbox; its child is PID 1 (init)
    of the new namespaces and the grandchild runs ``run_worker`` as the unprivileged worker.
    """
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    sources = _inspect_sources(cfg["binds"])
    privileged = os.geteuid() == 0
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    try:
        if privileged:
            _enter_userns_as_root(flags)
        else:
            _enter_userns(0, flags)
    except (JailError, OSError) as exc:
        sys.stderr.write(f"cannot create the sandbox namespaces: {exc}\n")
        sys.stderr.flush()
        os._exit(JAIL_UNAVAILABLE)
    pid = os.fork()
    if pid:
        os.close(0)
        os.close(1)
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    # PID 1 of the new namespaces.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    try:
        _build_root(cfg, sources)
    except (JailError, OSError) as exc:
        sys.stderr.write(f"cannot build the sandbox file system: {exc}\n")
        sys.stderr.flush()
        os._exit(JAIL_BROKEN)
    child = os.fork()
    if child == 0:
        code = 0
        try:
            _become_worker(cfg, privileged)
            run_worker()
        except (JailError, OSError) as exc:
            sys.stderr.write(f"cannot start the sandbox worker: {exc}\n")
            sys.stderr.flush()
            code = JAIL_BROKEN
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        os._exit(code)
    os.close(0)
    os.close(1)
    os._exit(_init(child))
