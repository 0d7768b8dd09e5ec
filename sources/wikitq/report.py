"""How a WikiTableQuestions verdict reads: the sets compared and which targets matched."""

from __future__ import annotations

from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, ReportTable, clip


class WikiTQReport:
    """The ``wikitq`` source's reading of its verdicts (``sources.base`` capability list)."""

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        """``denotation: 2/2 targets matched, 2 values for 2`` (sizes must be equal)."""
        details = verdict.details
        matched = details.get("matched")
        sizes = details.get("sizes")
        if not isinstance(matched, list) or not isinstance(sizes, list) or len(sizes) != 2:
            return "denotation: " + ("match" if verdict.success else "no match")
        hits = sum(1 for m in matched if m is True)
        line = f"denotation: {hits}/{len(matched)} targets matched"
        if sizes[0] != sizes[1]:
            line += f", {sizes[1]} values given for {sizes[0]}"
        return line

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        """The targets as the evaluator types them, the answer's values, and the table's first
        rows."""
        details = verdict.details
        reference = task.reference if isinstance(task.reference, list) else [task.reference]
        fields = [("targets", clip(" | ".join(str(r) for r in reference), 200, 1))]
        for label, key in (("as values", "target_values"), ("answer values", "predicted_values")):
            values = details.get(key)
            if isinstance(values, list):
                fields.append((label, clip(" | ".join(str(v) for v in values), 200, 1)))
        meta = task.metadata
        if isinstance(meta.get("table_path"), str):
            fields.append(("table", meta["table_path"]))
        tables: tuple[ReportTable, ...] = ()
        table = meta.get("table")
        if isinstance(table, dict) and isinstance(table.get("header"), list):
            header = tuple(clip(h, 40, 1) for h in table["header"][:8])
            raw_rows = table.get("rows")
            rows: list[object] = raw_rows if isinstance(raw_rows, list) else []
            shown = tuple(
                tuple(clip(c, 40, 1) for c in row[: len(header)])
                for row in rows[:5]
                if isinstance(row, list) and len(row) >= len(header)
            )
            caption = f"rows 1-{len(shown)} of {len(rows)}" if len(rows) > len(shown) else ""
            tables = (ReportTable(header, shown, caption),)
        return ReferenceView(tuple(fields), tables)
