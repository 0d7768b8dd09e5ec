"""WebShop's reward on hand-computed cases (the arithmetic is in the comments).

The formulas are those of WebShop's ``web_agent_site/engine/goal.py`` and ``normalize.py``;
fuzzy scores are thefuzz 0.19.0's ``token_set_ratio`` (the version WebShop pins).
"""

from __future__ import annotations

import pytest

from trajkit.sources.webshop.fuzzy import full_process, token_set_ratio
from trajkit.sources.webshop.normalize import COLOR_SET, normalize_color
from trajkit.sources.webshop.reward import (
    Goal,
    Purchase,
    attribute_matches,
    get_reward,
    option_matches,
    type_reward,
)
from trajkit.sources.webshop.text import name_nouns

SHAMPOO = "Beauty › Hair Care › Shampoo"


def goal(**kw: object) -> Goal:
    base: dict[str, object] = {
        "asin": "B0GOAL0001",
        "instruction_text": "i need a shampoo",
        "attributes": ("tea tree", "sulfate free", "oily hair"),
        "goal_options": ("16 fl oz",),
        "price_upper": 40.0,
        "query": "tea tree shampoo",
        "product_category": SHAMPOO,
        "name_nouns": ("tea", "tree", "shampoo"),
    }
    base.update(kw)
    return Goal(**base)  # type: ignore[arg-type]


def product(**kw: object) -> Purchase:
    base: dict[str, object] = {
        "title": "Verdant Tea Tree Shampoo",
        "bullets": ("Cleanses the scalp",),
        "description": "A clarifying shampoo.",
        "attributes": ("tea tree", "sulfate free", "oily hair"),
        "query": "tea tree shampoo",
        "product_category": SHAMPOO,
        "name_nouns": ("tea", "tree", "shampoo"),
    }
    base.update(kw)
    return Purchase(**base)  # type: ignore[arg-type]


def test_perfect_purchase_scores_one() -> None:
    # 3 attributes + 1 option + price (14.99 <= 40) = 5 of 5; same query -> r_type 1.
    r = get_reward(product(), goal(), 14.99, {"size": "16 fl oz"})
    assert r.total == 1.0 and r.r_type == 1.0 and r.r_att == 1.0 and r.r_option == 1.0
    assert r.info()["w_att"] == pytest.approx(3 / 5) and r.info()["w_price"] == pytest.approx(1 / 5)


def test_partial_purchase_fuzzy_attributes_and_options() -> None:
    g = goal(attributes=("tea tree", "sulfate free", "oily hair", "vegan"), goal_options=("16 fl oz", "mint"))
    p = product(
        attributes=("tea tree oil", "sulphate free"),
        description="A clarifying shampoo for oily hair.",
    )
    # attributes: "tea tree" is a token subset of "tea tree oil" -> 100 > 85 (match);
    #   "sulfate free" vs "sulphate free": sect "free", "free sulfate" vs "free sulphate":
    #   difflib blocks "free sul" + "ate" = 11 of 12 + 13 -> 2*11/25 = 88 > 85 (match);
    #   "oily hair" matches no attribute but is in the description (match);
    #   "vegan" is nowhere (no match)                                  -> n_attr = 3 of 4.
    assert token_set_ratio("tea tree oil", "tea tree") == 100
    assert token_set_ratio("sulphate free", "sulfate free") == 88
    assert attribute_matches(p, g) == 3
    # options, goal by goal: "16 fl oz" vs the bought "8 fl oz": sect "fl oz" (5),
    #   "fl oz 16" (8) vs "fl oz 8" (7): ratios 2*5/12 = 83, 2*5/13 = 77, 2*6/15 = 80 -> 83,
    #   not > 85 (no); "mint" vs "peppermint", which normalises to the colour "mint" (match)
    #                                                                     -> n_opt = 1 of 2.
    chosen = {"size": "8 fl oz", "scent": "peppermint"}
    assert normalize_color("peppermint") == "mint"
    assert option_matches(list(chosen.values()), g.goal_options) == 1
    # total = (3 + 1 + 1 [14.99 <= 40]) / (4 + 2 + 1) = 5/7, times r_type 1 (same query).
    r = get_reward(p, g, 14.99, chosen)
    assert r.total == pytest.approx(5 / 7)
    assert r.r_att == pytest.approx(3 / 4) and r.r_option == pytest.approx(1 / 2) and r.r_price


