"""No path or user name of the collecting machine in anything that gets published (issue 13
item 6): the whole pipeline runs, as a user types it, under a directory with a distinctive
name standing for the collector's home (with ``HOME``, ``USER`` and the working directory
pointing into it), from a copy of a bundled replay file and a copy of the bundled MATH data,
and every file it writes is searched for that name, for the real home and user name, and for
the test's temporary directory.

Searched: the run's records (``trajectories.jsonl``), every version file (``data.jsonl``,
``manifest.json``, ``CHANGELOG.md``), every export (openai, sharegpt, codeact; the ``hf`` card,
changelog and Parquet shards, raw and decoded), both HTML reports (every file), and what
``trajkit stats --json`` prints (but the path it echoes as typed). Not searched: ``run.json``. It is the user's own run
configuration, kept beside the records so a resume is the same run: it has to say where the
replay file and the data are (``replay:PATH`` and ``--data`` as given), and nothing copies it
into a version, an export, a card or a report (which the search proves for its content). The
test does check it still names the distinctive directory, so the search is known to look for
something that is there to leak.
"""

from __future__ import annotations

import getpass
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from support import require_isolation
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.sources.math import DEMO_REPLAY, SAMPLE_PATH

MARK = "collector-home-Kw9q"
USER = "collector-user-Kw9q"
REAL_HOME = str(Path.home())
REAL_USER = getpass.getuser()

runner = CliRunner()


def cli(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, (args, res.output)
    return res.stdout


def machine_patterns(tmp_path: Path) -> list[re.Pattern[str]]:
    """What must not appear: the distinctive names, the temporary directory, and the real home
    and user name as path components (``/root`` but not ``1/roots[0]``: user names are often
    ordinary words)."""
    patterns = [re.escape(MARK), re.escape(USER), re.escape(str(tmp_path))]
    if len(REAL_HOME) > 1:
        patterns.append(re.escape(REAL_HOME) + r"(?![\w.-])")
    if REAL_USER:
        patterns.append(r"[/\\]" + re.escape(REAL_USER) + r"(?![\w.-])")
    return [re.compile(p) for p in patterns]


def leaks(text: str, patterns: list[re.Pattern[str]]) -> list[str]:
    return [m.group() for p in patterns for m in p.finditer(text)][:5]


def file_texts(path: Path) -> list[str]:
    """The file's text; a Parquet shard also as its decoded rows (compression could hide a
    string from a search of the raw bytes)."""
    texts = [path.read_bytes().decode("utf-8", errors="replace")]
    if path.suffix == ".parquet":
        texts.append(json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False))
    return texts


def test_nothing_published_names_the_collecting_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_isolation()
    home = tmp_path / MARK
    (home / "recordings").mkdir(parents=True)
    (home / "data").mkdir()
    replay = home / "recordings" / DEMO_REPLAY.name
    shutil.copy(DEMO_REPLAY, replay)
    data = home / "data" / "math.jsonl"
    shutil.copy(SAMPLE_PATH, data)
    monkeypatch.chdir(home)
    monkeypatch.setenv("HOME", str(home))
    for var in ("USER", "LOGNAME"):
        monkeypatch.setenv(var, USER)

    cli("collect", "math", "--teacher", f"replay:{replay}", "--data", str(data), "--run", "m",
        "--out", str(home / "out"), "--concurrency", "4")
    cli("filter", str(home / "out" / "runs" / "m"), "--dataset", "d", "--out", str(home / "out"))
    version = home / "out" / "datasets" / "d" / "v1"
    cli("filter", str(version), "--dataset", "d2", "--out", "out", "--dedup", "exact")  # a version parent
    exports = home / "exports"
    exports.mkdir()
    for fmt in ("openai", "sharegpt", "codeact"):
        cli("export", str(version), "--format", fmt, "--to", str(exports / f"{fmt}.jsonl"))
    cli("export", str(version), "--format", "hf", "--to", str(exports / "hf"))
    cli("view", str(version))
    cli("view", str(home / "out" / "runs" / "m"))
    # What `stats --json` prints, but its "path": the argument as the user typed it.
    printed = [
        json.dumps({k: v for k, v in json.loads(cli("stats", "--json", str(p))).items() if k != "path"})
        for p in (version, home / "out" / "runs" / "m")
    ]

    run_json = home / "out" / "runs" / "m" / "run.json"
    assert MARK in run_json.read_text()  # the user's own config: see the module docstring
    searched = sorted(
        p for p in [*(home / "out").rglob("*"), *exports.rglob("*")] if p.is_file() and p != run_json
    )
    names = {p.relative_to(home).as_posix() for p in searched}
    for expected in ("out/runs/m/trajectories.jsonl", "out/datasets/d/v1/manifest.json",
                     "out/datasets/d/v1/CHANGELOG.md", "out/datasets/d2/v1/manifest.json",
                     "exports/openai.jsonl", "exports/hf/README.md", "exports/hf/CHANGELOG.md",
                     "out/reports/d-v1/index.html", "out/reports/m/index.html"):
        assert expected in names, sorted(names)
    assert any(n.endswith(".parquet") for n in names)
    patterns = machine_patterns(tmp_path)
    found = {
        p.relative_to(home).as_posix(): hits
        for p in searched
        for text in file_texts(p)
        if (hits := leaks(text, patterns))
    }
    found.update({f"stats output {k}": hits for k, t in enumerate(printed) if (hits := leaks(t, patterns))})
    assert found == {}

    # What now stands where the paths were.
    record = json.loads((home / "out" / "runs" / "m" / "trajectories.jsonl").read_text().splitlines()[0])
    assert re.fullmatch(r"math_demo_replay\.jsonl@sha256:[0-9a-f]{12}", record["teacher"]["model"])
    manifest = json.loads((version / "manifest.json").read_text())
    assert [(i["path"], i["base"]) for i in manifest["inputs"]] == [("runs/m/trajectories.jsonl", "out")]
    assert [(p["path"], p["base"]) for p in manifest["parents"]] == [("runs/m", "out")]
    second = json.loads((home / "out" / "datasets" / "d2" / "v1" / "manifest.json").read_text())
    assert [(p["kind"], p["path"]) for p in second["parents"]] == [("version", "datasets/d/v1")]

    # The output tree is relocatable: moved as a whole, every version still rebuilds from it.
    moved = tmp_path / "moved" / "out"
    moved.parent.mkdir()
    (home / "out").rename(moved)
    for v in (moved / "datasets" / "d" / "v1", moved / "datasets" / "d2" / "v1"):
        assert "identical bytes" in cli("verify", str(v), "--rebuild")
