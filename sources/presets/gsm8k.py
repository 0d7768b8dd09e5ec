"""GSM8K (Cobbe et al., 2021) as a preset over ``tasks``: grade-school word problems, judged
numerically against the number after ``####``.

Layouts: the release (``grade_school_math/data/{train,test}.jsonl`` and the ``*_socratic``
variants: one ``{"question", "answer"}`` object per line, the answer a worked solution whose
last line is ``#### 72``), given as a file or as the release's ``data`` folder (``--split``
picks ``train``/``test``); and the Hub's ``openai/gsm8k`` (configs ``main``, the default, and
``socratic``). The reference is the number after ``####`` with thousands commas removed, as the
release's own ``extract_answer`` reads it; the full solution is kept as ``metadata.solution``.
The judge is ``numeric`` (``--source-opt tol=...`` passes through, ``judge=`` still picks
another).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from trajkit.core.demonstration import Demonstration
from trajkit.core.errors import DataError
from trajkit.sources.base import LoadOptions
from trajkit.sources.presets import demonstrations
from trajkit.sources.tasks import TasksOptions, TasksSource
from trajkit.sources.tasks.read import RawRow, read_hf
from trajkit.sources.tasks.rows import Mapped

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_PATH = SAMPLES / "gsm8k_sample.jsonl"
DEMO_REPLAY = SAMPLES / "gsm8k_demo_replay.jsonl"
HUB_CONFIGS = ("main", "socratic")

#: The final-answer line of a GSM8K solution: ``#### 1,234`` (sign, digits, commas, point).
_FINAL = re.compile(r"^####\s*(-?[0-9][0-9.,]*)\s*$", re.M)

PROMPT = """\
Solve the math word problem below. You can run Python to do the arithmetic or to check it.

Problem: {question}

Give only the final answer inside <solution></solution>, as a number without units, e.g. \
<solution>72</solution>."""


def final_answer(solution: str) -> str | None:
    """The number on a solution's last ``####`` line, commas removed; None if there is none."""
    found = _FINAL.findall(solution)
    if not found:
        return None
    number = found[-1].replace(",", "").rstrip(".")
    return number if re.fullmatch(r"-?\d+(\.\d+)?", number) else None


#: The in-context demonstration, phrased with GSM8K's prompt.
DEMONSTRATION = demonstrations.gsm8k(lambda question: PROMPT.format(question=question))


class GSM8KOptions(TasksOptions):
    """``tasks``' keys with GSM8K's judge, ``numeric``, as the default."""

    judge: str = Field("numeric", min_length=1, description="judge spec (default numeric)")


class GSM8KSource(TasksSource):
    """GSM8K: the release layout or ``openai/gsm8k``, the ``####`` number, the numeric judge."""

    name: ClassVar[str] = "gsm8k"
    options_model: ClassVar[type[TasksOptions]] = GSM8KOptions
    demo_replay: ClassVar[Path | None] = DEMO_REPLAY
    typical_episode = (2.2, 170.0, 40.0)  # turns, output and observation tokens per turn

    def demonstration(self) -> Demonstration:
        """The in-context example episode (``--shots 1``): ``demonstrations.py``."""
        return DEMONSTRATION
    id_prefix: ClassVar[str] = "gsm8k"
    sample_path: ClassVar[Path] = SAMPLE_PATH

    def reference_of(self, answer: Any, where: str) -> tuple[Any, dict[str, Any]]:
        """``"72"`` from a solution ending ``#### 72``; the solution goes to metadata."""
        field = self.options.answer
        if not isinstance(answer, str):
            raise DataError(f"{where}: field {field!r} must be a GSM8K solution text")
        number = final_answer(answer)
        if number is None:
            raise DataError(f"{where}: field {field!r} has no final '#### <number>' line")
        return number, {"solution": answer}

    def build_prompt(self, row: Mapping[str, Any], mapped: Mapped, where: str) -> str:
        """GSM8K's own wording unless the user gave a template."""
        if self.template is not None:
            return self.template.render(row, where)
        return PROMPT.format(question=mapped.question.strip())

    def rows(self, options: LoadOptions) -> Iterable[RawRow]:
        """A release ``data`` folder becomes its ``{split}.jsonl``; the Hub gets ``main``."""
        if options.data and Path(options.data).expanduser().is_dir():
            options = options.model_copy(update={"data": str(release_file(options))})
        return super().rows(options)

    def read_hub(self, name: str, config: str | None, split: str | None) -> Iterable[RawRow]:
        """``openai/gsm8k`` needs a config: ``main`` unless told (``socratic`` is the other);
        a local folder without config folders takes none."""
        if config is None:
            local = Path(name).expanduser()
            if not local.is_dir() or (local / "main").is_dir():
                config = "main"
        return read_hf(name, config, split)


def release_file(options: LoadOptions) -> Path:
    """``DIR/{split}.jsonl`` (or under ``DIR/grade_school_math/data``); split ``train`` by
    default, ``--hf-config socratic`` for ``{split}_socratic.jsonl``."""
    root = Path(options.data or ".").expanduser()
    split = options.split or "train"
    stem = f"{split}_socratic" if options.hf_config == "socratic" else split
    for folder in (root, root / "grade_school_math" / "data", root / "data"):
        candidate = folder / f"{stem}.jsonl"
        if candidate.is_file():
            return candidate
    raise DataError(f"{root}: no {stem}.jsonl here (a GSM8K release data folder holds train.jsonl and test.jsonl)")
