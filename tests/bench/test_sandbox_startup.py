"""The sandbox start-up benchmark's lower-bound row (``benchmarks/sandbox_startup.py``): today's
fork server with a stub in place of the worker. The stub must keep answering what the real
fork server calls, or the row silently measures a failure (real fork server, real jails)."""

from __future__ import annotations

from pathlib import Path

from support import require_isolation

from benchmarks.sandbox_startup import SANDBOX_DIR, measure, stub_files


def test_the_stub_row_runs_the_real_fork_server_with_only_the_worker_replaced(
    tmp_path: Path,
) -> None:
    require_isolation()
    server = Path(stub_files(str(tmp_path)))
    stub = server.parent
    real = {p.name for p in SANDBOX_DIR.glob("*.py")}
    assert {p.name for p in stub.glob("*.py")} == real | {"real_worker.py"}
    for name in real - {"worker.py"}:
        assert (stub / name).read_text() == (SANDBOX_DIR / name).read_text()
    assert (stub / "real_worker.py").read_text() == (SANDBOX_DIR / "worker.py").read_text()
    cycles = measure("server-stub", 3, str(tmp_path))  # each cycle asserts it saw ``ready``
    assert len(cycles) == 3
    assert all(latency > 0 for latency, _, _ in cycles)
