"""Job files: every ``trajkit collect`` option, plus filter/export/publish, in one TOML file.

A scheduled job (cron, Airflow, Kubernetes) becomes one line, ``trajkit run job.toml`` (or
``trajkit.run_job("job.toml")``)::

    name = "nightly"                 # default: the file's stem; runs are NAME-SOURCE
    out = "out"                      # output root, relative to this file

    [[collect]]                      # one table per collection; keys are collect's options
    source = "math"
    teacher = "openai:gpt-4o-mini"   # or teachers = [...]: one run per teacher
    data = "data/math500.jsonl"      # relative to this file
    limit = 200
    concurrency = 32
    max_cost = 20.0
    price = ["gpt-4o-mini=0.15,0.6"]
    source_opt = { search = "corpus" }   # or a list: ["search=corpus"]

    [dataset]
    name = "codeact"                 # trajkit run: filter every run above into this dataset

    [[filter]]                       # the chain, as in `trajkit filter --config`
    preset = "default"               # (no [[filter]] tables: the default preset)

    [[export]]                       # optional, repeatable: `trajkit export` options
    format = "openai"
    to = "exports/codeact.jsonl"

    [publish]                        # optional: `trajkit publish` options
    repo_id = "org/codeact"

A ``[[collect]]`` table is validated against ``CollectOptions``, the same model the command
and ``trajkit.collect`` build, so every option works here under the same name (dashes or
underscores) and a new option needs no change to this file; ``[[export]]`` and ``[publish]``
against ``ExportOptions`` and ``PublishOptions``. Every error names the file, the table
(``collect #2``) and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from trajkit.collect.options import CollectOptions
from trajkit.collect.teachers.provider import get_provider, parse_spec
from trajkit.core.config_files import read_toml
from trajkit.core.errors import ConfigError, PluginError
from trajkit.core.options import output_dir
from trajkit.dataset.options import ExportOptions, PublishOptions
from trajkit.filters.chain import FilterChain
from trajkit.filters.config import chain_from_entries
from trajkit.filters.presets import PRESETS

TOP_LEVEL = frozenset({"name", "out", "collect", "dataset", "filter", "export", "publish"})
#: Options a job sets elsewhere: the output root is the file's ``out``.
NOT_IN_COLLECT = frozenset({"out"})
#: Options naming local paths: relative ones resolve against the job file.
PATH_KEYS = frozenset({"data"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


@dataclass
class Job:
    """A parsed job file: its collections, then optional later stages."""

    path: Path
    name: str
    out: Path
    collects: list[CollectOptions]
    dataset: str | None = None
    chain: FilterChain | None = None
    exports: list[ExportOptions] = field(default_factory=list)
    publish: PublishOptions | None = None

    def run_dirs(self) -> list[Path]:
        return [self.out / "runs" / str(c.run) for c in self.collects]


def _check_name(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(f"{where}: {key}: use letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def _slug(teacher: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", teacher.split("/")[-1]).strip("-.") or "teacher"


def _validated(model: type[BaseModel], where: str, values: dict[str, Any]) -> Any:
    """``model(**values)``; the first problem as one line naming ``where`` and the key."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:  # a rule across keys: its message names them
            raise ConfigError(f"{where}: {message}") from None
        key = str(first["loc"][0])
        got = f" (got {values[key]!r})" if key in values else ""
        raise ConfigError(f"{where}: {key}: {message}{got}") from None
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _resolve_teacher(job: Path, teacher: Any) -> Any:
    """A teacher whose model is a file (``replay:PATH``) resolves relative to the job file."""
    if not isinstance(teacher, str):
        return teacher  # CollectOptions reports the wrong type, naming the key
    try:
        provider_name, model = parse_spec(teacher)
        provider = get_provider(provider_name)
    except (ConfigError, PluginError):
        return teacher  # collect reports it with the flag's own message
    if provider.model_is_path and not Path(model).is_absolute():
        return f"{provider_name}:{job.parent / model}"
    return teacher


