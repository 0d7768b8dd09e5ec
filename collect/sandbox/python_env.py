"""The Python the local sandbox runs on: declared, never implicitly the collector's own.

What teacher code can import, and which library versions print what, is part of the data, so
the local sandbox runs an interpreter chosen for it: ``--sandbox-opt python=PATH`` (a venv
directory or an interpreter), or by default a venv trajkit prepares with the pinned stack of
``stack.py`` (``trajkit sandbox env``; ``collect`` prepares it on first use, ``make`` before
the demo and the tests). The same list goes into the docker image, at the same place.

Where the default lives: under the collector's own installation
(``<sys.prefix>/share/trajkit/sandbox-envs/py3.X-<hash of the pins and the interpreter>``)
when that is writable, else the user's cache (``$XDG_CACHE_HOME/trajkit/sandbox-envs``);
``TRAJKIT_SANDBOX_ENVS`` overrides both. Why not only a shared cache: the environment belongs
to the installation that pinned it (a new trajkit may pin other versions), so removing a venv
removes its sandbox environment with it instead of leaving ~600 MB per pin set behind
forever; and tests or tools that point ``HOME``/``XDG_CACHE_HOME`` elsewhere still find it.

Inside the jail a venv is bound read-only at ``ENV_MOUNT`` (``/opt/trajkit/env``), where the
docker image has its own: the same cell then names the same library files on both backends
(a pandas traceback reads ``/opt/trajkit/env/lib/python3.11/site-packages/pandas/...``
locally and in a container) and never the collecting machine's home or cache directories.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trajkit.collect.sandbox import stack
from trajkit.core.errors import SandboxUnavailableError
from trajkit.schemas.manifests import SandboxEnvironment

PROBE = Path(__file__).resolve().parent / "probe.py"
#: Where the sandbox sees its venv, in the local jail and in the docker image alike.
ENV_MOUNT = "/opt/trajkit/env"
ENV_PYTHON = f"{ENV_MOUNT}/bin/python"
#: Written last into a prepared environment: its presence means the environment is complete.
MARKER = "trajkit-env.json"
ROOT_VAR = "TRAJKIT_SANDBOX_ENVS"
PREPARE_HINT = "run `trajkit sandbox env` (once, needs PyPI), or choose one with --sandbox-opt python=PATH"

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class SandboxPython:
    """A sandbox interpreter, probed: what to run on the host and what the jail must show.

    ``info`` is ``probe.py``'s description; ``prepared`` says trajkit built it from the
    pinned stack (the default environment), so it is recorded as that stack.
    """

    executable: str
    info: dict[str, Any]
    prepared: bool = False
    # (binds and jail_sys_path are computed once: a sandbox start must not stat paths)

    @property
    def version(self) -> tuple[int, int]:
        major, minor = self.info["version_info"][:2]
        return int(major), int(minor)

    @property
    def is_venv(self) -> bool:
        return bool(self.info["prefix"] != self.info["base_prefix"])

    def _prefixes(self) -> list[str]:
        """The venv's own directory as the probe named it and resolved (matched on sys.path)."""
        prefix = self.info["prefix"]
        return list(dict.fromkeys([prefix, os.path.realpath(prefix)]))

    @functools.cached_property
    def binds(self) -> list[str | list[str]]:
        """What the jail binds read-only: the base interpreter's directories at their own
        paths, and a venv at ``ENV_MOUNT`` (``[source, target]``)."""
        info = self.info
        roots = [info["base_prefix"], info["base_exec_prefix"]]
        # Where the interpreter binary really is (a venv's bin/python links to its base).
        roots.append(os.path.dirname(os.path.dirname(os.path.realpath(self.executable))))
        binds: list[str | list[str]] = []
        inside: list[str] = []
        if self.is_venv:
            binds.append([os.path.realpath(info["prefix"]), ENV_MOUNT])
            inside = self._prefixes()  # shown at ENV_MOUNT only, never at its host path
        else:
            roots += [info["prefix"], info["exec_prefix"], *info.get("site_packages", [])]
        seen: set[str] = set()
        for root in roots:
            for variant in (root, os.path.realpath(root)):
                if not variant or variant in seen or not os.path.exists(variant):
                    continue
                if any(variant == p or variant.startswith(p.rstrip("/") + "/") for p in inside):
                    continue
                seen.add(variant)
                binds.append(variant)
        return binds

    @functools.cached_property
    def jail_sys_path(self) -> list[str]:
        """The interpreter's import path as the worker sees it in the jail: a venv's entries
        moved to ``ENV_MOUNT``, others kept where a bind shows them, the rest dropped (the
        fork server runs without ``site``, so the host computes what ``site`` would add)."""
        prefixes = self._prefixes() if self.is_venv else []
        roots = [b for b in self.binds if isinstance(b, str)]
        out: list[str] = []
        for entry in self.info["sys_path"]:
            if not os.path.isabs(entry):
                continue
            moved = None
            for prefix in prefixes:
                if entry == prefix or entry.startswith(prefix.rstrip("/") + "/"):
                    moved = ENV_MOUNT + entry[len(prefix.rstrip("/")):]
                    break
            if moved is None and any(
                entry == root or entry.startswith(root.rstrip("/") + "/") for root in roots
            ):
                moved = entry
            if moved is not None and moved not in out:
                out.append(moved)
        return out

    def jail_identity(self) -> dict[str, str]:
        """``sys.executable``/``sys.prefix`` as they are inside the jail (the worker is forked
        from a fork server started from the host path)."""
        if not self.is_venv:
            return {}
        return {"executable": ENV_PYTHON, "prefix": ENV_MOUNT, "exec_prefix": ENV_MOUNT}

    def bin_dir(self, isolated: bool) -> str:
        """The interpreter's ``bin`` directory on the worker's ``PATH``."""
        if isolated and self.is_venv:
            return f"{ENV_MOUNT}/bin"
        return os.path.dirname(self.executable)

    def describe(self, backend: str = "local") -> SandboxEnvironment:
        """The environment as it is now, read by the interpreter itself (a fresh probe: this
        runs once per run, and a package installed since the process started counts)."""
        return environment_from_probe(
            probe(self.executable), backend=backend,
            stack_id=stack.STACK_ID if self.prepared else None,
        )


