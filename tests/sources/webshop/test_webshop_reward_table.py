"""Purchases on the bundled sample catalogue, scored by hand with WebShop's published formulas.

Each row is one purchase: a sample goal (``load_catalogue(SAMPLE_DIR).goals[i]``, sometimes with
its options or price limit changed to exercise one rule), the product bought, the options
clicked (all offered by that product) and, computed by hand from ``web_agent_site/engine/
goal.py`` and ``normalize.py``, the parts of the original reward:

    total = r_type * (n_att + n_opt + [price <= price_upper]) / (len(attrs) + len(opts) + 1)

The derivation of every row is in ``docs/fidelity/webshop.md`` (fuzzy scores are thefuzz
0.19.0's ``token_set_ratio``, match when > 85). The same table, run through WebShop's own
``goal.py`` and ``normalize.py`` with thefuzz 0.19.0, gave the same totals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from trajkit.sources.webshop import SAMPLE_DIR, load_catalogue
from trajkit.sources.webshop.reward import attribute_matches, get_reward, option_matches

CATALOGUE = load_catalogue(SAMPLE_DIR)

# id, goal index, goal changes, ASIN bought, options clicked,
# (r_type, n_att, n_opt, price ok), original total
ROWS: list[tuple[str, int, dict[str, Any], str, dict[str, str], tuple[float, int, int, int], float]] = [
    ("exact", 14, {}, "B0TKS00001", {"color": "navy blue", "size": "10"}, (1.0, 2, 2, 1), 1.0),
    ("goal-without-options", 0, {}, "B0TKF00009", {}, (1.0, 1, 0, 1), 1.0),
    # (a) bought values are compared with the goal's options only, never with the text
    ("wrong-colour-in-description", 4, {}, "B0TKE00006", {"color": "blue"}, (1.0, 3, 0, 1), 0.8),
    ("wrong-size-in-title-fl-oz", 8, {}, "B0TKB00001", {"size": "16 fl oz"}, (1.0, 2, 0, 1), 0.75),
    ("wrong-size-in-title-ft", 15, {}, "B0TKE00004", {"size": "6 ft", "color": "white"},
     (1.0, 2, 1, 1), 0.8),
    ("wrong-length-in-title-hdmi", 3, {}, "B0TKE00008", {"size": "10 ft"}, (1.0, 2, 0, 1), 0.75),
    ("extra-option-adds-nothing", 24, {"goal_options": ("double chocolate",)}, "B0TKF00001",
     {"flavor name": "double chocolate", "size": "pack of 4"}, (1.0, 2, 1, 1), 1.0),
    # (b) sizes are fuzzy
    ("x-large-for-large", 22, {}, "B0TKS00005", {"color": "heather grey", "size": "x-large"},
     (1.0, 3, 2, 1), 1.0),
    ("large-for-x-large", 12, {}, "B0TKS00007", {"color": "blue plaid", "size": "large"},
     (1.0, 2, 2, 1), 1.0),
    ("large-for-medium", 5, {}, "B0TKS00006", {"color": "navy", "size": "large"}, (1.0, 2, 1, 1), 0.8),
    ("40-count-for-80-count", 1, {}, "B0TKF00006", {"size": "40 count"}, (1.0, 2, 1, 1), 1.0),
    ("pack-of-4-for-pack-of-8", 24, {}, "B0TKF00001",
     {"flavor name": "double chocolate", "size": "pack of 4"}, (1.0, 2, 2, 1), 1.0),
    ("chocolate-chip-for-double-chocolate", 24, {}, "B0TKF00001",
     {"flavor name": "chocolate chip", "size": "pack of 8"}, (1.0, 2, 2, 1), 1.0),
    ("shoe-size-10-for-11", 23, {}, "B0TKS00002", {"color": "olive", "size": "10"}, (1.0, 2, 1, 1), 0.8),
    # (c) upstream's colour words
    ("dark-brown", 19, {}, "B0TKB00005", {"color": "dark brown"}, (1.0, 2, 1, 1), 1.0),
    ("blonde-for-dark-blonde", 19, {"goal_options": ("dark blonde",)}, "B0TKB00005",
     {"color": "blonde"}, (1.0, 2, 0, 1), 0.75),
    ("pink-for-light-pink", 25, {"goal_options": ("light pink", "7")}, "B0TKS00004",
     {"color": "pink", "size": "7"}, (1.0, 2, 1, 1), 0.8),
    ("midnight-blue", 2, {}, "B0TKE00001", {"color": "midnight blue"}, (1.0, 3, 1, 1), 1.0),
    ("black-for-midnight-blue", 2, {}, "B0TKE00001", {"color": "black"}, (1.0, 3, 0, 1), 0.8),
    ("silver-for-midnight-silver", 2, {"goal_options": ("midnight silver",)}, "B0TKE00001",
     {"color": "silver"}, (1.0, 3, 0, 1), 0.8),
    ("blue-for-royal-blue", 4, {"goal_options": ("royal blue",)}, "B0TKE00006", {"color": "blue"},
     (1.0, 3, 1, 1), 1.0),
    ("white-for-natural-white", 28, {"goal_options": ("natural white",)}, "B0TKH00007",
     {"color": "white"}, (1.0, 3, 0, 1), 0.8),
    ("grey-for-steel-grey", 7, {"goal_options": ("steel grey",)}, "B0TKH00001", {"color": "grey"},
     (1.0, 2, 1, 1), 1.0),
    # missing options
    ("no-option-chosen", 14, {}, "B0TKS00001", {}, (1.0, 2, 0, 1), 0.6),
    ("colour-not-chosen", 27, {}, "B0TKS00008", {"size": "small"}, (1.0, 2, 1, 1), 0.8),
    # type, price, attributes
    ("same-query-wrong-product", 9, {}, "B0TKB00007", {}, (1.0, 0, 0, 1), 0.25),
    ("wrong-type-no-shared-noun", 4, {}, "B0TKE00002", {"color": "black"}, (0.0, 2, 0, 1), 0.0),
    ("wrong-type-one-noun-in-seven", 7, {}, "B0TKS00001", {"color": "grey", "size": "9"},
     (0.5, 0, 1, 1), 0.25),
    ("same-category-other-query", 14, {}, "B0TKS00010", {"color": "black", "size": "10"},
     (1.0, 0, 1, 1), 0.4),
    ("over-budget", 7, {}, "B0TKH00003", {"color": "white"}, (1.0, 1, 0, 0), 0.25),
    ("over-budget-exact-product", 14, {"price_upper": 40.0}, "B0TKS00001",
     {"color": "navy blue", "size": "10"}, (1.0, 2, 2, 0), 0.8),
    ("partial-attributes", 16, {}, "B0TKB00002", {}, (1.0, 1, 0, 1), 0.4),
    ("partial-attributes-fuzzy-miss", 20, {}, "B0TKB00004", {}, (1.0, 1, 0, 1), 0.4),
    ("fuzzy-attribute-slip-on", 14, {}, "B0TKS00003", {"color": "black", "size": "10"},
     (1.0, 1, 1, 1), 0.6),
]


def test_table_is_large_and_its_purchases_are_possible() -> None:
    assert len(ROWS) >= 30 and len({r[0] for r in ROWS}) == len(ROWS)
    for _, _, _, asin, options, _, _ in ROWS:
        offered = CATALOGUE.by_asin[asin].options
        assert all(value in offered[name] for name, value in options.items()), (asin, options)


@pytest.mark.parametrize(("row", "gi", "changes", "asin", "options", "parts", "total"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_trajkit_reward_equals_the_hand_computed_original(
    row: str, gi: int, changes: dict[str, Any], asin: str, options: dict[str, str],
    parts: tuple[float, int, int, int], total: float,
) -> None:
    goal = dataclasses.replace(CATALOGUE.goals[gi], **changes)
    product = CATALOGUE.by_asin[asin]
    r_type, n_att, n_opt, price_ok = parts
    denominator = len(goal.attributes) + len(goal.goal_options) + 1
    assert r_type * (n_att + n_opt + price_ok) / denominator == pytest.approx(total, abs=1e-12)
    reward = get_reward(product.purchase(), goal, product.price, options)
    assert reward.total == pytest.approx(total, abs=1e-9)
    assert reward.r_type == r_type and reward.r_price == bool(price_ok)
    assert attribute_matches(product.purchase(), goal) == n_att
    assert option_matches(list(options.values()), goal.goal_options) == n_opt
