"""WebShop's reward for a purchase (Yao et al., 2022, ``web_agent_site/engine/goal.py``).

The reward is what the benchmark reports, so this follows the published ``get_reward`` formula
by formula, quirks included, rather than what might look tidier (``docs/fidelity/webshop.md``
checks it on a table of purchases):

``total = r_type * (n_attr + n_option + [price <= price_upper]) / (len(attributes) +
len(goal_options) + 1)``

* ``n_attr`` (``get_attribute_reward``): a goal attribute counts when some product attribute
  scores above 85 with thefuzz 0.19.0's ``token_set_ratio`` (``fuzzy``), or else when it is a
  substring of the lower-cased title, bullets or description;
* ``n_option`` (``get_option_reward``): every goal option and every bought value is first
  passed through ``normalize_color`` (``normalize``), then each *goal* option counts once if
  any bought value scores above 85 with it. The product's text is never read for options, a
  size is as fuzzy as a colour ("x-large" matches "large"), an option the goal does not ask
  for adds nothing, so the total never exceeds 1;
* ``r_type`` (``get_type_reward``): the product's query, category path and title nouns
  against the goal's. Upstream gets the nouns from spaCy's ``en_core_web_lg`` (the model
  ``setup.sh`` installs); here they are precomputed in the data (``name_nouns`` on a
  product), with a heuristic fallback (``text.name_nouns``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trajkit.sources.webshop.fuzzy import token_set_ratio
from trajkit.sources.webshop.normalize import normalize_color

__all__ = [
    "Goal",
    "Purchase",
    "Reward",
    "attribute_matches",
    "get_reward",
    "option_matches",
    "token_set_ratio",
    "type_reward",
]

#: ``score > 85`` in ``get_attribute_reward`` and ``get_option_reward``.
FUZZY_THRESHOLD = 85
CATEGORY_SEP = "›"


@dataclass(frozen=True)
class Goal:
    """One shopping instruction and what it asks for (upstream's goal dict)."""

    asin: str
    instruction_text: str
    attributes: tuple[str, ...]
    goal_options: tuple[str, ...]
    price_upper: float
    query: str = ""
    category: str = ""
    product_category: str = ""
    name: str = ""
    name_nouns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form, stored as ``Task.reference`` so a record can be re-scored later."""
        return {
            "asin": self.asin,
            "instruction_text": self.instruction_text,
            "attributes": list(self.attributes),
            "goal_options": list(self.goal_options),
            "price_upper": self.price_upper,
            "query": self.query,
            "category": self.category,
            "product_category": self.product_category,
            "name": self.name,
            "name_nouns": list(self.name_nouns),
        }


@dataclass(frozen=True)
class Purchase:
    """The fields of a product the reward reads (upstream's product dict, renamed)."""

    title: str
    bullets: tuple[str, ...]
    description: str
    attributes: tuple[str, ...]
    query: str = ""
    product_category: str = ""
    name_nouns: tuple[str, ...] = ()


@dataclass
class Reward:
    """The total and its parts, as upstream's ``verbose`` info (weights included)."""

    total: float
    r_type: float
    r_att: float
    r_option: float | None
    r_price: bool
    query_match: bool
    category_match: bool
    title_score: float
    details: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """Everything as plain JSON for ``Verdict.details``."""
        out: dict[str, Any] = {
            "reward": self.total,
            "r_type": self.r_type,
            "r_att": self.r_att,
            "r_price": self.r_price,
            "query_match": self.query_match,
            "category_match": self.category_match,
            "title_score": self.title_score,
        }
        if self.r_option is not None:
            out["r_option"] = self.r_option
        out.update(self.details)
        return out


def type_reward(purchase: Purchase, goal: Goal) -> tuple[float, bool, bool, float]:
    """``(r_type, query_match, category_match, title_score)``.

    1.0 when query, category (two shared path parts) or title nouns (more than 20 % of the
    goal's) agree, else 0.5; 0.1 when under 10 % of the goal's nouns are shared; 0.0 when none.
    """
    query_match = purchase.query == goal.query
    bought = {part.strip() for part in purchase.product_category.split(CATEGORY_SEP)}
    wanted = {part.strip() for part in goal.product_category.split(CATEGORY_SEP)}
    category_match = len(bought & wanted) >= 2
    desired = list(goal.name_nouns)  # a list: repeated nouns count in the denominator
    if not desired:
        title_score = 0.2
    else:
        title_score = len(set(purchase.name_nouns) & set(desired)) / len(desired)
    r_type = 1.0
    if not (query_match or category_match or title_score > 0.2):
        r_type = 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return r_type, query_match, category_match, title_score


def _in_text(value: str, purchase: Purchase) -> bool:
    return (
        value in purchase.title.lower()
        or value in " ".join(purchase.bullets).lower()
        or value in purchase.description.lower()
    )


def attribute_matches(purchase: Purchase, goal: Goal) -> int:
    """How many goal attributes the product has (fuzzy attribute match, or in its text)."""
    matches = 0
    for wanted in goal.attributes:
        if any(token_set_ratio(have, wanted) > FUZZY_THRESHOLD for have in purchase.attributes):
            matches += 1
        elif _in_text(wanted, purchase):
            matches += 1
    return matches


def option_matches(bought: Sequence[str], goal_options: Sequence[str]) -> int:
    """How many goal options some bought value matches (``get_option_reward``).

    ``bought`` is the list of chosen values (upstream passes ``list(options.values())``, names
    dropped). Both sides are colour-normalised; the loop is over the goal's options and stops
    at the first bought value scoring above 85, so one bought value may serve two goal
    options, and the count never exceeds ``len(goal_options)``.
    """
    values = [normalize_color(v) for v in bought]
    matches = 0
    for wanted in (normalize_color(o) for o in goal_options):
        if any(token_set_ratio(value, wanted) > FUZZY_THRESHOLD for value in values):
            matches += 1
    return matches


def get_reward(purchase: Purchase, goal: Goal, price: float, chosen: Mapping[str, str]) -> Reward:
    """The reward of buying ``purchase`` at ``price`` with options ``chosen`` for ``goal``."""
    r_type, query_match, category_match, title_score = type_reward(purchase, goal)
    r_price = price <= goal.price_upper if goal.price_upper > 0 else None
    n_attr = attribute_matches(purchase, goal)
    n_opt = option_matches(list(chosen.values()), goal.goal_options)
    denominator = len(goal.attributes) + len(goal.goal_options) + 1
    total = (n_attr + n_opt + bool(r_price)) / denominator * r_type
    return Reward(
        total=total,
        r_type=r_type,
        r_att=n_attr / len(goal.attributes) if goal.attributes else 0.0,
        r_option=n_opt / len(goal.goal_options) if goal.goal_options else None,
        r_price=bool(r_price),
        query_match=query_match,
        category_match=category_match,
        title_score=title_score,
        details={
            "w_att": len(goal.attributes) / denominator,
            "w_option": len(goal.goal_options) / denominator,
            "w_price": 1 / denominator,
        },
    )