def test_price_over_the_limit_loses_its_share() -> None:
    # 3 attributes + 1 option + price (45 > 40 -> 0) = 4 of 5.
    r = get_reward(product(), goal(), 45.0, {"size": "16 fl oz"})
    assert r.total == pytest.approx(4 / 5) and not r.r_price


def test_bought_values_found_in_the_product_text_earn_nothing() -> None:
    # Issue 13 item 8 (a): upstream's get_option_reward compares each goal option with the
    # bought values only; the title/bullets/description are read for attributes, never for
    # options. Goal: colour "red"; bought "blue", which the description "contains"
    # ("bluetooth"): "red" vs "blue" = 2*1/7 = 29, no match -> (1 + 0 + 1) / 3.
    g = goal(attributes=("waterproof",), goal_options=("red",))
    p = product(title="Boomcove Speaker", attributes=("waterproof",),
                description="A portable waterproof bluetooth speaker.")
    assert get_reward(p, g, 10.0, {"color": "blue"}).total == pytest.approx(2 / 3)
    # ...nor does a wrong size printed in the title ("16 fl oz" vs "8 fl oz" = 83): 2 / 3.
    g = goal(attributes=("tea tree",), goal_options=("8 fl oz",))
    p = product(title="Verdant Tea Tree Shampoo, 16 Fl Oz")
    assert get_reward(p, g, 10.0, {"size": "16 fl oz"}).total == pytest.approx(2 / 3)


def test_options_are_counted_per_goal_option_so_the_total_stays_within_one() -> None:
    # Upstream loops over the goal options and stops at the first bought value that matches:
    # an extra bought option (here a size the goal does not ask for, printed in the title)
    # adds nothing, so n_opt <= len(goal_options): (1 + 1 + 1) / 3 = 1.0, not 4/3.
    g = goal(attributes=("cotton",), goal_options=("red",))
    p = product(title="Large Red Cotton Tee", attributes=("cotton",))
    r = get_reward(p, g, 10.0, {"color": "red", "size": "large"})
    assert r.total == 1.0 and r.r_option == 1.0
    # ...and one bought value may satisfy two goal options: "navy blue" and "blue" both
    # normalise to "blue", which the bought "blue" matches twice -> n_opt = 2.
    assert option_matches(["blue"], ["navy blue", "blue"]) == 2


@pytest.mark.parametrize(
    ("goal_option", "bought", "score", "matches"),
    [
        # Issue 13 item 8 (b): sizes are fuzzy like every option.
        ("large", "x-large", 100, 1),  # {large} is a subset of {x, large}
        ("x-large", "large", 100, 1),
        ("x-large", "xx-large", 93, 1),  # "large x" vs "large xx": 2*7/15
        ("small", "x-small", 100, 1),
        ("80 count", "40 count", 88, 1),  # "count 40" vs "count 80": 2*7/16 = 87.5 -> 88
        ("pack of 8", "pack of 4", 89, 1),  # "of pack 4" vs "of pack 8": 2*8/18
        ("16 fl oz", "8 fl oz", 83, 0),  # "fl oz" vs "fl oz 8": 2*5/12
        ("10 ft", "6 ft", 67, 0),
        ("11", "10", 50, 0),
        ("medium", "large", 18, 0),
    ],
)
def test_sizes_match_fuzzily_as_upstream(goal_option, bought, score, matches) -> None:
    assert token_set_ratio(bought, goal_option) == score
    assert option_matches([bought], [goal_option]) == matches


@pytest.mark.parametrize(
    ("value", "colour"),
    [
        # Issue 13 item 8 (c): upstream's COLOR_SET, first word in its order found inside.
        ("dark green", "dark"), ("dark brown", "brown"), ("light pink", "light"),
        ("light blue", "blue"), ("midnight silver", "midnight"), ("midnight blue", "blue"),
        ("royal white", "royal"), ("royal blue", "blue"), ("natural white", "natural"),
        ("steel teal", "steel"), ("steel grey", "grey"), ("heather grey", "grey"),
        ("espresso", "espresso"), ("chocolate brownie", "brown"), ("standard", "tan"),
        ("massage chair", "massage chair"),  # no "sage" upstream
        # upstream's own test_normalize.py cases
        ("", ""), ("black forest", "black"), ("violet lavender", "lavender"),
        ("steelivy fuchsia", "fuchsia"), ("123alabaster", "alabaster"), ("webshop", "webshop"),
    ],
)
def test_colour_normalisation_uses_upstreams_colour_list(value, colour) -> None:
    assert normalize_color(value) == colour


