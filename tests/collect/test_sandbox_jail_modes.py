"""The jail where the collector's privileges differ: root without ``CAP_SYS_ADMIN`` (a
container's root) still gets a sandbox, and where the kernel refuses namespaces the reason
reaches the one-line error (real subprocesses, real kernel refusals)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from support import require, require_isolation

PROBE = (
    "import asyncio, os\n"
    "from trajkit.collect.sandbox.local import LocalSandbox\n"
    "async def main():\n"
    "    try:\n"
    "        async with LocalSandbox() as box:\n"
    "            r = await box.run('import os\\nprint(os.getuid(), len(os.listdir(\"/proc\")))', timeout=10)\n"
    "            pid = box._proc.pid\n"
    "            worker = pid  # the worker is the sandbox's PID 1\n"
    "            uid = open(f'/proc/{worker}/status').read().split('Uid:')[1].split()[0]\n"
    "            print('OK', r.output.strip(), 'host uid', uid)\n"
    "    except Exception as exc:\n"
    "        print('FAILED', exc)\n"
    "asyncio.run(main())\n"
)


def run(*prefix: str) -> str:
    proc = subprocess.run([*prefix, sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_root_without_cap_sys_admin_still_gets_a_sandbox_with_the_worker_as_nobody() -> None:
    """The fork server cannot make its private mount namespace directly, so it first enters a
    user namespace of its own, mapped from outside: the worker is still ``nobody``."""
    require_isolation()
    require(os.geteuid() == 0, "needs root (the case is root lacking CAP_SYS_ADMIN)")
    require(shutil.which("setpriv") is not None, "util-linux `setpriv` not installed")
    out = run("setpriv", "--bounding-set", "-sys_admin")
    assert out.startswith("OK 1000 "), out
    assert out.endswith("host uid 65534"), out


def test_a_refused_namespace_is_a_one_line_reason() -> None:
    require_isolation()
    require(shutil.which("unshare") is not None, "util-linux `unshare` not installed")
    proc = subprocess.run(
        ["unshare", "--user", "--map-root-user", "sh", "-c",
         'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "sh",
         sys.executable, "-c", PROBE],
        capture_output=True, text=True, timeout=120,
    )
    out = proc.stdout.strip()
    assert out.startswith("FAILED the local sandbox cannot be isolated here"), (out, proc.stderr)
    assert "cannot create the sandbox namespaces" in out, out  # the kernel's reason, not EOF
