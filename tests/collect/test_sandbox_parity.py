"""Issue 21 parity: the same teacher cells give the same observations on the local and the
docker sandbox, for the whole default stack (both run the pinned stack of ``stack.py`` from a
venv at ``/opt/trajkit/env``, so even library tracebacks name the same files).

The cells are what real CodeAct teachers write first: the imports, values of numpy, sympy and
pandas printed and echoed, scipy, networkx and statsmodels results, a figure, exceptions
raised in the cell and inside a library."""

from __future__ import annotations

import pytest
from support import require_docker, require_isolation

from trajkit.collect.sandbox import stack
from trajkit.collect.sandbox.config import SandboxConfig
from trajkit.collect.sandbox.docker_sandbox import DockerBackend, DockerSandbox
from trajkit.collect.sandbox.local import LocalBackend, LocalSandbox
from trajkit.core.errors import ConfigError
from trajkit.core.sandbox import CellResult

CELLS = [
    "import numpy as np\nimport pandas as pd\nimport sympy as sp\nimport scipy\n"
    "import matplotlib.pyplot as plt\nimport networkx as nx\nimport statsmodels.api as sm\nprint('ready')",
    "np.float64(6.67)",
    "x = np.array([1.5, 2.25, 3.0])\nprint(x.mean(), x)\nx.std()",
    "np.linspace(0, 1, 5).reshape(1, 5)",
    "t = sp.symbols('t')\nprint(sp.solve(t**2 - 2, t))\nsp.integrate(sp.sin(t) ** 2, t)",
    "sp.Rational(7, 10) + sp.sqrt(8)",
    "df = pd.DataFrame({'a': [1, 2, 3], 'b': [0.5, 1.5, 2.5]})\nprint(df)\ndf.describe()",
    "df.groupby(df.a % 2).b.sum()",
    "from scipy import optimize, stats\nres = optimize.minimize_scalar(lambda v: (v - 2) ** 2)\n"
    "print(round(float(res.x), 6))\nstats.norm.cdf(1.0)",
    "G = nx.path_graph(4)\nnx.shortest_path(G, 0, 3)",
    "X = sm.add_constant(np.arange(10.0))\nsm.OLS(2 * np.arange(10.0) + 1, X).fit().params.round(6)",
    "fig, ax = plt.subplots()\nax.plot([1, 2, 3])\nax.set_title('line')\nplt.show()",
    "df['missing']",
    "np.linalg.inv(np.zeros((2, 2)))",
    "1 / 0",
    "undefined_name + 1",
]


async def _observations(box: LocalSandbox | DockerSandbox) -> list[CellResult]:
    async with box:
        return [await box.run(cell, timeout=60) for cell in CELLS]


async def test_the_same_cells_print_the_same_on_local_and_docker() -> None:
    require_isolation()
    require_docker()
    config = SandboxConfig(label="parity-tests")
    local = await _observations(LocalSandbox(config))
    docker = await _observations(DockerSandbox(config))
    for cell, a, b in zip(CELLS, local, docker, strict=True):
        assert a.output == b.output, f"cell {cell!r}:\nlocal:\n{a.output}\ndocker:\n{b.output}"
        assert (a.error and (a.error.kind, a.error.type)) == (b.error and (b.error.kind, b.error.type))
    assert local[0].output == "ready\n"
    assert local[11].output == "[figure: 1 axes, 640x480]\n"
    assert "/opt/trajkit/env/lib/" in local[12].output  # a library frame, the same file on both
    assert [r.error.type for r in local[12:] if r.error] == [
        "KeyError", "LinAlgError", "ZeroDivisionError", "NameError"
    ]


def test_both_backends_record_the_same_stack() -> None:
    require_isolation()
    require_docker()
    config = SandboxConfig()
    local = LocalBackend().describe(config)
    docker = DockerBackend().describe(config)
    assert local is not None and docker is not None
    assert local.packages == docker.packages == stack.STACK
    assert local.stack == docker.stack == stack.STACK_ID
    assert docker.image_id and docker.image_id.startswith("sha256:") and local.image_id is None
    # Same minor version (the image is built for the collector's Python); the patch may differ.
    assert local.python.split(".")[:2] == docker.python.split(".")[:2]


def test_python_option_is_local_only() -> None:
    """The docker sandbox runs its image's environment: ``python=`` there is a mistake."""
    with pytest.raises(ConfigError, match="the docker sandbox runs its image's environment"):
        DockerBackend().make_factory(SandboxConfig(python="/usr/bin/python3"))
