"""Issue 21: the local sandbox runs a declared Python — trajkit's pinned stack by default,
``--sandbox-opt python=PATH`` otherwise — never implicitly the collector's own, and
``plt.show()`` says in the observation that a figure was made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import require_isolation

from trajkit.collect.sandbox import stack
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.local import LocalBackend, LocalSandbox
from trajkit.collect.sandbox.python_env import (
    ENV_MOUNT,
    ROOT_VAR,
    SandboxPython,
    forget,
    prepare,
    sandbox_python,
)
from trajkit.core.errors import SandboxUnavailableError

STACK_IMPORTS = (
    "import numpy, sympy, pandas, scipy, matplotlib, networkx, statsmodels\n"
    "import matplotlib.pyplot as plt, statsmodels.api as sm\n"
    "print({m.__name__: m.__version__ for m in (numpy, sympy, pandas, scipy, matplotlib, networkx, statsmodels)})"
)


@pytest.fixture(params=["isolated", "unisolated"])
def config(request: pytest.FixtureRequest) -> SandboxConfig:
    if request.param == "isolated":
        require_isolation()
    return SandboxConfig(isolation=request.param == "isolated")


async def test_the_default_stack_imports_at_its_pinned_versions(config: SandboxConfig) -> None:
    """A teacher's first turn (``import matplotlib.pyplot as plt``) used to fail: the sandbox
    saw whatever the collector happened to have installed, and matplotlib was not among it."""
    async with LocalSandbox(config) as box:
        result = await box.run(STACK_IMPORTS, timeout=60)
    assert result.error is None, result.output
    assert result.output.strip() == repr(stack.STACK)


async def test_the_jail_shows_the_environment_not_the_collectors_python() -> None:
    require_isolation()
    async with LocalSandbox() as box:
        result = await box.run(
            "import os, sys, subprocess, numpy\n"
            "print(sys.executable, sys.prefix, numpy.__file__)\n"
            f"print(os.path.exists({sys.prefix!r}))\n"
            "print(subprocess.run([sys.executable, '-c', 'import numpy; print(numpy.__version__)'],"
            " capture_output=True, text=True).stdout.strip())\n"
            "print(subprocess.run(['python', '-c', 'import sys; print(sys.prefix)'],"
            " capture_output=True, text=True).stdout.strip())",
            timeout=30,
        )
    assert result.error is None, result.output
    where, collector_visible, sub_numpy, sub_prefix = result.output.splitlines()
    assert where.split() == [
        f"{ENV_MOUNT}/bin/python", ENV_MOUNT, f"{ENV_MOUNT}/lib/python{sys.version_info[0]}."
        f"{sys.version_info[1]}/site-packages/numpy/__init__.py",
    ]
    assert collector_visible == "False"  # the collector's own venv is no longer bound in
    assert sub_numpy == stack.STACK["numpy"] and sub_prefix == ENV_MOUNT


async def test_plt_show_describes_each_figure_in_the_observation(config: SandboxConfig) -> None:
    async with LocalSandbox(config) as box:
        untouched = await box.run("import sys\n'matplotlib' in sys.modules", timeout=10)
        assert untouched.output == "False\n"  # the hook loads nothing until a cell imports it
        shown = await box.run(
            "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n"
            "fig, axes = plt.subplots(1, 2, figsize=(8, 3))\nplt.show()\nplt.show()",
            timeout=60,
        )
        assert shown.error is None, shown.output
        assert shown.output == "[figure: 1 axes, 640x480]\n[figure: 2 axes, 800x300]\n"
        kept = await box.run(
            "fig = plt.figure()\nfig.add_subplot()\nfig.show()\nlen(plt.get_fignums())", timeout=30
        )
        assert kept.output == "[figure: 1 axes, 640x480]\n1\n"  # fig.show(): described, kept
        backends = await box.run(
            "import subprocess, sys\nprint(plt.get_backend())\n"
            "print(subprocess.run([sys.executable, '-c', 'import matplotlib.pyplot as p; "
            "print(p.get_backend())'], capture_output=True, text=True).stdout.strip())",
            timeout=60,
        )
        # Subprocesses keep plain Agg (they cannot see the worker's in-memory backend).
        assert backends.output == "module://trajkit_figures\nAgg\n", backends.output


async def test_a_backend_the_teacher_chose_is_respected() -> None:
    async with LocalSandbox(SandboxConfig(isolation=False)) as box:
        result = await box.run(
            "import os\nos.environ['MPLBACKEND'] = 'svg'\nimport matplotlib\nmatplotlib.get_backend()",
            timeout=60,
        )
    assert result.output == "'svg'\n", result.output


async def test_another_interpreter_can_be_chosen(tmp_path: Path, config: SandboxConfig) -> None:
    """``--sandbox-opt python=VENV``: its packages, not the stack's, at the same place."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3.*")) / "site-packages"
    (site / "only_here.py").write_text("WHO = 'the chosen venv'\n")
    chosen = config.model_copy(update={"python": str(venv)})
    async with LocalSandbox(chosen) as box:
        result = await box.run(
            "import only_here, sys\nprint(only_here.WHO)\n"
            "try:\n    import numpy\nexcept ImportError as exc:\n    print(type(exc).__name__)",
            timeout=30,
        )
    assert result.output == "the chosen venv\nModuleNotFoundError\n", result.output
    environment = LocalBackend().describe(chosen)
    assert environment is not None and environment.stack is None
    assert set(environment.packages.values()) == {None}