def test_colour_list_is_upstreams() -> None:
    assert len(COLOR_SET) == 102 and list(COLOR_SET) == sorted(COLOR_SET)
    assert {"dark", "light", "midnight", "royal", "natural", "steel"} <= set(COLOR_SET)
    assert "sage" not in COLOR_SET
    # so that "dark X" matches "dark Y": both normalise to "dark" (1 of 1 goal options)
    assert option_matches(["dark grey"], ["dark green"]) == 1
    assert option_matches(["pink"], ["light pink"]) == 0  # "light" vs "pink"


def test_fuzzy_text_is_processed_as_thefuzz_0_19_does() -> None:
    # thefuzz 0.19.0 drops code points 128-255 and turns every non-word character (``\W``,
    # so not "_") into a space: "Café Crème—Noir!" -> "caf crme noir".
    assert full_process("Café Crème—Noir!") == "caf crme noir"
    assert full_process("DUMMY_ATTR") == "dummy_attr"
    # "caf" vs "cafe" = 2*3/7 = 86 > 85: a match.
    assert token_set_ratio("Café", "cafe") == 86
    # one token vs two: no shared token, "dummy_attr" vs "attr dummy" -> 50 (not 100)
    assert token_set_ratio("dummy_attr", "dummy attr") == 50
    assert token_set_ratio("", "x") == 0 and token_set_ratio("!!", "x") == 0


def test_fuzzy_ratio_is_difflibs_as_in_the_pinned_thefuzz() -> None:
    # difflib's greedy blocks, as the pinned pure-Python thefuzz computes them:
    # "free fragrance" vs "free frgace" keeps "free fr" + "a" + "ce" = 10 -> 2*10/25 = 80
    # (a Levenshtein-based scorer finds "free fr" + "gace" = 11 -> 88, a match).
    assert token_set_ratio("fragrance free", "frgace free") == 80
    # nor symmetric, so the argument order is upstream's (the product's or bought side first)
    assert token_set_ratio("ih protein", "high protein") == 91
    assert token_set_ratio("high protein", "ih protein") == 82


@pytest.mark.parametrize(
    ("bought", "query", "category", "expected"),
    [
        # 2 of 5 goal nouns shared = 0.4 > 0.2 -> type matches: r_type 1.0
        (("trail", "running", "shoes"), "other", "x › y › z", (1.0, False, False, 0.4)),
        # 1 of 10 = 0.1: not > 0.2, no query/category match -> 0.5 (and 0.1 is not < 0.1)
        (("shoes",), "other", "x › y › z", (0.5, False, False, 0.1)),
        # same, but the category shares two parts ({a, b}) -> match -> 1.0
        (("shoes",), "other", "b › a › q", (1.0, False, True, 0.1)),
        # no shared noun -> 0.0 whatever else matches
        (("hat",), "q", "a › b › c", (0.0, True, True, 0.0)),
    ],
)
def test_type_reward(bought, query, category, expected) -> None:
    nouns = ("running", "shoes", "mesh", "sneakers", "slip")
    if expected[3] == 0.1:  # ten goal nouns so that one shared noun is 0.1
        nouns = ("shoes", *(f"n{i}" for i in range(9)))
    g = goal(name_nouns=nouns, query="q", product_category="a › b › c")
    p = product(name_nouns=bought, query=query, product_category=category)
    assert type_reward(p, g) == pytest.approx(expected)


def test_type_reward_below_a_tenth_and_without_goal_nouns() -> None:
    # 1 of 11 nouns = 0.0909 < 0.1 -> r_type 0.1
    g = goal(name_nouns=("shoes", *(f"n{i}" for i in range(10))), query="q")
    assert type_reward(product(name_nouns=("shoes",), query="other"), g)[0] == 0.1
    # no goal nouns: title_score is 0.2 (not > 0.2), so without query/category match 0.5
    g = goal(name_nouns=(), query="q", product_category="a")
    assert type_reward(product(query="other", product_category="b"), g) == (0.5, False, False, 0.2)
    # and the type reward multiplies the total: (3 + 1 + 1) / 5 * 0.5 = 0.5
    assert get_reward(product(query="o", product_category="b"), g, 1.0, {"size": "16 fl oz"}).total == 0.5


def test_fallback_nouns_drop_function_words_sizes_and_colours() -> None:
    assert name_nouns("Men's Black Running Shoes for Trail, Size 10, Pack of 2") == (
        "running", "shoes", "trail", "size"
    )
