"""The ``README.md`` dataset card of an ``hf`` export: Hub metadata plus the manifest's story.

The YAML front matter is what the Hub and ``datasets`` read: ``license`` (``--license``, default
``other``), task categories, size category, and ``configs`` with ``data_files`` so
``datasets.load_dataset(PATH_OR_REPO)`` finds the split without guessing. The body states, from
the manifest, what a user needs before training on it: version and hashes, where the records
came from (parents, sources, teachers), how they were filtered (the per-unit table), how
episodes ended, token totals and the sandbox environment the code actions ran in (Python and
the versions of the packages teachers import: they decide what the observations say); then the
columns.

The card is a pure function of the manifest and the export (no clock), so the same version
always renders the same bytes. It is published, so it names things without the building
machine's paths: parents by label (``run math-a``), teachers as ``dataset.naming.teacher_name``
does (a replay by its file and content hash; an older record's replay path by its file name),
filter parameters with file paths shortened to the file name. Token totals say when a
tokenizer counted them (a replay's text) rather than a provider billing them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

from trajkit.core.demonstration import DEMONSTRATION_CLOSE, DEMONSTRATION_OPEN
from trajkit.core.numbers import percent
from trajkit.dataset.changelog import chain_text, params_text
from trajkit.dataset.export_hf import DATA_DIR, column_docs
from trajkit.dataset.lineage import parent_label
from trajkit.dataset.summary import (
    DataSummary,
    environment_differences,
    environment_identity,
    environment_packages,
    named_counts,
)
from trajkit.dataset.version import duplicate_count
from trajkit.dataset.yield_table import ALIGN, HEADER, yield_rows
from trajkit.schemas import DatasetManifest

DEFAULT_LICENSE = "other"
TASK_CATEGORIES = ["text-generation"]
TAGS = ["agent", "codeact", "code", "tool-use", "trajectories", "synthetic", "trajkit"]


@dataclass(frozen=True)
class CardInputs:
    """What the export adds to the manifest: rows written per split, skipped records, shards."""

    split_rows: Mapping[str, int]
    skipped: Mapping[str, int]
    shards: Sequence[str]  # paths relative to the export root
    keep_demonstration: bool = False  # the system prompts keep the in-context demonstration
    demonstrations: int = 0  # rows whose teacher was shown one (kept or cut out)
    tool_columns: bool = False  # the shards carry the tool fields (``export_hf.HF_TOOLS_SCHEMA``)
    function_rows: int = 0  # rows whose teacher was offered functions (``--action-format``)


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` rows."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
              (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
    for bound, label in bounds:
        if n < bound:
            return label
    return "n>1T" if n >= 10**12 else "100M<n<1B" if n < 10**9 else "1B<n<10B"


def front_matter(manifest: DatasetManifest, rows: int, splits: Sequence[str], license: str) -> str:
    """The YAML block between ``---`` lines."""
    meta = {
        "license": license,
        "pretty_name": f"{manifest.name} v{manifest.version}",
        "language": ["en"],
        "task_categories": TASK_CATEGORIES,
        "tags": TAGS,
        "size_categories": [size_category(rows)],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"{DATA_DIR}/{s}-*"} for s in splits],
            }
        ],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> list[str]:
    """A Markdown table; ``align`` has one letter per column, ``l`` or ``r`` (default ``l``)."""
    marks = ["---:" if align[i:i + 1] == "r" else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _counts(title: str, counts: Mapping[str, int], total: int) -> list[str]:
    rows = [(f"`{k}`", n, percent(n, total, decimals=1))
            for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return [f"### {title}", "", *_table([title.rstrip("s").capitalize(), "records", "share"], rows, "lrr")]


def _demonstration(m: DatasetManifest, export: CardInputs) -> list[str]:
    """Whether the teachers saw an in-context demonstration, and whether ``messages`` has it."""
    if not export.demonstrations:
        return []
    rows = sum(export.split_rows.values())
    labels = {p.path: parent_label(p) for p in m.parents or []}
    parents = [labels.get(p, p) for use in m.shots or [] if use.shots for p in use.parents]
    which = f" (`--shots 1`: {', '.join(parents)})" if parents else " (`--shots 1`)"
    where = (
        "It is kept: each such system prompt ends with it, between the lines "
        f"`{DEMONSTRATION_OPEN}` and `{DEMONSTRATION_CLOSE}`."
        if export.keep_demonstration else
        "It is not in `messages`: it was cut out of each system prompt exactly, which then reads "
        "as if no example had been shown (`trajkit export --keep-demonstration` keeps it)."
    )
    return [
        "## In-context demonstration",
        "",
        f"In {export.demonstrations} of the {rows} rows the teacher was shown one example "
        f"episode of the task's kind, written for trajkit, at the end of the system "
        f"prompt{which}. {where}",
        "",
    ]


def _functions(export: CardInputs, rows: int) -> list[str]:
    """One line for rows whose teacher called functions instead of writing code only."""
    if not export.function_rows:
        return []
    return [
        f"{export.function_rows} of the {rows} rows were collected with function calling "
        "(`--action-format tools|json|text`): `tools` lists the functions the teacher was "
        "offered, and native calls and their results are in `messages` (`tool_calls`, `tool` "
        "messages).",
        "",
    ]


def _environments(m: DatasetManifest) -> list[str]:
    """The sandbox environment(s) the parents' code ran in, by parent."""
    out = ["## Sandbox environment", ""]
    if m.sandbox_environments is None:
        return [*out, "Not recorded (this version was built before trajkit recorded it).", ""]
    out += [
        "The teachers' code actions ran in this Python; the observations they learned from are "
        "what it printed.",
        "",
    ]
    labels = {p.path: parent_label(p) for p in m.parents or []}
    rows = []
    for use in m.sandbox_environments:
        parents = ", ".join(labels.get(p, p) for p in use.parents)
        env = use.environment
        if env is None:
            rows.append(("not recorded", "-", "-", "-", parents))
            continue
        rows.append((env.backend, env.python, environment_packages(env) or "-",
                     f"`{environment_identity(env)}`" + (f" (stack `{env.stack}`)" if env.stack else ""),
                     parents))
    out += _table(["sandbox", "Python", "packages", "identity", "parents"], rows)
    differs = environment_differences(list(m.sandbox_environments))
    if differs:
        out += [f"The parents ran in different environments ({', '.join(differs)} differ): the "
                "same code may have printed differently in them.", ""]
    return out


