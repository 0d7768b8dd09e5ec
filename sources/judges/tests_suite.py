"""The forms a ``tests`` judge reference may take, normalised to one :class:`TestSuite`.

Accepted forms (the value of ``task.reference``, or of the metadata field ``tests=FIELD``):

- a string of test code: one test, run as a whole (an MBPP-style block of asserts fails at
  its first failing assert);
- a list of strings: each a separate test (MBPP's ``test_list``);
- a dict ``{"setup": str, "tests": str | [str], "check": str, "entry_point": str,
  "prompt": str}``, every key optional but at least one test: ``setup`` runs after the
  solution and before each test (MBPP's ``test_setup_code``, HumanEval's ``test`` code that
  defines ``check``); ``check`` is one more test in which ``candidate`` names the function
  ``entry_point`` (``"check(candidate)"``); ``prompt`` is code the solution continues
  (HumanEval's stub, see :func:`program_for`). HumanEval's own field name ``test`` is read as
  ``setup``.

A string whose code defines a top-level ``check`` function and comes with an
``entry_point`` (HumanEval's ``test`` field) is the HumanEval form: it becomes the setup and
the one test is ``check(<entry_point>)``, exactly as the official harness calls it.

Order of execution for every test, in a fresh child process: ``prompt`` (if any) and the
solution, then ``setup``, then the test. Tests are compiled here, on the host, so a test that
is not valid Python is bad data (a one-line ``DataError``), never a failed solution.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trajkit.core.errors import DataError

_FUTURE = re.compile(r"from\s+__future__\s+import\b")
_DICT_KEYS = ("setup", "test", "tests", "check", "entry_point", "prompt")


@dataclass(frozen=True)
class TestSuite:
    """What one solution is judged against; ``tests`` run one by one, each in a fresh child."""

    __test__ = False  # not a pytest test class

    tests: tuple[str, ...]
    setup: str = ""
    entry_point: str | None = None
    prompt: str = ""
    #: Which tests use ``candidate`` (the ``check`` entry): bound to ``entry_point`` for them.
    candidate: tuple[bool, ...] = field(default=())

    def as_reference(self) -> dict[str, Any]:
        """The dict form (round-trips through :func:`parse_suite`)."""
        ref: dict[str, Any] = {"tests": list(self.tests)}
        for key in ("setup", "entry_point", "prompt"):
            if getattr(self, key):
                ref[key] = getattr(self, key)
        return ref


def _text(value: Any, where: str, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} must be a string of Python code, got {type(value).__name__}")
    return value


def _test_list(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
        return [t for t in value if t.strip()]
    # Parquet/Arrow rows give numpy arrays for list columns.
    if hasattr(value, "tolist") and isinstance(value.tolist(), list):
        return _test_list(value.tolist(), where, key)
    raise DataError(f"{where}: field {key!r} must be test code or a list of test strings, got {type(value).__name__}")


def _check_syntax(code: str, where: str, what: str) -> None:
    try:
        compile(code, f"<{what}>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        at = f" line {line}" if line else ""
        msg = getattr(exc, "msg", None) or str(exc)
        raise DataError(f"{where}: unparsable tests: {what}{at}: {msg}") from None
    except (RecursionError, MemoryError):
        raise DataError(f"{where}: unparsable tests: {what} is too deeply nested") from None


def defines_check(code: str) -> bool:
    """True when ``code`` defines a top-level function ``check`` (HumanEval's ``test``)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == "check" for node in tree.body)


def parse_suite(
    value: Any,
    where: str,
    setup: str | None = None,
    entry_point: str | None = None,
) -> TestSuite:
    """``value`` in any accepted form as a :class:`TestSuite`; ``setup`` and ``entry_point``
    (from metadata fields) fill what the value itself does not say. One-line ``DataError``
    naming ``where`` for a missing, empty or unparsable suite."""
    prompt = ""
    checks: list[str] = []
    if isinstance(value, Mapping):
        unknown = [key for key in value if key not in _DICT_KEYS]
        if unknown:
            raise DataError(f"{where}: unknown test field {unknown[0]!r} (known: {', '.join(_DICT_KEYS)})")
        setup = _text(value.get("setup"), where, "setup") or _text(value.get("test"), where, "test") or setup
        entry_point = _text(value.get("entry_point"), where, "entry_point") or entry_point
        prompt = _text(value.get("prompt"), where, "prompt")
        tests = _test_list(value.get("tests"), where, "tests")
        check = _text(value.get("check"), where, "check")
        if check.strip():
            checks.append(check)
    else:
        tests = _test_list(value, where, "tests")
    setup = setup or ""
    if entry_point is not None and not entry_point.isidentifier():
        raise DataError(f"{where}: entry_point {entry_point!r} is not a Python name")
    if entry_point and not checks and len(tests) == 1 and not setup.strip() and defines_check(tests[0]):
        setup, tests = tests[0], []  # HumanEval's ``test`` field: defines check(candidate)
    if entry_point and not tests and not checks and defines_check(setup):
        tests = [f"check({entry_point})"]
    if checks and not entry_point:
        raise DataError(f"{where}: a 'check' test needs an 'entry_point' (the name 'candidate' stands for)")
    _check_syntax(setup, where, "setup")
    if not tests and not checks and entry_point and setup.strip():
        raise DataError(f"{where}: no tests (and no check(candidate) defined to call {entry_point})")
    if not tests and not checks:
        raise DataError(f"{where}: no tests (empty test list)")
    if prompt:
        _check_syntax(prompt + "\n    pass\n", where, "prompt")
    for i, test in enumerate([*tests, *checks]):
        _check_syntax(test, where, f"test {i + 1}")
    return TestSuite(
        tests=(*tests, *checks),
        setup=setup,
        entry_point=entry_point or None,
        prompt=prompt,
        candidate=(False,) * len(tests) + (True,) * len(checks),
    )


def _defines(program: str, name: str) -> bool:
    """Whether ``program`` binds ``name`` at top level: a ``def``/``class``, an assignment
    (``add = lambda a, b: a + b``, ``add = _impl``) or an import ``as`` it. The official
    harness runs prompt + completion as one file, where any of these replaces the stub."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(name in _bound(node) for node in tree.body)


def _bound(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds (only the forms that can replace a function)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Assign):
        return {t.id for t in node.targets if isinstance(t, ast.Name)}
    if isinstance(node, ast.AnnAssign) and node.value is not None:
        return {node.target.id} if isinstance(node.target, ast.Name) else set()
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _indented(body: str) -> bool:
    """Whether a body's first line of code is indented (comments and blank lines, which
    Python ignores for indentation, may sit at column 0 above it)."""
    for line in body.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line[:1] in (" ", "\t")
    return False


def program_for(suite: TestSuite, solution: str) -> str:
    """The program a solution is run as. Without a ``prompt``, the solution itself. With one
    (HumanEval's stub), the prompt always comes first, as the official harness prepends it
    (its imports stay available); a solution that binds ``entry_point`` at top level
    (``_defines``) then replaces the stub's function (its ``from __future__`` lines, which must open a file, move
    above the stub), and one that does not is taken as the function's body and indented under
    the stub when its first line of code is not indented already."""
    if not suite.prompt:
        return solution
    head = suite.prompt.rstrip("\n") + "\n"
    if suite.entry_point and _defines(solution, suite.entry_point):
        # ``from __future__`` must open the file: such lines move above the stub.
        lines = solution.splitlines(keepends=True)
        future = [line for line in lines if _FUTURE.match(line)]
        rest = "".join(line for line in lines if not _FUTURE.match(line))
        return "".join(future) + head + "\n" + rest
    body = solution if _indented(solution) else textwrap.indent(solution, "    ")
    return head + body
