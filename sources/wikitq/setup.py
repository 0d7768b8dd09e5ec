"""The code that puts a task's table into its sandbox (``WikiTQSource.episode_setup``).

The loop runs it before the teacher's first cell and never shows its output. It writes the
table as standard CSV to the path the prompt names, in the sandbox's working directory, and
reads it with ``pd.read_csv`` into ``df``, so ``df`` and ``pd.read_csv(path)`` agree. The cells
and the path enter the code only as ``repr()`` literals, never formatted into it, so no cell
text can become code.
"""

from __future__ import annotations

from trajkit.schemas import Task
from trajkit.sources.wikitq.prompt import DATAFRAME
from trajkit.sources.wikitq.tables import Table, safe_table_path


def setup_code(task: Task) -> str:
    """Python that writes ``task``'s table to its path and loads it as ``df``."""
    meta = task.metadata
    where = f"task {task.task_id}"
    table = Table.from_json(meta.get("table"), where)
    path = safe_table_path(str(meta.get("table_path", "")), where)
    return "\n".join(
        [
            "import os as _trajkit_os",
            "import pandas as pd",
            f"_trajkit_path = {path!r}",
            "_trajkit_os.makedirs(_trajkit_os.path.dirname(_trajkit_path) or '.', exist_ok=True)",
            "with open(_trajkit_path, 'w', encoding='utf-8', newline='') as _trajkit_file:",
            f"    _trajkit_file.write({table.csv_text()!r})",
            f"{DATAFRAME} = pd.read_csv(_trajkit_path)",
            "del _trajkit_os, _trajkit_path, _trajkit_file",
            "",
        ]
    )
