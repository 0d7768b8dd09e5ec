"""WikiTableQuestions tables: read from the release's ``.csv`` (or ``.tsv``), written as plain
CSV for the sandbox.

The release's ``csv/xxx-csv/yyy.csv`` quotes every field and escapes ``"`` as ``\\"`` and a
backslash as ``\\\\`` (not RFC 4180's doubled quotes), so a default ``pd.read_csv`` would misread
a cell holding a quote. We parse that dialect here, on the host, into a header and rows (the
Hub copy's inline ``{"header", "rows"}`` shape, which every task keeps in its metadata), and
the sandbox gets the same cells re-written as standard CSV, which ``pd.read_csv(path)`` reads
as it is. The ``.tsv`` variant (TSV escapes) is read when a ``.csv`` is missing; the
``.table`` variant is for people ("should not be used as an input", says the README).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from trajkit.core.errors import DataError
from trajkit.sources.wikitq.tsv import unescape

#: A table path as the sandbox sees it: relative, plain names, no ``..``.
_PATH_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Table:
    """A table's cells: ``header`` (the first row of the file) and ``rows``, all text."""

    header: list[str]
    rows: list[list[str]]

    def to_json(self) -> dict[str, Any]:
        """The Hub's layout, as stored in ``task.metadata["table"]``."""
        return {"header": list(self.header), "rows": [list(row) for row in self.rows]}

    @classmethod
    def from_json(cls, value: Any, where: str) -> Table:
        """A table in the Hub's layout (``{"header": [...], "rows": [[...]]}``), checked."""
        if not isinstance(value, dict):
            raise DataError(f"{where}: table: expected an object with header and rows")
        header, rows = value.get("header"), value.get("rows")
        if not isinstance(header, list) or not all(isinstance(h, str) for h in header):
            raise DataError(f"{where}: table.header: expected a list of strings")
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise DataError(f"{where}: table.rows: expected a list of lists")
        cells = [[_cell(c, f"{where}: table.rows[{i}]") for c in row] for i, row in enumerate(rows)]
        return checked(cls(list(header), cells), where)

    def csv_text(self) -> str:
        """The table as standard CSV (doubled quotes, quoted only where needed)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()


def _cell(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise DataError(f"{where}: expected text cells, got {type(value).__name__}")


def checked(table: Table, where: str) -> Table:
    """``table`` with short rows padded to the header's width; an empty header or a row wider
    than the header is a one-line ``DataError``."""
    width = len(table.header)
    if width == 0:
        raise DataError(f"{where}: the table has no header row")
    rows = []
    for i, row in enumerate(table.rows):
        if len(row) > width:
            raise DataError(f"{where}: row {i + 1} has {len(row)} cells, the header {width}")
        rows.append(row + [""] * (width - len(row)))
    return Table(table.header, rows)


def read_release_csv(path: Path) -> Table:
    """A release ``.csv``: every field quoted, ``\\"`` and ``\\\\`` escapes, newlines kept in
    quoted cells; the first row is the header."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(
        io.StringIO(text, newline=""), escapechar="\\", doublequote=False, strict=True
    )
    try:
        rows = [row for row in reader]
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not a WikiTableQuestions CSV ({exc})") from None
    if not rows:
        raise DataError(f"{path}: empty table file")
    return checked(Table(rows[0], rows[1:]), str(path))


def read_release_tsv(path: Path) -> Table:
    """A release table ``.tsv``: tab-separated, TSV escapes; the first row is the header."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    rows = [[unescape(c) for c in line.split("\t")] for line in text.split("\n") if line != ""]
    if not rows:
        raise DataError(f"{path}: empty table file")
    return checked(Table(rows[0], rows[1:]), str(path))


def safe_table_path(context: str, where: str) -> str:
    """``context`` (``csv/204-csv/590.csv``) if it is a plain relative path, else a one-line
    ``DataError``: it names a file written in the sandbox's working directory."""
    parts = PurePosixPath(context).parts
    if not parts or not all(_PATH_PART.fullmatch(p) for p in parts) or context.startswith("/"):
        raise DataError(
            f"{where}: context {context!r}: expected a relative path like csv/204-csv/590.csv"
        )
    return str(PurePosixPath(*parts))


class TableReader:
    """Tables of one release root, each read once (many questions share a table)."""

    def __init__(self, root: Path, max_chars: int) -> None:
        self.root = root
        self.max_chars = max_chars
        self._cache: dict[str, tuple[Table, str]] = {}

    def read(self, context: str, where: str) -> tuple[Table, str]:
        """The table ``context`` names and its sandbox path; the ``.csv``, else the ``.tsv``."""
        path = safe_table_path(context, where)
        if path not in self._cache:
            csv_path = self.root / path
            tsv_path = csv_path.with_suffix(".tsv")
            if csv_path.is_file():
                table = read_release_csv(csv_path)
            elif tsv_path.is_file():
                table = read_release_tsv(tsv_path)
            else:
                raise DataError(f"{where}: context {context}: no table at {csv_path} (nor .tsv)")
            self._cache[path] = (within_limit(table, self.max_chars, str(csv_path)), path)
        return self._cache[path]


def within_limit(table: Table, max_chars: int, where: str) -> Table:
    """``table`` if its CSV text fits ``max_chars``; else a one-line ``DataError``. A table is
    never truncated: a question about a cut table would be judged against rows it lost."""
    size = len(table.csv_text())
    if size > max_chars:
        raise DataError(
            f"{where}: table is {size:,} characters as CSV, over the limit of {max_chars:,} "
            f"(--source-opt max_table_kb=N raises it)"
        )
    return table
