"""The sandbox stack's wheels for the image build, fetched by this machine's ``pip``.

The image build itself fetches nothing (``network_mode=none``): ``pip download`` on the host
(its index, proxy and certificates) gets manylinux wheels for the base's Python and platform
into the build context, with the ``pip`` wheel that installs them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from trajkit.collect.sandbox import stack
from trajkit.core.errors import SandboxUnavailableError


def platform_tags(libc_version: str, machine: str) -> list[str]:
    """The manylinux tags a system with glibc ``libc_version`` on ``machine`` accepts."""
    major, minor = (int(p) for p in libc_version.split(".")[:2])
    if major != 2:
        raise SandboxUnavailableError(f"unexpected glibc {libc_version}")
    tags = [f"manylinux_2_{m}_{machine}" for m in range(minor, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags += [f"{name}_{machine}" for m, name in legacy.items() if minor >= m]
    return tags


def download_wheels(ctx: Path, target: dict[str, Any]) -> None:
    """``ctx/wheels`` (the stack's wheels and ``requirements.txt``) and ``ctx/installer/pip.whl``,
    fetched by this machine's ``pip download`` (its index, proxy and certificates) for the
    base's Python and platform: the image build itself needs no network."""
    wheels, installer = ctx / "wheels", ctx / "installer"
    wheels.mkdir()
    installer.mkdir()
    requirements = wheels / "requirements.txt"
    requirements.write_text(stack.requirements_text())
    version = f"{target['version'][0]}.{target['version'][1]}"
    platforms = [
        arg for tag in platform_tags(target["libc"][1], target["machine"]) for arg in ("--platform", tag)
    ]
    common = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
              "-q", "--only-binary=:all:"]
    _pip([*common, "--python-version", version, "--implementation", "cp", *platforms,
          "-d", str(wheels), "-r", str(requirements)])
    _pip([*common, "--no-deps", "-d", str(installer), stack.INSTALLER])
    found = sorted(installer.glob("pip-*.whl"))
    if not found:
        raise SandboxUnavailableError(f"pip download left no {stack.INSTALLER} wheel")
    found[0].rename(installer / "pip.whl")


def _pip(cmd: list[str]) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:
        raise SandboxUnavailableError(f"cannot run pip ({exc})") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        detail = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "")
        raise SandboxUnavailableError(
            f"cannot download the sandbox stack's wheels ({' '.join(detail.split())[:300]}); "
            "the image build needs PyPI (or your pip index) reachable from this machine"
        )
