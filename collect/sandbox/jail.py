"""Start sandbox workers inside fresh Linux namespaces (stdlib only, loaded by the fork server).

Why our own launcher instead of bubblewrap: it needs nothing but the kernel and Python, so a
``pip install`` is enough for a genuinely isolated sandbox. Each sandbox gets:

* its own user namespace (the host user, or ``nobody`` when the collector runs as root,
  becomes namespace-root just long enough to build the mounts) and, for the worker, no
  capability over any mount, including its own (a nested user namespace, or as root a
  switch to the uid mapped to ``nobody``);
* a network namespace with no interfaces up (no network at all), PID, IPC and UTS namespaces
  (its own ``/proc``: the collector's ``/proc/<pid>/environ`` does not exist in there);
* a root holding read-only binds of the system and Python directories only (no home, no run
  output, no keys), a size-limited tmpfs ``/sandbox`` (the working directory), ``/tmp`` and
  ``/dev/shm`` of its own, a minimal ``/dev``;
* rlimits (address space, CPU time, file size, processes, open files, no core dumps) and
  ``no_new_privs``; the worker gets only the environment the host passes (scrubbed).

What it costs, and why it is built this way: forking a Python process is the expensive step
(page tables, then copy-on-write faults in both processes: about a millisecond of CPU on a
small VM), and building a root bind by bind is most of the rest. So:

* once per fork server (:func:`enter_private_mounts`): a mount namespace of the server's own
  (for a non-root user, or a container's root without ``CAP_SYS_ADMIN``, inside a user
  namespace where it is root), where :func:`build_template`
  assembles each distinct root once: a tmpfs with the mount points, the read-only binds and
  ``/dev``, then remounted read-only as a whole file system, so nothing in it can ever be
  written again, by anyone;
* per sandbox: one :func:`clone` (by its configuration's spawner, ``spawner.py``, as the
  server's child) straight into the six new namespaces, the child being PID 1
  of its PID namespace (no launcher process in between); the server writes its id maps; the
  child (:func:`run_sandbox`) binds the template (the kernel copies the tree), mounts fresh
  tmpfs on ``/sandbox``, ``/tmp`` and ``/dev/shm`` and a fresh ``/proc``, pivots into it and
  drops the old root, gives up namespace-root and runs the worker itself. One fork per
  sandbox (there were four: a launcher, a uid-map helper, init, worker; then two): the worker
  is PID 1 of its PID namespace, so it reaps what its code orphans (``reaper.py``), and when
  it exits the kernel kills the rest of the namespace. A separate init cost a second fork of
  this ~14 MB process, its copy-on-write faults and its teardown: a quarter of the CPU.

Mounts copied from the server's namespace into a sandbox's (a less privileged user namespace)
are locked by the kernel: not even the sandbox's namespace-root can unmount them, or make a
read-only one writable. Exit code ``JAIL_UNAVAILABLE`` plus one line on stderr means the
kernel refused isolation; ``JAIL_BROKEN`` means building the sandbox failed.
"""

import ctypes
import os
import resource
import signal
import sys
from collections.abc import Callable

JAIL_UNAVAILABLE = 97
JAIL_BROKEN = 98

CLONE_PARENT = 0x00008000
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: Every namespace a sandbox gets of its own.
SANDBOX_NAMESPACES = (
    CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
)

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
# Same numbers on x86_64 and aarch64 (unified syscall table) for mount_setattr; clone and
# pivot_root differ. Other architectures are refused as "isolation unavailable".
SYS_MOUNT_SETATTR = 442
_SYSCALLS = {"x86_64": (56, 155), "aarch64": (220, 41)}  # (clone, pivot_root)
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4

NOBODY = 65534
WORKER_UID = 1000
DEV_NODES = ("null", "zero", "full", "random", "urandom")
#: Whether the server runs as root: read at import, before the server enters a user
#: namespace of its own where every user is root.
PRIVILEGED = os.geteuid() == 0
#: A sandbox's uid/gid map, in the server's user namespace (``enter_private_mounts``).
_SANDBOX_IDS = f"0 0 1\n{WORKER_UID} {NOBODY} 1\n" if PRIVILEGED else "0 0 1\n"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.syscall.restype = ctypes.c_long
# clone is called through a handle that keeps the GIL held across the call, as os.fork does.
_libc_gil = ctypes.PyDLL(None, use_errno=True)
_libc_gil.syscall.restype = ctypes.c_long
for _name in ("PyOS_BeforeFork", "PyOS_AfterFork_Parent", "PyOS_AfterFork_Child"):
    getattr(ctypes.pythonapi, _name).restype = None
    getattr(ctypes.pythonapi, _name).argtypes = []


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


