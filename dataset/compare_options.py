"""The options model of ``trajkit compare``: the command, the job file and ``trajkit.compare``
build it, so all three accept the same inputs and fail with the same one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator, model_validator

from trajkit.core.options import CommandOptions, as_list


class CompareOptions(CommandOptions):
    """Everything ``trajkit compare`` accepts."""

    cli_arguments: ClassVar[tuple[str, ...]] = ("inputs",)
    cli_metavars: ClassVar[dict[str, str]] = {"inputs": "RUN_OR_VERSION"}
    cli_flags: ClassVar[dict[str, str]] = {"as_json": "--json"}

    inputs: list[Path] = Field(
        description="Two or more run directories or dataset versions (OUT/datasets/NAME/vN); the first is the baseline flips are listed against."
    )
    as_json: bool = Field(False, description="Machine-readable output.")
    markdown: bool = Field(False, description="A Markdown table, for pasting into a report or pull request.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return as_list(value)

    @field_validator("inputs")
    @classmethod
    def _two_or_more(cls, value: list[Path]) -> list[Path]:
        if len(value) < 2:
            raise ValueError("give two or more runs or dataset versions to compare")
        return value

    @model_validator(mode="after")
    def _one_output(self) -> CompareOptions:
        if self.as_json and self.markdown:
            raise ValueError("choose --json or --markdown, not both")
        return self
