"""The in-sandbox half of the ``tests`` judge: run assert-style tests against one solution.

Sent as cell text into a fresh judge sandbox, right after the APPS harness (``apps/execmodel.py``
and ``apps/harness.py``), whose process machinery it reuses unchanged: each test runs in a
child forked from the worker, in its own process group, with a wall-clock deadline, a CPU
rlimit, bounded output and a sweep of leftovers afterwards. Only what the child does differs:
instead of calling a function with JSON arguments, it executes the solution, the setup code
and one test in a fresh ``__main__`` namespace, and reports on fd 3 whether the test raised.
Standard output goes to ``/dev/null`` (a solution printing megabytes costs nothing), and
unlike APPS no prelude of imports is injected: HumanEval's and MBPP's official harnesses run
the program as written.

The tests run in the solution's own interpreter, as in the official harnesses, so a
solution that deliberately tampers with the test machinery is not prevented here; the
judge's guarantees are that nothing hangs, nothing leaks out of the sandbox, and that a
solution which crashes, exits or kills its worker fails.

Standard library only; the host imports this file only for tests.
"""

import linecache
import sys
import traceback
import types
import typing

if typing.TYPE_CHECKING:  # defined in the same cell: the judge sends the APPS harness first
    from typing import Any as AppsHarness

ERROR_CHARS = 300
MODULE_NAME = "solution"  # what the solution sees as ``__name__``


class AssertHarness(AppsHarness):
    """One solution and its tests; ``run_test(str(index), timeout)`` runs test ``index``."""

    def __init__(
        self,
        source: str,
        setup: str,
        tests: list,
        candidate: list,
        entry_point: str | None,
        output_limit: int,
    ) -> None:
        super().__init__(source, "call", None, None, output_limit)
        self.setup = setup
        self.tests = tests
        self.candidate = candidate
        self.entry_point = entry_point
        self.compiled: list = []

    def prepare(self) -> dict:
        """Compile the solution (a syntax error fails every test without running any), the
        setup and the tests; register their text so tracebacks can quote the failing line."""
        result = super().prepare()
        self.prelude: dict[str, object] = {}  # the official harnesses add no imports of their own
        if not result.get("ok"):
            return result
        try:
            self.setup_code = self._compile(self.setup, "<setup>")
            self.compiled = [self._compile(t, f"<test {i + 1}>") for i, t in enumerate(self.tests)]
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # checked on the host
            return {"ok": False, "error": f"the tests do not compile here: {type(exc).__name__}"}
        return {"ok": True}

    @staticmethod
    def _compile(text: str, name: str) -> types.CodeType:
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        return compile(text, name, "exec", dont_inherit=True)

    def _run_call(self, index_text: str) -> int:
        """In the forked child: solution, setup, test ``index``; the outcome on fd 3."""
        index = int(index_text)
        # Not ``__main__``: a solution's ``if __name__ == "__main__":`` demo (often ``input()``)
        # does not run, as under the official harnesses, which ``exec`` in a bare namespace.
        self.module.__name__ = MODULE_NAME
        sys.modules[MODULE_NAME] = self.module
        namespace = self.module.__dict__
        try:
            exec(self.code, namespace)  # compiled by prepare()
            exec(self.setup_code, namespace)
            scope = namespace
            if self.candidate[index]:
                if self.entry_point not in namespace:
                    raise NameError(f"function {self.entry_point!r} is not defined")
                scope = dict(namespace, candidate=namespace[self.entry_point])
            exec(self.compiled[index], scope)
        except SystemExit as exc:
            message = {"ok": False, "kind": "error", "error": f"SystemExit: {exc.code}"}
            return self._finish(self._send(message, 1))
        except BaseException as exc:
            kind = "fail" if isinstance(exc, AssertionError) else "error"
            message = {"ok": False, "kind": kind, "error": self._describe(exc)}
            return self._finish(self._send(message, 1))
        return self._finish(self._send({"ok": True}, 0))

    @staticmethod
    def _describe(exc: BaseException) -> str:
        """``Type: first line of the message``, and where in the setup or test it was raised
        (``at test 2 line 1: assert f(3) == 9``): a bare ``AssertionError`` says nothing."""
        try:
            lines = str(exc).strip().splitlines()
        except Exception:  # a hostile __str__
            lines = []
        text = type(exc).__name__ + (f": {lines[0]}" if lines else "")
        try:
            frames = traceback.extract_tb(exc.__traceback__)
        except Exception:
            frames = traceback.StackSummary()
        for frame in reversed(frames):
            if frame.filename.startswith("<test") or frame.filename == "<setup>":
                where = frame.filename.strip("<>")
                text += f" (at {where} line {frame.lineno}: {(frame.line or '').strip()})"
                break
        return text[:ERROR_CHARS]