def _syscalls() -> tuple[int, int]:
    numbers = _SYSCALLS.get(os.uname().machine)
    if numbers is None:
        raise JailError(f"unsupported architecture {os.uname().machine}")
    return numbers


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


def _under_tmp(bind) -> bool:
    where = bind if isinstance(bind, str) else bind[1]
    return where.startswith("/tmp/")


def source_identity(binds: list) -> tuple:
    """What each bind source is right now (device and inode, or missing): a template built
    from other files (a directory replaced on the host) is out of date."""
    out: list[tuple[int, int] | None] = []
    for bind in binds:
        path = bind if isinstance(bind, str) else bind[0]
        try:
            st = os.lstat(path)
            out.append((st.st_dev, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


def _enter_userns(inside_uid: int, extra_flags: int) -> None:
    """Unprivileged entry: map only our own uid (the kernel allows nothing more)."""
    outside_uid, outside_gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(CLONE_NEWUSER | extra_flags), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{inside_uid} {outside_uid} 1")
    _write("/proc/self/gid_map", f"{inside_uid} {outside_gid} 1")


# -- once per fork server ------------------------------------------------------------------


def enter_private_mounts() -> None:
    """Give the fork server a mount namespace of its own, private both ways, where templates
    are built out of every host process's sight. Root without ``CAP_SYS_ADMIN`` (a
    container's) and other users first enter a user namespace where they are root: the only
    way they may mount anything."""
    global _SANDBOX_IDS
    if not PRIVILEGED:
        _enter_userns(0, CLONE_NEWNS)
    elif _libc.unshare(CLONE_NEWNS) != 0:
        _enter_userns_as_root(CLONE_NEWNS)
        _SANDBOX_IDS = f"0 0 1\n{WORKER_UID} {WORKER_UID} 1\n"  # 1000 is nobody already
    mount(None, "/", None, MS_REC | MS_PRIVATE)


def _enter_userns_as_root(extra_flags: int) -> None:
    """Root entry: a helper left outside maps root to root (to build the mounts) and the
    worker's uid to ``nobody``, so the teacher's code never owns a host file."""
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


def private_base(path: str) -> None:
    """A server-private tmpfs over the host's empty jail directory: templates are made in
    there, never on the host's disk."""
    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")


def build_template(root: str, binds: list) -> None:
    """Assemble a sandbox root at ``root`` (an empty directory in the server's namespace):
    mount points for the per-sandbox file systems, the read-only binds, ``/dev``. Then the
    template's own file systems are remounted read-only, superblock and all: every sandbox
    shares them, so none may be able to write a byte another would see."""
    os.mkdir(root)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    # The private /sandbox and /tmp are only mount points here: each sandbox mounts its own.
    # A bind under /tmp (a virtualenv in a CI runner's /tmp, say) would be hidden by that
    # private /tmp, so it is left out here and bound per sandbox, on top (``_enter_root``).
    for name in ("sandbox", "tmp", "proc"):
        _mkpath(root, "/" + name, True)
    _bind_all(root, [b for b in binds if not _under_tmp(b)])
    dev = _mkpath(root, "/dev", True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for node in DEV_NODES:
        target = _mkpath(root, f"/dev/{node}", False)
        mount(f"/dev/{node}", target, None, MS_BIND)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"{dev}/{name}")
    os.symlink("/proc/self/fd", f"{dev}/fd")
    _mkpath(root, "/dev/shm", True)
    mount(None, dev, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def drop_template(root: str) -> None:
    """Detach an out-of-date template; sandboxes already made from it keep their copies."""
    _libc.umount2(_b(root), MNT_DETACH)


# -- per sandbox ---------------------------------------------------------------------------


def clone() -> int:
    """``os.fork()`` straight into the sandbox's new namespaces: 0 in the child, which is PID
    1 of its PID namespace, else the child's pid. Python's own fork bookkeeping (import lock,
    thread state, ``os.register_at_fork`` hooks) runs around the raw syscall as it does
    around ``fork()``; the caller is single-threaded, as a forking process must be.
    The child's parent is the caller's parent (``CLONE_PARENT``): a spawner clones sandboxes
    for the fork server, which reaps them (``spawner.py``)."""
    number, _ = _syscalls()
    flags = SANDBOX_NAMESPACES | CLONE_PARENT
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    zero = ctypes.c_long(0)
    pid = _libc_gil.syscall(ctypes.c_long(number), ctypes.c_ulong(flags), zero, zero, zero, zero)
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, os.strerror(err))
    return int(pid)


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (the sandbox's PID 1: with the fork
    server; from the parent's namespace, so the kernel delivers it to a namespace's init)."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def write_id_maps(pid: int) -> None:
    """From the server, the sandbox's uid/gid maps: namespace-root is the server's own user
    (root, or as non-root the server's namespace-root, itself the host user); as root, the
    worker's uid is ``nobody``, so the teacher's code never owns a host file."""
    data = _SANDBOX_IDS.encode()
    for name in ("uid_map", "gid_map"):  # raw writes: a text file object costs more than this
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _enter_root(template: str, cfg: dict) -> None:
    """As namespace-root: the template's tree under fresh per-sandbox file systems, then
    pivot into it."""
    _, pivot_root = _syscalls()
    # A bind of a locked tree is an unlocked mount on top: pivot_root refuses locked ones.
    mount(template, template, None, MS_BIND | MS_REC)
    for name, size, files in (("sandbox", cfg["work_mb"], cfg["work_files"]),
                              ("tmp", cfg["tmp_mb"], cfg["tmp_files"]),
                              ("dev/shm", cfg["tmp_mb"], cfg["tmp_files"])):
        # nr_inodes: files cost kernel memory that size= does not count (config.FILES_PER_MB)
        mount("tmpfs", f"{template}/{name}", "tmpfs", MS_NOSUID | MS_NODEV,
              f"size={size}m,nr_inodes={files},mode=1777")
    _bind_all(template, [b for b in cfg["binds"] if _under_tmp(b)])
    # Mounted while the host's /proc is still visible: the kernel allows a new proc inside a
    # user namespace only where a full one is already in sight.
    mount("proc", template + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(template)
    _check(_libc.syscall(pivot_root, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount old root")  # the old root was stacked on "."
    os.chdir("/")
    _libc.sethostname(b"sandbox", 7)


def _bind_all(root: str, binds: list) -> None:
    """Bind each existing source read-only at its place under ``root`` (symlinks copied)."""
    for path, where, is_dir, flags, link in _inspect_sources(binds):
        if link is not None:
            _mkpath(root, os.path.dirname(where), True)
            if not os.path.lexists(root + where):
                os.symlink(link, root + where)
            continue
        target = _mkpath(root, where, is_dir)
        mount(path, target, None, MS_BIND | MS_REC)
        _make_readonly(target, flags)


def _become_worker(cfg: dict) -> None:
    """In the worker: give up every capability, set rlimits (its spawner set the scrubbed
    environment already, once for every sandbox it makes).

    As root we switch to the uid mapped to ``nobody``; otherwise a nested user namespace
    leaves us no capability over the mount namespace (no remounting the binds read-write).
    """
    if PRIVILEGED:
        os.setgroups([])
        os.setresgid(WORKER_UID, WORKER_UID, WORKER_UID)
        os.setresuid(WORKER_UID, WORKER_UID, WORKER_UID)
    else:
        _enter_userns(WORKER_UID, 0)
    for name, value in cfg["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    die_with_parent()
    os.chdir("/sandbox")


def run_sandbox(template: str, cfg: dict, run_worker: Callable[[], None]) -> None:
    """In the clone child, once its id maps are written: build the file system, give up
    namespace-root, then run the worker in this same process, PID 1 of the sandbox (it reaps
    what its code orphans: ``reaper.py``). Never returns (exits with the worker's status;
    the kernel then kills whatever else is left in the namespace).

    fds 0/1/2 are the worker's protocol and diagnostics pipes, and the only ones open.
    """
    try:
        _enter_root(template, cfg)
    except (JailError, OSError) as exc:
        sys.stderr.write(f"cannot build the sandbox file system: {exc}\n")
        sys.stderr.flush()
        os._exit(JAIL_BROKEN)
    code = 0
    try:
        _become_worker(cfg)
        run_worker()
    except (JailError, OSError) as exc:
        sys.stderr.write(f"cannot start the sandbox worker: {exc}\n")
        sys.stderr.flush()
        code = JAIL_BROKEN
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    os._exit(code)
