"""The commands are generated from their options models: every field is a flag, every mistake
one line with exit code 2, and the command line, job files and Python agree on values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trajkit.cli.app import app
from trajkit.collect.options import CollectOptions
from trajkit.core.errors import ConfigError
from trajkit.dataset.options import ExportOptions, FilterOptions, PublishOptions, VerifyOptions

runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "model"),
    [("collect", CollectOptions), ("filter", FilterOptions), ("export", ExportOptions),
     ("publish", PublishOptions), ("verify", VerifyOptions)],
)
def test_every_option_of_the_model_is_a_flag(command: str, model: type) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        assert model.flag(name) in result.output, (command, name)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collect", "math", "--teacher", "replay:x", "--limit", "abc"], "'--limit'"),
        (["collect", "math", "--teacher", "replay:x", "--no-such-flag"], "No such option"),
        (["export", "somewhere"], "Missing option '--format'"),
        (["filter", "r", "--dataset", "d", "--min-turns", "x"], "--min-turns: expected a whole number"),
        (["collect", "math", "--teacher", "replay:x", "--concurrency", "0"], "--concurrency: Input should be greater than or equal to 1"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1 and message in result.output, result.output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--temperature", "-1"], "--temperature: Input should be greater than or equal to 0"),
        (["--temperature", "nan"], "--temperature: Input should be a finite number"),
        (["--temperature", "inf"], "--temperature: Input should be a finite number"),
        (["--exec-timeout", "inf"], "--exec-timeout: Input should be a finite number"),
        (["--exec-timeout", "nan"], "--exec-timeout: Input should be a finite number"),
        (["--max-cost", "inf"], "--max-cost: Input should be a finite number"),
        (["--max-cost", "nan"], "--max-cost: Input should be a finite number"),
        (["--batch-window", "inf"], "--batch-window: Input should be a finite number"),
        (["--sandbox-opt", "cpus=1e999"], "--sandbox-opt cpus: Input should be a finite number"),
        (["--sandbox-opt", "cpus=nan"], "--sandbox-opt cpus: Input should be a finite number"),
        (["--sandbox-opt", "start_timeout_s=inf"], "--sandbox-opt start_timeout_s: Input should be a finite"),
        (["--memory-mb", "99999999999999"], "--memory-mb: Input should be less than or equal to 1048576"),
        (["--sandbox-opt", "memory_mb=99999999999999"], "--sandbox-opt memory_mb: Input should be less than"),
        (["--pool", "9999"], "--pool: Input should be less than or equal to 256"),
        # Past ~292 years the worker's timer overflows and every cell fails as if the teacher erred.
        (["--exec-timeout", "1e12"], "--exec-timeout: Input should be less than or equal to 86400"),
        (["--sandbox-opt", "image=BAD TAG!!"], "--sandbox-opt image: 'BAD TAG!!' is not a docker image"),
        (["--teacher", "openai:gpt-4o-mini", "--temperature", "2.5"], "--temperature 2.5: --teacher openai:gpt-4o-mini (openai) accepts 0 to 2"),
        (["--teacher", "anthropic:claude-x", "--temperature", "1.5"], "--temperature 1.5: --teacher anthropic:claude-x (anthropic) accepts 0 to 1"),
        (["--escalate", "anthropic:claude-x", "--temperature", "1.5"], "--temperature 1.5: --escalate anthropic:claude-x"),
    ],
)
def test_a_bad_number_is_refused_naming_its_flag_before_anything_is_written(
    flags: list[str], message: str, tmp_path: Path
) -> None:
    from trajkit.sources.math import DEMO_REPLAY

    args = ["collect", "math", "--teacher", f"replay:{DEMO_REPLAY}", "--run", "x",
            "--out", str(tmp_path / "out"), *flags]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "out").exists()


def test_sandbox_build_checks_the_tag_before_reaching_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    import trajkit.collect.sandbox.docker_image as docker_image

    def no_engine(*_: object, **__: object) -> None:
        raise AssertionError("docker was reached before the tag was checked")

    monkeypatch.setattr(docker_image, "connect", no_engine)
    for flags, message in (
        (["--tag", "BAD TAG!!"], "--tag: 'BAD TAG!!' is not a docker image reference"),
        (["--tag", "Upper/Case:x"], "--tag: 'Upper/Case:x' is not a docker image reference"),
        (["--base", "python:3 slim"], "--base: 'python:3 slim' is not a docker image reference"),
    ):
        result = runner.invoke(app, ["sandbox", "build", *flags])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.output


@pytest.mark.parametrize(
    "reference",
    ["trajkit-sandbox:latest", "python:3.11-slim", "localhost:5000/org/img:v1.2",
     "ghcr.io/org/img@sha256:" + "a" * 64, "debian:12"],
)
def test_valid_docker_references_pass(reference: str) -> None:
    from trajkit.collect.sandbox.config import SandboxConfig, check_image_reference

    assert check_image_reference(reference) == reference
    assert SandboxConfig(image=reference).image == reference


def test_export_and_publish_options_check_format_and_repo_id_when_built(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--format: unknown format 'bogus' \(choose from: openai"):
        ExportOptions.build(path=tmp_path, format="bogus", to=tmp_path / "x.jsonl")
    with pytest.raises(ConfigError, match=r"^--repo-id: 'bad' is not ORG/NAME$"):
        PublishOptions.build(path=tmp_path, repo_id="bad")
    with pytest.raises(ConfigError, match=r"^--license/--max-shard-mb: only for --format hf$"):
        ExportOptions.build(path=tmp_path, format="openai", to=tmp_path / "x.jsonl", license="mit")
    with pytest.raises(ConfigError, match=r"^--weights/--mask-failed: only for --format openai$"):
        ExportOptions.build(path=tmp_path, format="hf", to=tmp_path / "x", mask_failed=True)
    assert ExportOptions.build(path=tmp_path, format="hf", to=tmp_path / "x").format == "hf"
    assert PublishOptions.build(path=tmp_path, repo_id="org/name").repo_id == "org/name"



@pytest.mark.parametrize(
    ("repo_id", "message"),
    [  # ORG/NAME in form, refused by the Hub client's own rules (they passed until the upload)
        ("org/name.", "The name cannot start or end with '-' or '.'"),
        ("org/" + "n" * 97, "the maximum length is 96"),
        ("org--x/name", "Cannot have -- or .. in repo_id"),
        ("org/name.git", "cannot end by '.git'"),
    ],
)
def test_a_repo_id_the_hub_would_refuse_is_refused_before_exporting(
    tmp_path: Path, repo_id: str, message: str
) -> None:
    from trajkit.dataset.publish import check_repo_id

    with pytest.raises(ConfigError, match=r"^--repo-id: .*" + re.escape(message)):
        PublishOptions.build(path=tmp_path, repo_id=repo_id)
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_repo_id(repo_id)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["collect", "math", "--teacher", "replay:x", "--run", "c1", "--out", "FILE"], "--out: "),
        (["collect", "math", "--teacher", "replay:x", "--run", "c1", "--out", "FILE/sub"], "--out: "),
        (["filter", "r", "--dataset", "zz", "--out", "FILE"], "--out: "),
        (["schema", "--out", "FILE"], "--out: "),
        (["schema", "--out", "/proc/nope"], "--out /proc/nope: cannot write"),
    ],
)
def test_an_output_root_that_is_a_file_is_one_line_and_exit_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    afile = tmp_path / "userfile"
    afile.write_text("mine\n")
    args = [a.replace("FILE", str(afile)) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    if message == "--out: ":
        assert "userfile is not a directory" in lines[0]
    assert afile.read_text() == "mine\n"


def test_options_take_the_same_values_from_every_front_end() -> None:
    """The command line gives lists of KEY=VALUE; Python gives dicts or single values."""
    from_cli = CollectOptions.build(
        source="math", teacher="openai:m", source_opt=["search=corpus", "top_k=3"],
        price=["m=1,2"], level=["Level 5"],
    )
    from_python = CollectOptions.build(
        source="math", teacher="openai:m", source_opt={"search": "corpus", "top_k": 3},
        price={"m": (1, 2)}, level="Level 5",
    )
    assert from_cli == from_python
    assert from_cli.resolve().source_options == {"search": "corpus", "top_k": "3"}
    with pytest.raises(ConfigError, match=r"^--price 'm=1': expected MODEL=IN,OUT"):
        CollectOptions.build(source="math", teacher="openai:m", price="m=1")
    with pytest.raises(ConfigError, match=r"^--max-turns: Input should be a valid integer"):
        CollectOptions.build(source="math", teacher="openai:m", max_turns="many")


def test_resolve_names_plugins_before_anything_is_read() -> None:
    with pytest.raises(ConfigError, match=r"^--executor: unknown executor 'dask' \(available: local, ray"):
        CollectOptions.build(source="math", teacher="openai:m", executor="dask").resolve()
    with pytest.raises(ConfigError, match=r"^--ray-workers: only meaningful with --executor ray"):
        from trajkit.collect.executors import get_executor_backend

        config = CollectOptions.build(source="math", teacher="openai:m", ray_workers=2).resolve()
        get_executor_backend("local").make(config, None, source=None, sandbox_factory=None)  # type: ignore[arg-type]


COMMANDS = ["collect", "filter", "stats", "schema", "demo", "verify", "export", "publish", "show",
            "view", "run", "plugins", "sandbox", "sandbox build", "sandbox prune"]


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_reads_cleanly(command: str) -> None:
    """No type beside a flag (typer prints ``<bool>``), and examples where a command has them."""
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    if command in ("collect", "filter", "export", "publish", "verify", "stats", "run", "view",
                   "show", "plugins", "demo"):
        assert "Examples" in result.output and f"$ trajkit {command}" in result.output


def test_ctrl_c_says_what_it_means_for_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command said "finished trajectories are saved; ... resume", filter included."""
    from trajkit.cli.console import RESUMABLE, Stop, guard

    def stopped() -> None:
        raise KeyboardInterrupt

    for interrupted in ((), (RESUMABLE,)):
        with pytest.raises(Stop) as info:
            guard(stopped, *interrupted)
        assert info.value.exit_code == 130
    said = capsys.readouterr().err.splitlines()
    assert said == ["interrupted: nothing half-written is left; re-run the same command", RESUMABLE]