def environment_from_probe(
    info: dict[str, Any], *, backend: str, stack_id: str | None, image_id: str | None = None
) -> SandboxEnvironment:
    """The record of a probed environment (``run.json``, manifests): no host paths in it."""
    return SandboxEnvironment(
        backend=backend,
        python=str(info["python"]),
        implementation=str(info.get("implementation", "")),
        machine=str(info.get("machine", "")),
        packages={name: info["packages"].get(name) for name in stack.STACK},
        content_sha256=str(info["content_sha256"]),
        stack=stack_id,
        image_id=image_id,
    )


def probe(executable: str, timeout: float = 60.0) -> dict[str, Any]:
    """Run ``probe.py`` with ``executable`` (on the host); one-line errors."""
    try:
        proc = subprocess.run(
            [executable, "-I", str(PROBE), json.dumps(list(stack.STACK))],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailableError(f"sandbox python {executable}: cannot run it ({exc})") from None
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        detail = lines[-1] if lines else f"exit {proc.returncode}"
        raise SandboxUnavailableError(f"sandbox python {executable}: {detail}")
    try:
        info: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise SandboxUnavailableError(
            f"sandbox python {executable}: its self-description is not JSON"
        ) from None
    return info


# -- where environments live ------------------------------------------------------------------


def env_roots() -> list[Path]:
    """Directories holding prepared environments, searched in order (see the module doc)."""
    override = os.environ.get(ROOT_VAR)
    if override:
        return [Path(override).expanduser()]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [
        Path(sys.prefix) / "share" / "trajkit" / "sandbox-envs",
        Path(cache) / "trajkit" / "sandbox-envs",
    ]


def _writable_root() -> Path:
    for root in env_roots():
        probe_dir = root
        while not probe_dir.exists() and probe_dir.parent != probe_dir:
            probe_dir = probe_dir.parent
        if os.access(probe_dir, os.W_OK):
            return root
    raise SandboxUnavailableError(
        f"nowhere to prepare the sandbox's Python environment ({', '.join(map(str, env_roots()))} "
        f"not writable); set {ROOT_VAR}=DIR or pass --sandbox-opt python=PATH"
    )


def _base_interpreter(base: str | None) -> str:
    """The interpreter a default environment is made from: ``base`` or the collector's."""
    if base is None:
        return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    found = shutil.which(base) if os.sep not in base else os.path.expanduser(base)
    if not found or not os.path.exists(found):
        raise SandboxUnavailableError(f"--python {base}: no such interpreter")
    return os.path.realpath(found)


def env_name(base: str) -> str:
    """``py3.11-<12 hex>``: the pins and the exact interpreter they were installed for."""
    import hashlib

    version = _interpreter_version(base)
    key = hashlib.sha256(
        f"{stack.requirements_text()}\n{version}\n{base}".encode()
    ).hexdigest()[:12]
    short = ".".join(version.split(".")[:2])
    return f"py{short}-{key}"


_VERSIONS: dict[str, str] = {}


def _interpreter_version(base: str) -> str:
    """``3.11.7`` of an interpreter (the collector's without running it)."""
    if base == os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable):
        return ".".join(map(str, sys.version_info[:3]))
    if base not in _VERSIONS:
        try:
            out = subprocess.run(
                [base, "-I", "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
                capture_output=True, text=True, timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailableError(f"--python {base}: cannot run it ({exc})") from None
        if out.returncode != 0 or not out.stdout.strip():
            raise SandboxUnavailableError(f"--python {base}: not a working Python interpreter")
        _VERSIONS[base] = out.stdout.strip()
    return _VERSIONS[base]


def find_prepared(base: str | None = None) -> Path | None:
    """The prepared default environment for ``base`` (the collector's Python), if any."""
    name = env_name(_base_interpreter(base))
    for root in env_roots():
        if (root / name / MARKER).is_file():
            return root / name
    return None


def default_location(base: str | None = None) -> Path:
    """Where the default environment for ``base`` is, or would be prepared."""
    return find_prepared(base) or _writable_root() / env_name(_base_interpreter(base))


# -- preparing --------------------------------------------------------------------------------

_PREPARE_LOCK = threading.Lock()


def prepare(base: str | None = None, *, force: bool = False, log: Log = _stderr) -> Path:
    """Make (or find) the default environment for ``base``; returns its directory.

    ``python -m venv`` with the interpreter, ``pip install`` of ``stack.LOCK`` (wheels only:
    nothing compiles), then pip and setuptools removed (the image's environment has neither;
    the sandbox has no network to use them). Built in place under an exclusive lock shared
    by every process on the machine (concurrent collectors, Ray workers), and marked complete
    last: an interrupted preparation is started over, never used.
    """
    interpreter = _base_interpreter(base)
    version = _interpreter_version(interpreter)
    major_minor = tuple(int(p) for p in version.split(".")[:2])
    if not stack.python_supported((major_minor[0], major_minor[1])):
        raise SandboxUnavailableError(
            f"the sandbox stack has wheels for Python {stack.supported_text()}, not {version} "
            f"({interpreter}); prepare it on another: `trajkit sandbox env --python python3.12`"
        )
    name = env_name(interpreter)
    if not force:
        found = find_prepared(base)
        if found is not None:
            return found
    root = _writable_root()
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    with _PREPARE_LOCK, open(root / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / MARKER).is_file() and not force:
            return target  # another process finished it while we waited
        shutil.rmtree(target, ignore_errors=True)
        log(
            f"preparing the sandbox's Python environment (Python {version}: {stack.stack_text()}) "
            f"in {target}: once, about half a minute ..."
        )
        requirements = root / f".requirements-{stack.STACK_ID}.txt"
        requirements.write_text(stack.requirements_text())
        python = str(target / "bin" / "python")
        steps = [
            [interpreter, "-m", "venv", str(target)],
            [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
             "--only-binary=:all:", "-q", "-r", str(requirements)],
            [python, "-m", "pip", "uninstall", "--disable-pip-version-check", "-y", "-q",
             "pip", "setuptools"],
        ]
        for cmd in steps:
            _run_step(cmd, target)
        info = probe(python)
        missing = [n for n, v in info["packages"].items() if v != stack.STACK.get(n)]
        if missing:
            shutil.rmtree(target, ignore_errors=True)
            raise SandboxUnavailableError(
                f"the prepared sandbox environment lacks {', '.join(missing)}; {PREPARE_HINT}"
            )
        (target / MARKER).write_text(
            json.dumps({"stack": stack.STACK_ID, "interpreter": interpreter, "probe": info}) + "\n"
        )
        log(f"sandbox environment ready: {target}")
    return target


def _run_step(cmd: list[str], target: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise SandboxUnavailableError(
            f"cannot prepare the sandbox's Python environment ({exc}); {PREPARE_HINT}"
        ) from None
    if proc.returncode != 0:
        shutil.rmtree(target, ignore_errors=True)
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        detail = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
        raise SandboxUnavailableError(
            f"cannot prepare the sandbox's Python environment ({' '.join(detail.split())[:300]}); "
            f"{PREPARE_HINT}"
        )


# -- resolving what a sandbox runs ------------------------------------------------------------

_RESOLVED: dict[tuple[str, str], SandboxPython] = {}
_RESOLVE_LOCK = threading.Lock()


def sandbox_python(python: str | None = None, *, prepare_default: bool = False,
                   log: Log = _stderr) -> SandboxPython:
    """The interpreter a local sandbox with ``--sandbox-opt python=python`` runs (None: the
    prepared default), probed once per process and cached: a sandbox start looks it up.

    A missing default is prepared when ``prepare_default`` (``collect``'s first use), else
    it is one line naming the command that prepares it; a missing ``python=PATH`` is one
    line too.
    """
    key = (python or "", os.environ.get(ROOT_VAR, ""))
    cached = _RESOLVED.get(key)
    if cached is not None:
        return cached
    with _RESOLVE_LOCK:
        cached = _RESOLVED.get(key)
        if cached is not None:
            return cached
        resolved = _resolve(python, prepare_default, log)
        _RESOLVED[key] = resolved
        return resolved


def cached_python(python: str | None) -> SandboxPython | None:
    """The resolution :func:`sandbox_python` cached for ``python``, if any (no I/O)."""
    return _RESOLVED.get((python or "", os.environ.get(ROOT_VAR, "")))


def forget() -> None:
    """Drop cached resolutions (tests; after ``trajkit sandbox env --force``)."""
    with _RESOLVE_LOCK:
        _RESOLVED.clear()


def _resolve(python: str | None, prepare_default: bool, log: Log) -> SandboxPython:
    if python is None:
        directory = find_prepared()
        if directory is None:
            if not prepare_default:
                raise SandboxUnavailableError(
                    "the sandbox's Python environment is not prepared "
                    f"({default_location()}); {PREPARE_HINT}"
                )
            directory = prepare(log=log)
        executable = str(directory / "bin" / "python")
        if not os.path.exists(executable):
            raise SandboxUnavailableError(
                f"the sandbox's Python environment {directory} is broken (no bin/python); "
                "run `trajkit sandbox env --force`"
            )
        return _checked(SandboxPython(executable, probe(executable), prepared=True))
    given = Path(python).expanduser()
    if given.is_dir():
        candidate = given / "bin" / "python"
        if not candidate.exists():
            raise SandboxUnavailableError(
                f"--sandbox-opt python={python}: a directory without bin/python (give a venv "
                "or an interpreter); `trajkit sandbox env` prepares the default one"
            )
        given = candidate
    elif not given.exists():
        found = shutil.which(python) if os.sep not in python else None
        if found is None:
            raise SandboxUnavailableError(
                f"--sandbox-opt python={python}: no such interpreter or venv; "
                "`trajkit sandbox env` prepares the default one"
            )
        given = Path(found)
    executable = os.path.abspath(given)
    return _checked(SandboxPython(executable, probe(executable), prepared=_is_prepared(given)))


def _is_prepared(executable: Path) -> bool:
    """Whether ``executable`` is a venv trajkit prepared from the current pins (``trajkit
    sandbox env --python X`` makes one to pass as ``python=``): recorded as the stack then."""
    marker = executable.parent.parent / MARKER
    try:
        return bool(json.loads(marker.read_text()).get("stack") == stack.STACK_ID)
    except (OSError, ValueError, AttributeError):
        return False


def _checked(python: SandboxPython) -> SandboxPython:
    """The worker, jail and fork server need 3.10 (``X | None`` in signatures, send_fds)."""
    if python.version < (3, 10):
        raise SandboxUnavailableError(
            f"sandbox python {python.executable} is Python {python.info['python']}; the sandbox "
            "worker needs 3.10 or newer"
        )
    return python
