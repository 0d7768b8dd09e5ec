"""``trajkit.compare``: runs or dataset versions side by side, as ``trajkit compare`` prints them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trajkit.dataset.compare import Comparison, compare_paths
from trajkit.dataset.compare_options import CompareOptions


def compare(inputs: Sequence[str | Path], **options: Any) -> Comparison:
    """Success rate (95 % Wilson interval), mean turns, tokens and cost per success, per source
    and overall, of two or more runs or dataset versions over the tasks they all played (each
    task's first attempt of stage 0), and the tasks that flipped against the first input.

    ``Comparison.as_dict()`` is ``--json``'s output; keywords are the command's flags.
    """
    opts: CompareOptions = CompareOptions.build(inputs=list(inputs), **options)
    return compare_paths(opts.inputs)
