"""What a report makes of the records it is given: valid lines the fast parser refuses,
repeated ids, and paths of the machine that collected them (which never reach the report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import DEEP_LINE, make_trajectory, nested_line, write_run
from view_helpers import episodes, report_text

from trajkit.core.errors import DataError
from trajkit.dataset.show import teacher_name
from trajkit.dataset.stats import compute_stats
from trajkit.dataset.version import build_version
from trajkit.filters.presets import build_chain
from trajkit.schemas import TeacherInfo
from trajkit.view.site import build_site


@pytest.mark.parametrize(
    ("prefix", "surrogate"),
    [(b"", b"\\ud800"), (b"", b"\xed\xa0\x80"), (b"\xef\xbb\xbf", b"\\udfff")],
    ids=["escaped", "raw-bytes", "byte-order-mark"],
)
def test_a_valid_line_the_fast_parser_refuses_is_read_not_called_invalid_json(
    tmp_path: Path, prefix: bytes, surrogate: bytes
) -> None:
    """A lone surrogate (as ``ensure_ascii`` writes it, or as raw bytes) and a byte-order mark
    are JSON Python reads; pydantic's parser calls them invalid."""
    odd = make_trajectory("s1", ["exception", "solve"], run="run-a")
    line = odd.model_dump_json().encode().replace(b"division by zero", b"printed " + surrogate)
    json.loads(prefix + line)
    run = write_run(tmp_path / "runs" / "run-a", [])
    (run / "trajectories.jsonl").write_bytes(
        prefix + line + b"\n" + episodes()[0].model_dump_json().encode() + b"\n"
    )
    report = build_site(run)
    assert report.overview.records == 2
    assert "printed \ufffd" in report_text(report.path)


def test_invalid_json_is_still_named_and_a_torn_tail_still_skipped(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "bad", episodes()[:1], tail='{"id": 1,}\n')
    with pytest.raises(DataError, match=r"trajectories\.jsonl:2: not valid JSON"):
        build_site(run)
    torn = write_run(tmp_path / "runs" / "torn", episodes()[:1], tail='{"id": "x", "run": "\\ud8')
    assert build_site(torn).overview.torn_tail


def test_repeated_ids_count_once_as_in_filter_and_stats(tmp_path: Path) -> None:
    first = make_trajectory("d1", ["exception", "solve"], run="r")
    copy = make_trajectory("d1", ["ok", "wrong"], success=False, run="r")
    run = write_run(tmp_path / "runs" / "r", [first, make_trajectory("d2", run="r"), copy])
    report = build_site(run)
    version = build_version([run], "ds", tmp_path, build_chain(["all"]))
    assert report.overview.records == version.manifest.records == compute_stats(run).records == 2
    assert report.overview.duplicates == 1 and report.overview.total.successes == 2
    index = (report.path / "index.html").read_text()
    assert "1 line(s) repeating an earlier trajectory id were skipped" in index


@pytest.mark.parametrize(
    ("provider", "model", "name"),
    [
        ("replay", "/home/u/runs/apps_demo_replay.jsonl", "replay:apps_demo_replay.jsonl"),
        ("replay", "recordings/x.jsonl", "replay:x.jsonl"),
        ("openai", "gpt-4o-mini", "openai:gpt-4o-mini"),
        ("openai", "meta-llama/Llama-3-8B", "openai:meta-llama/Llama-3-8B"),
        ("openai", "/models/llama-3-8b", "openai:llama-3-8b"),
        ("not-installed", "C:\\models\\m.gguf", "not-installed:m.gguf"),
    ],
)
def test_teachers_are_named_as_a_user_names_them(provider: str, model: str, name: str) -> None:
    assert teacher_name(provider, model) == name


def test_no_path_of_the_collecting_machine_reaches_the_report(tmp_path: Path) -> None:
    """Records, run.json and the version's manifest all name paths under a distinctive
    directory (a replay file, the runs, the inputs); the report shows none of them."""
    home = tmp_path / "collector-home-Zq7x"
    replay = TeacherInfo(provider="replay", model=str(home / "recordings" / "math_replay.jsonl"))
    trajs = [
        make_trajectory(f"m{i}", ["exception", "solve"], run="math-a", teacher=replay)
        for i in range(3)
    ]
    run = write_run(home / "out" / "runs" / "math-a", trajs)
    config = json.loads((run / "run.json").read_text())
    config["config"] = {
        "source": "math",
        "teacher": f"replay:{replay.model}",
        "load": {"data": str(home / "data" / "math.jsonl")},
    }
    (run / "run.json").write_text(json.dumps(config))
    version = build_version([run], "ds", home / "out", build_chain(["all"])).path
    # Records from before replays were named by content still hold the path (the manifest no
    # longer does: it names the run relative to the output root).
    assert "collector-home-Zq7x" in (version / "data.jsonl").read_text()
    for path in (run, version):
        report = build_site(path, tmp_path / "reports" / path.name)
        text = report_text(report.path)
        assert "collector-home-Zq7x" not in text and str(tmp_path) not in text
        assert "replay:math_replay.jsonl" in text


@pytest.mark.parametrize("depth", [201, 500, 100_000])
def test_a_deeply_nested_line_is_invalid_json_not_a_recursion_error(tmp_path: Path, depth: int) -> None:
    """Past 200 levels pydantic's parser refuses a line; the ``json.loads`` fallback (and then
    ``valid_tree``, from ~500) would raise ``RecursionError``. Such a line is malformed data."""
    tail = DEEP_LINE if depth == 100_000 else nested_line(make_trajectory("deep"), depth)
    run = write_run(tmp_path / "runs" / "deep", episodes()[:1], tail=tail)
    with pytest.raises(DataError, match=r"trajectories\.jsonl:2: not valid JSON \(nested more than 200"):
        build_site(run)
