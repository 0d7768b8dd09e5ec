"""How a row becomes the teacher's first message: the default prompt or the user's template.

A template is a text file with ``{field}`` placeholders naming the row's fields (``{{`` and
``}}`` are literal braces). Only plain names are substituted, never Python format
expressions, so a template cannot reach into the values it is given. A template may not
name the answer field: the prompt would hand the teacher the reference it is judged against.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trajkit.core.errors import ConfigError, DataError

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}")

#: The last paragraph of the default prompt when the judge says nothing about the answer's
#: form (a judge class may declare ``answer_format``, one sentence, to replace it).
SHORT_ANSWER = (
    "Give only the final answer inside <solution></solution>: the number, name, word or short "
    "phrase that answers the question, not a sentence, e.g. <solution>42</solution>."
)

DEFAULT_TEMPLATE = """\
Answer the question below. You can run Python to work it out or to check your answer before \
you give it.

Question: {question}

{answer_format}"""


def as_text(value: Any) -> str:
    """A field's value as prompt text: strings as they are, other values as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, default=str)


def default_prompt(question: str, answer_format: str | None = None) -> str:
    """The prompt when no template is given: the question and how to give the answer."""
    return DEFAULT_TEMPLATE.format(
        question=question.strip(), answer_format=(answer_format or SHORT_ANSWER).strip()
    )


class PromptTemplate:
    """A user's template, checked once when the source is configured."""

    def __init__(self, text: str, origin: str) -> None:
        self.text = text.strip()
        self.origin = origin
        self.fields = [m[1].strip() for m in _TOKEN.finditer(self.text) if m[1] is not None]
        if any(not name for name in self.fields):
            raise ConfigError(f"--source-opt template={origin}: empty placeholder {{}} (name a field)")
        if not self.fields:
            raise ConfigError(
                f"--source-opt template={origin}: no {{field}} placeholder (e.g. {{question}})"
            )

    @classmethod
    def from_file(cls, path: str, answer_field: str) -> PromptTemplate:
        """Read ``path``; a missing file or one naming ``answer_field`` is a ConfigError."""
        file = Path(path).expanduser()
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"--source-opt template={path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--source-opt template={path}: cannot read ({exc})") from None
        template = cls(text, path)
        if answer_field in template.fields:
            raise ConfigError(
                f"--source-opt template={path}: placeholder {{{answer_field}}} is the answer "
                "field; the prompt would give the reference answer away"
            )
        return template

    def render(self, row: Mapping[str, Any], where: str) -> str:
        """The prompt for ``row`` (read at ``where``); a missing field is a one-line DataError
        naming the template file, the placeholder and the row."""

        def substitute(match: re.Match[str]) -> str:
            token = match[0]
            if token == "{{":
                return "{"
            if token == "}}":
                return "}"
            name = match[1].strip()
            if name not in row:
                raise DataError(
                    f"{self.origin}: placeholder {{{name}}}: {where} has no field {name!r}"
                )
            return as_text(row[name])

        return _TOKEN.sub(substitute, self.text)