def _yield(m: DatasetManifest) -> list[str]:
    """What the kept records cost: every attempt behind them, per source and per teacher."""
    if not m.yield_by_source:
        return []
    out = [
        "## Yield", "",
        "Every episode the parents hold (all attempts and escalation steps, duplicates "
        "excepted), and what this version kept of them: tokens and dollars per kept record "
        "charge each kept record its share of the attempts filtered out (dollars at the "
        "prices the runs were collected at; `-` where a run was unpriced).", "",
    ]
    for title, groups in (("source", m.yield_by_source), ("teacher", m.yield_by_teacher or {})):
        rows = yield_rows({f"`{k}`": v for k, v in groups.items()})
        out += _table([title, *HEADER], rows, ALIGN)
    return out


def render_card(
    manifest: DatasetManifest,
    summary: DataSummary,
    export: CardInputs,
    *,
    license: str = DEFAULT_LICENSE,
    repo_id: str | None = None,
) -> str:
    """The whole ``README.md``. ``summary`` (counted while exporting) fills in numbers that
    manifests written before they were recorded lack; recorded ones are always used as-is."""
    m = manifest
    rows = sum(export.split_rows.values())
    by_teacher = named_counts(
        m.counts_by_teacher if m.counts_by_teacher is not None else summary.counts()["teacher"]
    )
    by_termination = (m.counts_by_termination if m.counts_by_termination is not None
                      else summary.counts()["termination"])
    usage = m.usage if m.usage is not None else summary.usage
    target = repo_id or "PATH_OR_ORG/NAME"
    out = [front_matter(m, rows, list(export.split_rows), license)]
    out += [
        f"# {m.name} v{m.version}",
        "",
        f"CodeAct agent trajectories built with trajkit: teacher models solved benchmark tasks by "
        f"writing Python that ran in a sandbox, were judged by each benchmark's own metric, and "
        f"were filtered into this dataset. {m.records} records in version {m.version}.",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{target}", split="train")',
        "```",
        "",
        *_functions(export, rows),
        "## Version",
        "",
        *_table(["field", "value"], [
            ("dataset", f"`{m.name}`"),
            ("version", f"v{m.version}"),
            ("records", m.records),
            ("rows exported", rows),
            ("created", m.created_at),
            ("fingerprint", f"`{m.fingerprint}`"),
            ("data sha256", f"`{m.data_sha256}`"),
            ("previous version", f"v{m.previous_version}" if m.previous_version else "none (first)"),
            ("trajkit", m.toolkit_version),
            ("schema", m.schema_version),
        ]),
    ]
    if export.skipped:
        skipped = ", ".join(f"{k} ({n})" for k, n in sorted(export.skipped.items()))
        out += [f"Records not exported (not a valid chat conversation): {skipped}.", ""]
    out += ["## Sources and teachers", ""]
    out += _counts("Sources", m.counts_by_source, m.records)
    out += _counts("Teachers", by_teacher, m.records)
    out += _counts("Terminations", by_termination, m.records)
    if m.parents:
        out += ["### Parents", ""]
        out += _table(["parent", "records", "sha256"],
                      [(parent_label(p), p.records, f"`{p.sha256[:16]}…`") for p in m.parents], "lrl")
    out += _environments(m)
    out += _demonstration(m, export)
    out += ["## Filters", "", f"Chain: {chain_text(m.filters)}.", ""]
    filter_rows = [
        (f.name, params_text(f.params, ", ") or "-",
         f.seen, f.kept, f.dropped,
         ", ".join(f"{r} ({n})" for r, n in sorted(f.drop_reasons.items(), key=lambda kv: (-kv[1], kv[0])))
         or "-")
        for f in m.filters
    ]
    out += _table(["unit", "params", "seen", "kept", "dropped", "drop reasons"], filter_rows, "llrrrl")
    dupes = duplicate_count(m)
    if dupes:
        out += [f"{dupes} record(s) with an id already seen were skipped before filtering.", ""]
    out += _yield(m)
    mean_in = usage.input_tokens / m.records if m.records else 0.0
    mean_out = usage.output_tokens / m.records if m.records else 0.0
    out += ["## Tokens", ""]
    out += _table(["tokens", "total", "mean per record"], [
        ("input", usage.input_tokens, f"{mean_in:.1f}"),
        ("output", usage.output_tokens, f"{mean_out:.1f}"),
        ("teacher calls", usage.calls, f"{usage.calls / m.records:.2f}" if m.records else "0"),
    ], "lrr")
    if summary.counted_with:
        how = ", ".join(f"{name} ({n})" for name, n in sorted(summary.counted_with.items()))
        out += [
            f"Tokens of {sum(summary.counted_with.values())} record(s) were counted from the text "
            f"with a tokenizer, not billed by a provider (replayed turns): {how}.",
            "",
        ]
    out += ["## Columns", ""]
    docs = column_docs(export.tool_columns)
    out += _table(["column", "description"], [(f"`{k}`", v) for k, v in docs.items()])
    out += ["## Files", ""]
    out += [f"- `{path}`" for path in export.shards]
    out += ["- `CHANGELOG.md`: what changed since the previous version", ""]
    out += [
        "## License and terms",
        "",
        f"License: `{license}`. The assistant turns were written by the teacher models listed "
        "above; their providers' terms may restrict training on their outputs.",
        "",
    ]
    return "\n".join(out)
