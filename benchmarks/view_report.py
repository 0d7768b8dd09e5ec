"""``trajkit view`` at scale: build the report of a generated 100k-trajectory run, then time
the list page in headless Chromium.

Run: ``.venv/bin/python -m benchmarks.view_report [--records N] [--keep-files]``. Not part of
``make bench`` or the tests: it writes ~3 GB (the run and its report) to a temp directory and
takes several minutes. Needs ``chromium`` and Playwright (the ``dev`` extra).

The run is ``benchmarks.filter_throughput``'s generator (three sources, 1-6 turns, errors and
recoveries, ~10 KB per line). Measured in the same process:

- baseline: read every line and ``json.loads`` it (the least any viewer must do);
- build: ``build_site`` (validate every record, count, render every trajectory page, write
  the chunks and pages), as wall time and as CPU time against the baseline's (CPU time
  is what survives a machine shared with other work);
- browser (median of 5 fresh tabs): open ``list.html`` from ``file://`` until every list
  chunk is loaded and shown (and when the first rows appeared); then select success = yes
  and self-corrected = yes (target: under 2 s each); then open the last record's page.

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.filter_throughput import generate
from trajkit.view.site import build_site

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def baseline(path: Path) -> tuple[float, float]:
    """``(wall s, CPU s)`` to read every line and ``json.loads`` it."""
    t, c = time.perf_counter(), time.process_time()
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
    return time.perf_counter() - t, time.process_time() - c


def browse(report: Path, records: int, repeat: int = 5) -> dict[str, float]:
    """Seconds (median of ``repeat`` fresh tabs) to open the list until every row is loaded,
    to apply a filter, and to show the last record. ``*_page`` figures are the page's own
    clock from navigation start (what a reader waits); the others are wall time seen from
    Python, which adds a new tab's start and Playwright's round trips."""
    from playwright.sync_api import sync_playwright

    keys = ("open", "open_page", "first_page", "filter", "apply_page", "record")
    runs: dict[str, list[float]] = {k: [] for k in keys}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            t = time.perf_counter()
            page.goto((report / "list.html").as_uri())
            page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
            runs["open"].append(time.perf_counter() - t)
            runs["open_page"].append(page.evaluate("window.TK.loadedMs") / 1000)
            runs["first_page"].append(page.evaluate("window.TK.firstRowsMs") / 1000)
            t = time.perf_counter()
            page.select_option("#f-success", "1")  # each change re-filters synchronously
            page.select_option("#f-self_corrected", "1")
            runs["filter"].append(time.perf_counter() - t)
            runs["apply_page"].append(page.evaluate("window.TK.lastApplyMs") / 1000)
            matches = int(page.get_attribute("#count", "data-matches") or -1)
            assert 0 < matches < records, matches
            t = time.perf_counter()
            page.goto((report / "traj.html").as_uri() + f"#i={records - 1}")
            page.wait_for_selector(f"body[data-shown='{records - 1}']", timeout=60_000)
            runs["record"].append(time.perf_counter() - t)
            page.close()
        browser.close()
    return {k: sorted(v)[len(v) // 2] for k, v in runs.items()}


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument(
        "--keep-files", action="store_true", help="keep the temp directory and print it"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="trajkit-view-bench-"))
    try:
        run = tmp / "runs" / "bench"
        generate(run / "trajectories.jsonl", args.records)
        base, base_cpu = baseline(run / "trajectories.jsonl")
        t, c = time.perf_counter(), time.process_time()
        site = build_site(run, tmp / "report")
        build, build_cpu = time.perf_counter() - t, time.process_time() - c
        data = site.path / "data"
        list_mb = sum(p.stat().st_size for p in data.glob("list-*.js")) / 1e6
        times = browse(site.path, args.records)
        rows = [
            (
                "records",
                f"{args.records:,} ({size_mb(run / 'trajectories.jsonl'):,.0f} MB of JSONL)",
                "",
                "",
            ),
            (
                "build report",
                f"{build:.1f} s wall, {build_cpu:.1f} CPU-s "
                f"({args.records / build:,.0f} records/s; {size_mb(site.path):,.0f} MB)",
                f"`json.loads` of every line: {base:.1f} s wall, {base_cpu:.1f} CPU-s",
                f"{build_cpu / base_cpu:.1f}x the CPU time",
            ),
            (
                "open list page: all rows loaded (first rows shown)",
                f"{times['open_page']:.2f} s ({times['first_page']:.2f} s); {times['open']:.2f} s "
                f"wall incl. a new tab ({list_mb:.1f} MB of list chunks)",
                "target 2 s",
                "",
            ),
            (
                "apply a filter (success + self-corrected)",
                f"{times['apply_page'] * 1000:.0f} ms in page; {times['filter']:.2f} s wall for "
                "two selections",
                "target 2 s",
                "",
            ),
            ("open the last record's page", f"{times['record']:.2f} s wall", "", ""),
        ]
        lines = ["| measure | result | baseline (same run) | ratio |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
        print("\n".join(lines))
    finally:
        if args.keep_files:
            print(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
