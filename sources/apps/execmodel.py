"""How a submitted APPS program is shaped and called: the official grader's execution model.

APPS reference solutions were accepted by the benchmark's own grader (``eval/testing_util.py``
``run_test`` in hendrycks/apps), so a judge that runs programs differently fails correct ones.
That grader (1) prepends a prelude of standard-library imports (``sys``, ``math``'s ``sqrt``,
``gcd``, ``log``..., ``collections``' ``Counter``, ``deque``..., ``heapq``'s functions,
``List``/``Tuple``, numpy as ``np``), (2) runs a standard-input program as the body of a
function it then calls, so a module-level ``return`` ends the program early instead of being
a syntax error, and ``exit()``/``sys.exit()`` end it with its output still graded, and
(3) calls a call-based problem's ``fn_name`` on a ``Solution()`` instance when the program
defines that class, else as a plain function, with the test's JSON arguments (a first
argument that is a dict keyed by numbers gets its keys back as ints, which JSON lost).

This module reproduces those rules in our own code, with two deliberate differences, both
where the official grader fails a program that runs correctly as a script (see
docs/fidelity/apps.md): the program keeps ``__name__ == "__main__"`` (the official grader
runs it in a namespace whose ``__name__`` is ``builtins``, so a guarded ``main()`` never
runs), and only a program that needs the function wrapper (a module-level ``return``) gets
it, with every top-level name declared ``global`` so it otherwise behaves exactly as the
module it was written as (a nested ``global x`` still finds ``x``).

Standard library only: the judge sends this file's text into the sandbox ahead of
``harness.py``, which calls it there; the host imports it only for tests.
"""

import ast
import importlib
import os
import types
import typing

#: ``import M`` lines of the official prelude.
PRELUDE_MODULES = ("sys", "time", "itertools", "collections", "math", "fractions", "random", "heapq")
#: ``from M import names`` lines of the official prelude (``heapq``: ``import *``).
PRELUDE_FROM: dict[str, tuple[str, ...]] = {
    "itertools": ("accumulate", "product", "permutations", "combinations"),
    "collections": ("Counter", "OrderedDict", "deque", "defaultdict", "ChainMap"),
    "functools": ("lru_cache",),
    "math": ("sqrt", "sin", "cos", "tan", "ceil", "fabs", "floor", "gcd", "exp", "log", "log2"),
    "typing": ("List", "Tuple"),
}
STAR_FROM = ("heapq",)
NUMPY_NAME = "np"
WRAPPER_NAME = "__apps_main__"
STDIN_MODE = "stdin"
_RETURN_OUTSIDE = "'return' outside function"
_SINGLE_THREADED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# --------------------------------------------------------------------------- compiling


def compile_program(source: str, filename: str, mode: str) -> tuple[types.CodeType, bool]:
    """``(code, wrapped)``: the program compiled as a module, or, for a stdin program whose
    only objection is a module-level ``return``, compiled inside a function it calls.

    Raises ``SyntaxError`` (the wrapped program's, when wrapping was tried) like ``compile``.
    """
    try:
        return compile(source, filename, "exec"), False
    except SyntaxError as exc:
        if mode != STDIN_MODE or exc.msg != _RETURN_OUTSIDE:
            raise
        wrapped = wrap_module(ast.parse(source, filename))
        if wrapped is None:
            raise
    return compile(wrapped, filename, "exec"), True


