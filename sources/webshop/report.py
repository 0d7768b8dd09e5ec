"""How a WebShop verdict reads: the goal's attributes, options and price against the purchase.

WebShop's reward is a count, (attributes found + options matched + price ok) / (attributes +
options + 1), times the product-type reward; the verdict's details carry the fractions and the
weights, from which the counts come back exactly. The reference view holds each goal option
against the values bought, matched with the reward's own rule (``reward.option_matches``:
colour-normalised, fuzzy), so a reader sees which option cost the reward.
"""

from __future__ import annotations

from typing import Any

from trajkit.schemas import Task, Verdict
from trajkit.sources.reading import ReferenceView, ReportTable, clip
from trajkit.sources.webshop.reward import option_matches


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _counts(details: dict[str, Any]) -> tuple[int, int, int, int] | None:
    """``(attributes found, attributes, options matched, options)`` from the weights, or None
    when the details are not the local reward's (a server's bare reward)."""
    w_price, w_att, w_opt = (_num(details.get(k)) for k in ("w_price", "w_att", "w_option"))
    if not w_price or w_att is None or w_opt is None:
        return None
    n_att, n_opt = round(w_att / w_price), round(w_opt / w_price)
    found = round((_num(details.get("r_att")) or 0.0) * n_att)
    matched = round((_num(details.get("r_option")) or 0.0) * n_opt)
    return found, n_att, matched, n_opt


def _bought(details: dict[str, Any]) -> list[str]:
    options = details.get("options")
    return [str(v) for v in options.values()] if isinstance(options, dict) else []


class WebShopReport:
    """The WebShop source's reading of its verdicts (``sources.base`` capability list)."""

    @staticmethod
    def verdict_summary(task: Task, verdict: Verdict) -> str:
        """``2/2 attributes, 0/1 options, price ok`` (the reward's parts), or why nothing was
        bought (``no purchase: step limit, 50 of 50 actions``)."""
        details = verdict.details
        reason = details.get("reason")
        if isinstance(reason, str) and reason:
            if reason == "step cap":
                return (
                    f"no purchase: step limit, {details.get('steps', '?')} of "
                    f"{details.get('max_steps', '?')} actions"
                )
            return "no purchase: a <solution> buys nothing" if "Buy Now" in reason else reason
        counts = _counts(details)
        if counts is None:
            reward = _num(details.get("reward"))
            return f"reward {reward if reward is not None else verdict.score:.2f}"
        found, n_att, matched, n_opt = counts
        parts = []
        if n_att:
            parts.append(f"{found}/{n_att} attributes")
        if n_opt:
            parts.append(f"{matched}/{n_opt} options")
        parts.append("price ok" if details.get("r_price") else "over the price limit")
        r_type = _num(details.get("r_type"))
        if r_type is not None and r_type < 1:
            parts.append(f"product type {r_type:g}")
        return ", ".join(parts)

    @staticmethod
    def reference_view(task: Task, verdict: Verdict) -> ReferenceView:
        """The instruction, then a goal/bought table: attributes, each option, price, product."""
        goal = task.reference if isinstance(task.reference, dict) else {}
        details = verdict.details
        fields = []
        if goal.get("instruction_text"):
            fields.append(("goal", clip(goal["instruction_text"])))
        if "asin" not in details:
            return ReferenceView(tuple(fields) or (("reference", clip(task.reference)),))
        rows = []
        counts = _counts(details)
        attributes = [str(a) for a in goal.get("attributes") or []]
        if attributes:
            found = f"{counts[0]} of {counts[1]} in the product" if counts else "?"
            ok = "✓" if counts and counts[0] == counts[1] else "✗"
            rows.append(("attributes", ", ".join(attributes), found, ok))
        bought = _bought(details)
        for wanted in (str(o) for o in goal.get("goal_options") or []):
            mark = "✓" if option_matches(bought, [wanted]) == 1 else "✗"
            rows.append(("option", wanted, ", ".join(bought) or "(none chosen)", mark))
        limit, price = _num(goal.get("price_upper")), _num(details.get("price"))
        if limit:
            paid = f"${price:.2f}" if price is not None else "?"
            rows.append(
                ("price", f"under ${limit:.2f}", paid, "✓" if details.get("r_price") else "✗")
            )
        goal_asin, asin = goal.get("asin") or details.get("goal_asin"), details.get("asin")
        name = f" {clip(goal['name'], 100, 1)}" if goal.get("name") else ""
        same = "same product" if asin == goal_asin else "another product"
        r_type = _num(details.get("r_type"))
        kind = "✓" if r_type is None or r_type >= 1 else f"✗ type {r_type:g}"
        rows.append(("product", f"{goal_asin}{name}", f"{asin} ({same})", kind))
        table = ReportTable(("", "wanted", "bought", ""), tuple(rows))
        return ReferenceView(tuple(fields), (table,))