def _collect_entry(job: Path, name: str, out: Path, k: int, entry: Any) -> list[CollectOptions]:
    where = f"{job}: collect #{k}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a [[collect]] table")
    values: dict[str, Any] = {}
    teachers: list[str] = []
    for raw, value in entry.items():
        key = raw.replace("-", "_")
        if key == "teachers":
            if not isinstance(value, list) or not value or not all(isinstance(t, str) for t in value):
                raise ConfigError(f"{where}: teachers: expected a non-empty list of PROVIDER:MODEL")
            teachers = value
            continue
        if key in NOT_IN_COLLECT:
            raise ConfigError(f"{where}: unknown key {raw!r} (set out at the top of the file)")
        if key not in CollectOptions.model_fields:
            raise ConfigError(f"{where}: unknown key {raw!r}")
        values[key] = value
    if not values.get("source"):
        raise ConfigError(f"{where}: missing key 'source'")
    if teachers and values.get("teacher"):
        raise ConfigError(f"{where}: give 'teacher' or 'teachers', not both")
    teachers = teachers or ([values["teacher"]] if values.get("teacher") else [])
    if not teachers:
        raise ConfigError(f"{where}: missing key 'teacher'")
    for key in PATH_KEYS:
        if isinstance(values.get(key), str):
            values[key] = str(job.parent / values[key])
    calls = []
    for teacher in teachers:
        if values.get("run"):
            base = _check_name(where, "run", values["run"])
            run = base if len(teachers) == 1 else f"{base}-{_slug(teacher)}"
        else:
            suffix = f"-{_slug(teacher)}" if len(teachers) > 1 else ""
            run = f"{name}-{values['source']}{suffix}"
        call = {**values, "teacher": _resolve_teacher(job, teacher), "run": run, "out": out}
        calls.append(_validated(CollectOptions, where, call))
    return calls


def _stage(job: Path, title: str, entry: Any, model: type[BaseModel], fixed: dict[str, Any]) -> Any:
    if not isinstance(entry, dict):
        raise ConfigError(f"{job}: {title}: expected a table")
    allowed = sorted(set(model.model_fields) - set(fixed))
    values = {}
    for raw, value in entry.items():
        key = raw.replace("-", "_")
        if key not in allowed:
            raise ConfigError(f"{job}: {title}: unknown key {raw!r} (known: {', '.join(allowed)})")
        values[key] = value
    return _validated(model, f"{job}: {title}", {**values, **fixed})


def load_job(path: Path) -> Job:
    """Parse and validate the job file at ``path``; one-line ``ConfigError`` for any mistake."""
    path = Path(path)
    data = read_toml(path)
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key {unknown[0]!r} (known: {', '.join(sorted(TOP_LEVEL))})")
    name = _check_name(str(path), "name", data.get("name", path.stem))
    out = data.get("out", "out")
    if not isinstance(out, str):
        raise ConfigError(f"{path}: out: expected a path string")
    out_dir = path.parent / out
    try:
        output_dir(out_dir)
    except ValueError as exc:
        raise ConfigError(f"{path}: out: {exc}") from None
    entries = data.get("collect")
    if isinstance(entries, dict):  # one [collect] table, as one [export] is read
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[collect]] tables (say what to collect)")
    collects = [c for k, e in enumerate(entries, 1) for c in _collect_entry(path, name, out_dir, k, e)]
    runs = [str(c.run) for c in collects]
    if len(set(runs)) != len(runs):
        dup = next(r for r in runs if runs.count(r) > 1)
        raise ConfigError(f"{path}: two collections write run {dup!r}; give each a distinct run")
    job = Job(path=path, name=name, out=out_dir, collects=collects)
    dataset = data.get("dataset")
    if dataset is not None:
        if not isinstance(dataset, dict) or set(dataset) - {"name"}:
            extra = sorted(set(dataset) - {"name"}) if isinstance(dataset, dict) else []
            what = f"unknown key {extra[0]!r} (known: name)" if extra else "expected a table"
            raise ConfigError(f"{path}: [dataset]: {what}")
        job.dataset = _check_name(f"{path}: [dataset]", "name", dataset.get("name"))
    if "filter" in data:
        job.chain = chain_from_entries(path, data["filter"])
    elif job.dataset:
        job.chain = FilterChain(PRESETS["default"]())
    exports = data.get("export", [])
    for k, entry in enumerate(exports if isinstance(exports, list) else [exports], 1):
        if isinstance(entry, dict) and ("format" not in entry or "to" not in entry):
            raise ConfigError(f"{path}: export #{k}: needs 'format' and 'to'")
        to = path.parent / entry["to"] if isinstance(entry, dict) and isinstance(entry.get("to"), str) else None
        table = {**entry, **({"to": to} if to else {})} if isinstance(entry, dict) else entry
        stage = _stage(path, f"export #{k}", table, ExportOptions, {"path": out_dir})
        job.exports.append(stage)
    if "publish" in data:
        entry = data["publish"]
        if isinstance(entry, dict) and "repo_id" not in entry:
            raise ConfigError(f"{path}: [publish]: needs 'repo_id'")
        job.publish = _stage(path, "[publish]", entry, PublishOptions, {"path": out_dir})
    if (job.exports or job.publish) and not job.dataset:
        raise ConfigError(f"{path}: export/publish need a [dataset] name to build first")
    return job
