"""Job files: every ``trajkit collect`` flag, plus filter/export/publish, in one TOML file.

A scheduled job (cron, Airflow, Kubernetes) becomes one line, ``trajkit run job.toml``::

    name = "nightly"                 # default: the file's stem; runs are NAME-SOURCE
    out = "out"                      # output root, relative to this file

    [[collect]]                      # one table per collection; keys are collect's flags
    source = "math"
    teacher = "openai:gpt-4o-mini"   # or teachers = [...]: one run per teacher
    data = "data/math500.jsonl"      # relative to this file
    limit = 200
    concurrency = 32
    max_cost = 20.0
    price = ["gpt-4o-mini=0.15,0.6"]
    source_opt = ["search=corpus"]   # or a table: source_opt = { search = "corpus" }

    [dataset]
    name = "codeact"                 # trajkit run: filter every run above into this dataset

    [[filter]]                       # the chain, as in `trajkit filter --config`
    preset = "default"               # (no [[filter]] tables: the default preset)

    [[export]]                       # optional, repeatable: `trajkit export` options
    format = "openai"
    to = "exports/codeact.jsonl"

    [publish]                        # optional: `trajkit publish` options
    repo_id = "org/codeact"

Collect keys are the collect command's own parameters (dashes or underscores), so every flag
works here and a new flag needs no change to this file. Every error names the file, the
table (``collect #2``) and the key.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from trajkit.filters.chain import FilterChain
from trajkit.filters.config import chain_from_entries, read_toml
from trajkit.filters.presets import PRESETS
from trajkit.schemas.errors import ConfigError

TOP_LEVEL = frozenset({"name", "out", "collect", "dataset", "filter", "export", "publish"})
#: Collect parameters a job sets elsewhere (``out`` at the top) or that make no sense in a file.
NOT_IN_COLLECT = frozenset({"ctx", "config_file", "out_dir", "summary_json", "estimate"})
#: Collect parameters naming local paths: relative ones resolve against the job file.
PATH_KEYS = frozenset({"data"})
EXPORT_KEYS = frozenset(
    {"format", "to", "force", "weights", "mask_failed", "license", "max_shard_mb"}
)
PUBLISH_KEYS = frozenset({"repo_id", "private", "dry_run", "license"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


@dataclass
class Job:
    """A parsed job file: collect calls (keyword arguments), then optional later stages."""

    path: Path
    name: str
    out: Path
    collects: list[dict[str, Any]]
    dataset: str | None = None
    chain: FilterChain | None = None
    exports: list[dict[str, Any]] = field(default_factory=list)
    publish: dict[str, Any] | None = None

    def run_dirs(self) -> list[Path]:
        return [self.out / "runs" / kw["run"] for kw in self.collects]


def _collect_params(collect_fn: Callable[..., Any]) -> dict[str, tuple[Any, Any]]:
    """``name -> (type, default)`` of every collect parameter a job file may set."""
    hints = typing.get_type_hints(collect_fn, include_extras=True)
    params = {}
    for name, param in inspect.signature(collect_fn).parameters.items():
        if name in NOT_IN_COLLECT:
            continue
        hint = hints.get(name, Any)
        if typing.get_origin(hint) is typing.Annotated:
            hint = typing.get_args(hint)[0]
        default = param.default if param.default is not inspect.Parameter.empty else None
        params[name] = (hint, default)
    return params


def _key(raw: str) -> str:
    key = raw.replace("-", "_")
    return {"type": "type_", "out": "out_dir"}.get(key, key)


def _check_name(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(f"{where}: {key}: use letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def _slug(teacher: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", teacher.split("/")[-1]).strip("-.") or "teacher"


def _convert(where: str, key: str, hint: Any, value: Any) -> Any:
    if key == "source_opt" and isinstance(value, dict):
        value = [f"{k}={v}" for k, v in value.items()]
    origin = typing.get_args(hint)
    if isinstance(value, (str, int, float)) and any(typing.get_origin(a) is list for a in origin):
        value = [value]  # a single level/type/price needs no brackets
    try:
        return TypeAdapter(hint).validate_python(value)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {key}: {exc.errors()[0]['msg']} (got {value!r})") from None


def _collect_entry(
    job: Path, name: str, k: int, entry: Any, params: dict[str, tuple[Any, Any]]
) -> list[dict[str, Any]]:
    where = f"{job}: collect #{k}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a [[collect]] table")
    kwargs = {p: default for p, (_, default) in params.items()}
    teachers: list[str] = []
    for raw, value in entry.items():
        key = _key(raw)
        if key == "teachers":
            if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
                raise ConfigError(f"{where}: teachers: expected a non-empty list of PROVIDER:MODEL")
            teachers = value
            continue
        if key not in params:
            hint = " (set out at the top of the file)" if key == "out_dir" else ""
            raise ConfigError(f"{where}: unknown key {raw!r}{hint}")
        kwargs[key] = _convert(where, raw, params[key][0], value)
    if not kwargs.get("source"):
        raise ConfigError(f"{where}: missing key 'source'")
    if teachers and kwargs.get("teacher"):
        raise ConfigError(f"{where}: give 'teacher' or 'teachers', not both")
    teachers = teachers or ([kwargs["teacher"]] if kwargs.get("teacher") else [])
    if not teachers:
        raise ConfigError(f"{where}: missing key 'teacher'")
    for key in PATH_KEYS:
        if isinstance(kwargs.get(key), str):
            kwargs[key] = str(job.parent / kwargs[key])
    calls = []
    for teacher in teachers:
        call = dict(kwargs, teacher=_resolve_teacher(job, teacher))
        if kwargs.get("run"):
            base = _check_name(where, "run", kwargs["run"])
            call["run"] = base if len(teachers) == 1 else f"{base}-{_slug(teacher)}"
        else:
            suffix = f"-{_slug(teacher)}" if len(teachers) > 1 else ""
            call["run"] = f"{name}-{kwargs['source']}{suffix}"
        calls.append(call)
    return calls


def _resolve_teacher(job: Path, teacher: str) -> str:
    """``replay:PATH`` relative to the job file, like every other path in it."""
    provider, sep, rest = teacher.partition(":")
    if provider.strip().lower() == "replay" and sep and rest and not Path(rest).is_absolute():
        return f"replay:{job.parent / rest}"
    return teacher


def _stage(job: Path, title: str, entry: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ConfigError(f"{job}: {title}: expected a table")
    stage = {}
    for raw, value in entry.items():
        key = raw.replace("-", "_")
        if key not in allowed:
            raise ConfigError(f"{job}: {title}: unknown key {raw!r} (known: {', '.join(sorted(allowed))})")
        stage[key] = value
    return stage


def load_job(path: Path, collect_fn: Callable[..., Any]) -> Job:
    """Parse and validate ``path``; ``collect_fn`` is the collect command (its flags)."""
    path = Path(path)
    data = read_toml(path)
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} (known: {', '.join(sorted(TOP_LEVEL))})")
    name = _check_name(str(path), "name", data.get("name", path.stem))
    out = data.get("out", "out")
    if not isinstance(out, str):
        raise ConfigError(f"{path}: out: expected a path string")
    entries = data.get("collect")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[collect]] tables (say what to collect)")
    params = _collect_params(collect_fn)
    collects = [c for k, e in enumerate(entries, 1) for c in _collect_entry(path, name, k, e, params)]
    runs = [c["run"] for c in collects]
    if len(set(runs)) != len(runs):
        dup = next(r for r in runs if runs.count(r) > 1)
        raise ConfigError(f"{path}: two collections write run {dup!r}; give each a distinct run")
    job = Job(path=path, name=name, out=path.parent / out, collects=collects)
    dataset = data.get("dataset")
    if dataset is not None:
        dataset = _stage(path, "[dataset]", dataset, frozenset({"name"})).get("name")
        job.dataset = _check_name(f"{path}: [dataset]", "name", dataset)
    if "filter" in data:
        job.chain = chain_from_entries(path, data["filter"])
    elif job.dataset:
        job.chain = FilterChain(PRESETS["default"]())
    exports = data.get("export", [])
    for k, entry in enumerate(exports if isinstance(exports, list) else [exports], 1):
        stage = _stage(path, f"export #{k}", entry, EXPORT_KEYS)
        if "format" not in stage or "to" not in stage:
            raise ConfigError(f"{path}: export #{k}: needs 'format' and 'to'")
        stage["to"] = path.parent / stage["to"]
        job.exports.append(stage)
    if "publish" in data:
        job.publish = _stage(path, "[publish]", data["publish"], PUBLISH_KEYS)
        if "repo_id" not in job.publish:
            raise ConfigError(f"{path}: [publish]: needs 'repo_id'")
    if (job.exports or job.publish) and not job.dataset:
        raise ConfigError(f"{path}: export/publish need a [dataset] name to build first")
    return job