def test_a_missing_interpreter_is_one_line_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailableError) as info:
        LocalBackend().make_factory(SandboxConfig(python=str(tmp_path / "nope" / "python")))
    message = str(info.value)
    assert "\n" not in message and "no such interpreter" in message
    assert "trajkit sandbox env" in message


async def test_an_unprepared_default_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOT_VAR, str(tmp_path / "envs"))
    forget()
    try:
        with pytest.raises(SandboxUnavailableError) as info:
            await LocalSandbox(SandboxConfig(isolation=False)).start()
    finally:
        monkeypatch.delenv(ROOT_VAR)
        forget()
    message = str(info.value)
    assert "\n" not in message and "not prepared" in message and "`trajkit sandbox env`" in message


def test_preparing_offline_is_one_line_naming_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No index reachable (as on an offline machine): one line, nothing half-made left."""
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv(ROOT_VAR, str(tmp_path / "envs"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))
    lines: list[str] = []
    try:
        with pytest.raises(SandboxUnavailableError) as info:
            prepare(log=lines.append)
    finally:
        forget()
    message = str(info.value)
    assert "\n" not in message and "cannot prepare the sandbox's Python environment" in message
    assert "numpy" in message and "`trajkit sandbox env`" in message
    assert lines and lines[0].startswith("preparing the sandbox's Python environment")
    assert [p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")] == []


def test_the_recorded_environment_names_no_path_and_is_stable() -> None:
    require_isolation()
    python = sandbox_python()
    first, second = python.describe(), python.describe()
    assert first == second and first.stack == stack.STACK_ID
    assert first.packages == stack.STACK
    assert first.python == ".".join(map(str, sys.version_info[:3]))
    text = first.model_dump_json()
    assert "/" not in text.replace("sha256:", "")  # versions and hashes only


def test_a_venv_is_mapped_into_the_jail_and_unbound_entries_are_dropped(tmp_path: Path) -> None:
    base = os.path.realpath(sys.base_prefix)
    venv = str(tmp_path / "env")
    info = {
        "python": "3.11.7", "version_info": [3, 11], "prefix": venv, "exec_prefix": venv,
        "base_prefix": base, "base_exec_prefix": base, "site_packages": [],
        "sys_path": [f"{base}/lib/python3.11", f"{venv}/lib/python3.11/site-packages",
                     "/home/someone/src/editable-project", "relative"],
    }
    (tmp_path / "env").mkdir()
    python = SandboxPython(f"{venv}/bin/python", info)
    assert [venv, ENV_MOUNT] in python.binds and venv not in python.binds
    assert python.jail_sys_path == [
        f"{base}/lib/python3.11", f"{ENV_MOUNT}/lib/python3.11/site-packages"
    ]
    assert python.jail_identity()["executable"] == f"{ENV_MOUNT}/bin/python"


def test_the_probe_reads_names_and_versions_as_the_metadata_api_does() -> None:
    """The probe reads ``Name``/``Version`` from the metadata headers itself (the e-mail
    parser was half its run time, paid before every collection's first sandbox); over every
    distribution installed here it must give exactly what ``importlib.metadata`` gives, or
    the recorded environment's identity would change with the trajkit version."""
    import importlib.util
    from importlib import metadata

    from trajkit.collect.sandbox.python_env import PROBE

    spec = importlib.util.spec_from_file_location("trajkit_probe_under_test", PROBE)
    assert spec is not None and spec.loader is not None
    probe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
    dists = list(metadata.distributions())
    assert len(dists) > 50
    for dist in dists:
        assert probe._name_and_version(dist) == (dist.metadata["Name"], dist.version)
