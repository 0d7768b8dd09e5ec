"""Typer commands generated from a command's options model, so flags have one source of truth.

Each field of the model (``trajkit.core.options.CommandOptions``) becomes a parameter: its
description is the help text, ``cli_arguments`` are positional, a ``dict`` field is a
repeatable ``KEY=VALUE`` option and a ``bool`` a plain flag. The command hands its body only
the values typed on the command line (the model supplies every default), which is also what
lets ``--config JOB.toml`` treat the typed flags as overrides. Click's own usage errors (an
unknown option, a missing value, ``--limit abc``) become one line with exit code 2, like
every other bad flag.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic.fields import FieldInfo
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from trajkit.cli.console import err
from trajkit.core.options import CommandOptions

Body = Callable[[typer.Context, dict[str, Any], dict[str, Any]], Any]


def quiet_flags(params: list[Any]) -> list[Any]:
    """Flags take no value, so ``--help`` shows no type for them (typer would print ``<bool>``)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class QuietGroup(TyperGroup):
    """A command group whose ``--help`` shows no type beside flags."""

    def get_params(self, ctx: Any) -> list[Any]:
        return quiet_flags(super().get_params(ctx))


class OneLineErrors(TyperCommand):
    """Reports click's usage errors (unknown option, bad value) as one line, exit 2, and shows
    no type beside flags in ``--help``."""

    def get_params(self, ctx: Any) -> list[Any]:
        return quiet_flags(super().get_params(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:  # typer's (vendored) click UsageError family
            if getattr(exc, "exit_code", None) != 2 or type(exc).__name__ == "NoArgsIsHelpError":
                raise
            message = " ".join(exc.format_message().split())
            err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


def _cli_type(annotation: Any) -> Any:
    """The type typer parses for a field: lists and ``KEY=VALUE`` dicts are repeatable
    strings, a ``Literal`` is text (the model checks it), ``X | None`` stays optional."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _cli_type(inner[0]) | None if len(inner) == 1 else str | None
    if origin is dict:
        return list[str] | None
    if origin is list:  # built at run time from the field's item type
        item = args[0] if args and args[0] in (str, Path, int, float) else str
        return list.__class_getitem__(item) | None
    if origin is typing.Literal:
        return str
    return annotation


def _parameter(
    model: type[CommandOptions], name: str, field: FieldInfo, optional: bool
) -> inspect.Parameter:
    annotation = _cli_type(field.annotation)
    metavar = model.cli_metavars.get(name)
    if name in model.cli_arguments:
        info: Any = typer.Argument(help=field.description, metavar=model.flag(name))
    else:
        info = typer.Option(
            model.flag(name), help=field.description, metavar=metavar,
            rich_help_panel=model.cli_panels.get(name),
        )
    if field.is_required() and not optional:
        default: Any = inspect.Parameter.empty
    elif field.is_required():
        default = None  # the body says what is missing (e.g. "or give --config")
    elif field.default_factory is not None:
        default = None  # an empty list/dict: typer's "not given"
    else:
        default = field.default
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info]
    )


def given(ctx: typer.Context, name: str) -> bool:
    """True if parameter ``name`` was typed on the command line (or its env var was set)."""
    # By name: typer vendors its own click, whose ParameterSource is not click's.
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def model_command(
    model: type[CommandOptions],
    body: Body,
    *,
    extra: list[inspect.Parameter] | None = None,
    optional: tuple[str, ...] = (),
    doc: str | None = None,
) -> Callable[..., Any]:
    """A typer callback for ``model``'s flags (plus ``extra`` CLI-only parameters).

    ``body(ctx, values, extras)`` gets the model fields typed on the command line (arguments
    when given) and every extra parameter's value; ``optional`` fields the model requires may
    be left out on the command line (the body decides).
    """
    fields = {name: f for name, f in model.model_fields.items() if not f.exclude}
    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        *(_parameter(model, name, f, name in optional) for name, f in fields.items()),
        *(extra or []),
    ]
    extra_names = [p.name for p in extra or []]

    def command(ctx: typer.Context, **kwargs: Any) -> Any:
        values = {
            name: value for name, value in kwargs.items()
            if name in fields and value is not None
            and (name in model.cli_arguments or given(ctx, name))
        }
        return body(ctx, values, {name: kwargs[name] for name in extra_names})

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = doc or model.__doc__
    return command


def examples(*lines: str) -> str:
    """A command's ``--help`` epilog: example invocations, each kept on its own line."""
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(f"  [dim]$[/dim] {escape(line)}" for line in lines)
