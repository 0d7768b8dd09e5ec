"""WebShop's reward on hand-computed cases (the arithmetic is in the comments)."""

from __future__ import annotations

import pytest

from trajkit.sources.webshop.reward import (
    Goal,
    Purchase,
    attribute_matches,
    get_reward,
    option_matches,
    token_set_ratio,
    type_reward,
)
from trajkit.sources.webshop.text import fuzz_process, name_nouns, normalize_color

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


def test_partial_purchase_fuzzy_text_and_colour_rules() -> None:
    g = goal(attributes=("tea tree", "sulfate free", "oily hair", "vegan"), goal_options=("16 fl oz", "mint"))
    p = product(
        attributes=("tea tree oil", "sulphate free"),
        description="A clarifying shampoo for oily hair.",
    )
    # attributes: "tea tree" is a token subset of "tea tree oil" -> ratio 100 > 85 (match);
    #   "sulfate free" vs "sulphate free": best of the token-set comparisons is
    #   "free sulfate" vs "free sulphate" = 2*12/(12+13) = 96 > 85 (match);
    #   "oily hair" matches no attribute but is in the description (match);
    #   "vegan" is nowhere (no match)                                  -> n_attr = 3 of 4.
    assert token_set_ratio("tea tree oil", "tea tree") == 100
    assert token_set_ratio("sulphate free", "sulfate free") == 88
    assert attribute_matches(p, g) == 3
    # options: size "8 fl oz" is compared exactly with the goal's, and is not in the text
    #   (no match); scent "peppermint" normalises to the colour word "mint", which fuzzily
    #   equals the goal's "mint" (match)                                 -> n_opt = 1 of 2.
    chosen = {"size": "8 fl oz", "scent": "peppermint"}
    assert normalize_color("peppermint") == "mint"
    assert option_matches(p, g.goal_options, chosen) == 1
    # total = (3 + 1 + 1 [14.99 <= 40]) / (4 + 2 + 1) = 5/7, times r_type 1 (same query).
    r = get_reward(p, g, 14.99, chosen)
    assert r.total == pytest.approx(5 / 7)
    assert r.r_att == pytest.approx(3 / 4) and r.r_option == pytest.approx(1 / 2) and r.r_price


def test_price_over_the_limit_loses_its_share() -> None:
    # 3 attributes + 1 option + price (45 > 40 -> 0) = 4 of 5.
    r = get_reward(product(), goal(), 45.0, {"size": "16 fl oz"})
    assert r.total == pytest.approx(4 / 5) and not r.r_price


def test_size_is_exact_but_other_options_are_fuzzy() -> None:
    g = goal(goal_options=("x-large", "navy blue"))
    # "xx-large" is not exactly "x-large" (size: exact) -> no; "navy" vs "navy blue": both
    # normalise to the first colour word inside them ("blue" < "navy"), so "navy" stays
    # "navy" and "navy blue" becomes "blue": token sets {navy} vs {blue}, ratio 2*0/8 -> no...
    assert normalize_color("navy blue") == "blue" and normalize_color("navy") == "navy"
    assert option_matches(product(), g.goal_options, {"size": "xx-large", "color": "navy"}) == 0
    # ...while choosing the listed value itself matches both ways: 2 of 2.
    assert option_matches(product(), g.goal_options, {"size": "x-large", "color": "navy blue"}) == 2


def test_extra_options_found_in_the_title_count_as_upstream() -> None:
    # Upstream quirk: a chosen option whose value occurs in the title counts even when it
    # matches no goal option. Goal: 1 attribute, 1 option (red).
    g = goal(attributes=("cotton",), goal_options=("red",))
    p = product(title="Large Black Cotton Tee", attributes=("cotton",))
    # color "black" != "red", but "black" is in the title -> 1; size "large" is in the
    # title -> 1; so n_opt = 2 for 1 goal option. total = (1 + 2 + 1) / (1 + 1 + 1) = 4/3.
    r = get_reward(p, g, 10.0, {"color": "black", "size": "large"})
    assert r.total == pytest.approx(4 / 3) and r.r_option == pytest.approx(2.0)


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


def test_colour_normalisation_as_upstream_tests_it() -> None:
    cases = {"": "", "black forest": "black", "violet lavender": "lavender",
             "steelivy fuchsia": "fuchsia", "123alabaster": "alabaster", "webshop": "webshop"}
    assert {k: normalize_color(k) for k in cases} == cases


def test_fallback_nouns_drop_function_words_sizes_and_colours() -> None:
    assert name_nouns("Men's Black Running Shoes for Trail, Size 10, Pack of 2") == (
        "running", "shoes", "trail", "size"
    )


def test_fuzzy_text_is_processed_as_thefuzz_does() -> None:
    # thefuzz drops code points 128-255 ("é", "è") before comparing, and turns other
    # non-alphanumerics ("—", "!") into spaces: "Café Crème—Noir!" -> "caf crme noir".
    assert fuzz_process("Café Crème—Noir!") == "caf crme noir"
    # so "café" vs "cafe": "caf" vs "cafe" = 2*3/(3+4) = 0.857 -> 86 > 85: a match.
    assert token_set_ratio("Café", "cafe") == 86
