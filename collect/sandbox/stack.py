"""The sandbox's default package stack, pinned here and nowhere else.

Teachers write code for a data-science notebook: real CodeAct trajectories open with
``import matplotlib.pyplot as plt`` and reach for pandas, scipy, networkx and statsmodels. What
the sandbox can import, and which versions print what (numpy 2 prints ``np.float64(6.67)``
where numpy 1 printed ``6.67``), is part of the data, so it is declared: this list builds the
local sandbox's default environment (``trajkit sandbox env``: a venv under the collector's
installation) and the docker image (``trajkit sandbox build``), so both backends import the
same packages at the same versions.

``STACK`` is what a teacher imports (recorded with its versions in ``run.json`` and every
dataset manifest); ``LOCK`` is the complete, closed set installed, dependencies included, so
two environments built from it hold the same code. Every version has wheels for CPython
3.10-3.13 on manylinux x86_64 and aarch64 (numpy 2.2 is the last line supporting 3.10, and it
has no 3.14 wheels: a newer interpreter is refused with a hint to choose one). Changing a pin
changes ``STACK_ID``, so the next ``collect``/``make`` prepares a fresh environment and the
next ``trajkit sandbox build`` a fresh image.
"""

from __future__ import annotations

import hashlib

#: What teachers import, in the order they are documented: name → version.
STACK: dict[str, str] = {
    "numpy": "2.2.6",
    "sympy": "1.14.0",
    "pandas": "2.3.3",
    "scipy": "1.15.3",
    "matplotlib": "3.10.8",
    "networkx": "3.4.2",
    "statsmodels": "0.14.6",
}

#: Their dependencies, pinned to versions with wheels for every supported Python.
DEPENDENCIES: dict[str, str] = {
    "contourpy": "1.3.2",
    "cycler": "0.12.1",
    "fonttools": "4.65.0",
    "kiwisolver": "1.5.1",
    "mpmath": "1.3.0",
    "packaging": "26.4",
    "patsy": "1.0.3",
    "pillow": "12.3.0",
    "pyparsing": "3.3.3",
    "python-dateutil": "3.0.0",
    "pytz": "2026.6",
    "six": "1.17.0",
    "tzdata": "2026.6",
}

#: The installer used to put ``LOCK`` into the docker image's environment (the local one uses
#: the pip its ``python -m venv`` brought). Not part of the recorded environment.
INSTALLER = "pip==25.1.1"

#: Interpreter versions the lock has wheels for (major, minor), inclusive.
PYTHON_MIN = (3, 10)
PYTHON_MAX = (3, 13)

#: Distributions that install things rather than being imported by teachers: left out of an
#: environment's content hash, so the pip a venv happened to bring does not make two
#: otherwise identical environments differ.
TOOLING = frozenset({"pip", "setuptools", "wheel"})


def lock_lines() -> list[str]:
    """The requirements file both environments are installed from (``name==version``)."""
    return [f"{name}=={version}" for name, version in {**STACK, **DEPENDENCIES}.items()]


def requirements_text() -> str:
    return "".join(f"{line}\n" for line in lock_lines())


def stack_id() -> str:
    """12 hex digits naming this pin set; part of every prepared environment's name."""
    return hashlib.sha256(requirements_text().encode()).hexdigest()[:12]


STACK_ID = stack_id()


def stack_text() -> str:
    """``numpy 2.2.6, sympy 1.14.0, ...``: the stack as the CLI and errors name it."""
    return ", ".join(f"{name} {version}" for name, version in STACK.items())


def python_supported(version: tuple[int, int]) -> bool:
    return PYTHON_MIN <= version <= PYTHON_MAX


def supported_text() -> str:
    return f"{PYTHON_MIN[0]}.{PYTHON_MIN[1]}-{PYTHON_MAX[0]}.{PYTHON_MAX[1]}"