def wrap_module(tree: ast.Module) -> ast.Module | None:
    """``tree`` as ``def __apps_main__(): global <top-level names>; <body>`` + a call.

    The docstring and ``from __future__`` imports stay at module level; ``from M import *``
    (not allowed in a function) runs at module level through ``exec`` at the same point;
    annotated assignments lose their annotation (a ``global`` name cannot carry one).
    ``None`` when the body yields at top level: the wrapper would turn it into a generator
    and silently run nothing, so the original syntax error is the better answer.
    """
    head: list[ast.stmt] = []
    body = list(tree.body)
    while body and ((_is_docstring(body[0]) and not head) or _is_future(body[0])):
        head.append(body.pop(0))
    scan = _TopLevelScan()
    for stmt in body:
        scan.visit(stmt)
    if scan.yields:
        return None
    body = [_TopLevelRewrite().visit(stmt) for stmt in body] or [ast.Pass()]
    template = ast.parse(f"def {WRAPPER_NAME}():\n    pass\n{WRAPPER_NAME}()\n")
    func = typing.cast(ast.FunctionDef, template.body[0])
    names = sorted(scan.bound - {WRAPPER_NAME})
    func.body = ([ast.copy_location(ast.Global(names=names), body[0])] if names else []) + body
    module = ast.Module(body=[*head, *template.body], type_ignores=[])
    return ast.fix_missing_locations(module)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_future(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


_NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class _TopLevelScan(ast.NodeVisitor):
    """Names the top-level code binds (so the wrapper declares them ``global``), and
    whether it yields. Nested function and class bodies are their own scopes and are only
    entered for what runs in this one (decorators, defaults, bases); comprehension targets
    are the comprehension's own, but a walrus inside one binds here."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.yields = False

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.bound.add(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.bound.update(a.asname or a.name for a in node.names if a.name != "*")

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.bound.add(node.name)
        runs_here: list[ast.AST] = list(node.decorator_list)
        if isinstance(node, ast.ClassDef):
            runs_here += [*node.bases, *node.keywords]
        else:
            runs_here += [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]
        for child in runs_here:
            self.visit(child)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for child in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(child)

    def _comprehension(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            if isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                self.bound.add(child.target.id)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bound.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bound.add(node.rest)
        self.generic_visit(node)

    def visit_Yield(self, node: ast.Yield) -> None:
        self.yields = True

    visit_YieldFrom = visit_Yield  # type: ignore[assignment]


class _TopLevelRewrite(ast.NodeTransformer):
    """What a module allows and a function does not, rewritten for the top-level code only."""

    def _keep(self, node: ast.AST) -> ast.AST:
        return node  # a nested scope: its body is not top-level code

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _keep

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.stmt:
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.stmt:
        if not any(alias.name == "*" for alias in node.names):
            return node
        statement = f"from {'.' * (node.level or 0)}{node.module or ''} import *"
        call = f"__import__('builtins').exec({statement!r}, __import__('builtins').globals())"
        return ast.copy_location(ast.parse(call).body[0], node)


# --------------------------------------------------------------------------- the prelude


def names_used(code: types.CodeType) -> set[str]:
    """Every global/attribute name the code (and the code nested in it) refers to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= names_used(const)
    return names


def prelude(used: set[str], call_based: bool) -> dict[str, object]:
    """The names the official grader binds before the program runs; ``np`` only when the
    program refers to it (importing numpy costs ~0.1 s) and it imports. Call-based programs
    also get the rest of ``typing`` (LeetCode starter code annotates without importing)."""
    names: dict[str, object] = {}
    for module_name in PRELUDE_MODULES:
        names[module_name] = importlib.import_module(module_name)
    for module_name, attrs in PRELUDE_FROM.items():
        module = importlib.import_module(module_name)
        names.update((attr, getattr(module, attr)) for attr in attrs)
    for module_name in STAR_FROM:
        module = importlib.import_module(module_name)
        names.update((attr, getattr(module, attr)) for attr in getattr(module, "__all__", ()))
    if NUMPY_NAME in used:
        for var in _SINGLE_THREADED:  # as the official grader does; no thread pools to fork
            os.environ.setdefault(var, "1")
        try:
            names[NUMPY_NAME] = importlib.import_module("numpy")
        except Exception:  # absent or broken: the program fails as it would without it
            pass
    if call_based:
        for attr in typing.__all__:
            names.setdefault(attr, getattr(typing, attr))
    return names


# --------------------------------------------------------------------------- calling


def entry_point(namespace: dict[str, typing.Any], fn_name: str, class_name: str | None) -> typing.Any:
    """The callable a call-based test invokes: ``fn_name`` on a fresh instance of the starter
    code's class (or, as the official grader does, of ``Solution``), else the top-level
    function; the starter code's own shape is tried first."""
    classes = [name for name in (class_name, "Solution") if name]
    order: list[str | None] = [*classes, None] if class_name else [None, *classes]
    for owner in dict.fromkeys(order):
        if owner is None:
            if fn_name in namespace:
                return namespace[fn_name]
        elif isinstance(namespace.get(owner), type) and hasattr(namespace[owner], fn_name):
            return getattr(namespace[owner](), fn_name)
    if class_name and class_name not in namespace:
        raise NameError(f"class {class_name!r} is not defined")
    raise NameError(f"function {fn_name!r} is not defined")


def call_arguments(decoded: typing.Any) -> list[typing.Any]:
    """A test's JSON arguments as a positional list; a first argument that is a dict whose
    keys all read as integers gets them back as ints (JSON only has string keys; the
    official grader converts them the same way)."""
    args = list(decoded) if isinstance(decoded, list) else [decoded]
    if args and isinstance(args[0], dict):
        try:
            args[0] = {int(key): value for key, value in args[0].items()}
        except (TypeError, ValueError):
            pass
    return args
