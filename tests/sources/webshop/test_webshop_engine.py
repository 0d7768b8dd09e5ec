"""The local shop: search ranking and paging, every click target, invalid actions as no-ops,
and the environment's tools (step cap, end at Buy Now, per-episode state)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from webshop_helpers import widget, write_data

from trajkit.core.tools import EndEpisode
from trajkit.sources.webshop.catalog import SAMPLE_DIR, load_catalogue
from trajkit.sources.webshop.engine import InvalidAction, LocalShop
from trajkit.sources.webshop.episode import WebShopEnv
from trajkit.sources.webshop.search import SEARCH_RETURN_N


@pytest.fixture
def shop(tmp_path: Path) -> LocalShop:
    products = [widget(i) for i in range(60)]
    products[7] = widget(7, name="Blue Gizmo Deluxe", query="gizmo",
                         full_description="A blue gizmo with a long cable.",
                         small_description=["Gizmo for the desk", "Second bullet never indexed"],
                         customization_options={"color": [{"value": "Blue"}, {"value": "Green"}],
                                                "size": [{"value": "Small"}, {"value": "Large"}]},
                         pricing="$12.00")
    products[8] = widget(8, name="Gizmo stand", small_description=["Holds a gizmo"])
    products[9] = widget(9, name="Plain thing", small_description=["Second bullet"],
                         full_description="Nothing.", customization_options={"style": [{"value": "zebra"}]})
    human = {"B0WIDGET07": [{"instruction": "i want a blue gizmo, size large",
                             "instruction_attributes": ["long cable"],
                             "instruction_options": ["blue", "large"]}]}
    return LocalShop(load_catalogue(write_data(tmp_path, products, {}, human)))


def run(coro):
    return asyncio.run(coro)


def test_search_ranks_by_bm25_over_title_description_first_bullet_and_options(shop) -> None:
    # "gizmo" is in B0WIDGET07's title, description and first bullet, and in 08's title and
    # bullet (08 is shorter, so BM25's length norm puts it level); "blue" only in 07.
    assert set(shop.index.search("gizmo")) == {"B0WIDGET07", "B0WIDGET08"}
    assert shop.index.search("blue gizmo") == ["B0WIDGET07", "B0WIDGET08"]
    assert shop.index.search("zebra") == ["B0WIDGET09"]  # option values are indexed
    assert shop.index.search("never indexed") == []  # only the first bullet is
    assert shop.index.search("blue gizmos") == ["B0WIDGET07", "B0WIDGET08"]  # plural stemmed
    assert len(shop.index.search("widget")) == SEARCH_RETURN_N  # 57 match, 50 returned
    assert shop.index.search("qwertyuiop") == []


def test_paging_and_every_click_target(shop) -> None:
    goal = shop.catalogue.goals[0]
    s = shop.session(goal)
    start = run(s.start())
    assert start.startswith("WebShop [SEP] Instruction: [SEP] i want a blue gizmo")
    assert start.endswith("[SEP] Search")
    page1 = run(s.search("Widget")).text
    assert "Page 1 (Total results: 50) [SEP] Next > [SEP] B0" in page1 and "< Prev" not in page1
    assert page1.count("[SEP] $") == 10
    page2 = run(s.click("next >")).text
    assert "Page 2 (Total results: 50) [SEP] < Prev [SEP] Next >" in page2
    for _ in range(3):
        last = run(s.click("Next >")).text
    # WebShop's results template shows "Next >" on every page, the last one included
    assert "Page 5 (Total results: 50) [SEP] < Prev [SEP] Next > [SEP] B0" in last
    assert run(s.click("< Prev")).text.startswith(page1.split("Page 1")[0])
    assert s.page_no == 4
    run(s.search("blue gizmo"))
    item = run(s.click("b0widget07")).text  # ASINs match case-insensitively
    assert ("Back to Search [SEP] < Prev [SEP] color [SEP] blue [SEP] green [SEP] size [SEP] small "
            "[SEP] large [SEP] Blue Gizmo Deluxe [SEP] Price: $12.0 [SEP] Rating: N.A. [SEP] "
            "Description [SEP] Features [SEP] Reviews [SEP] Buy Now") in item
    assert run(s.click("Blue")).text == item and s.options == {"color": "blue"}
    run(s.click("large"))
    assert run(s.click("Description")).text.endswith("< Prev [SEP] A blue gizmo with a long cable.")
    assert run(s.click("< Prev")).text == item and s.options == {"color": "blue", "size": "large"}
    assert run(s.click("features")).text.endswith("Gizmo for the desk [SEP] Second bullet never indexed")
    assert run(s.click("< prev")).text == item
    assert run(s.click("Reviews")).text.endswith("< Prev [SEP] No reviews found")
    run(s.click("< Prev"))
    results = run(s.click("< Prev")).text  # item -> its results page
    assert "Page 1 (Total results:" in results and s.options == {}
    run(s.click("B0WIDGET07"))
    assert run(s.click("Back to Search")).text == start
    run(s.search("blue gizmo"))
    run(s.click("B0WIDGET07"))
    run(s.click("blue"))
    run(s.click("large"))
    done = run(s.click("Buy Now"))
    # attributes: "long cable" in the description (1 of 1); options blue, large (2 of 2);
    # price 12.0 under the limit; same product -> (1 + 2 + 1) / 4 = 1.0
    assert done.done and done.reward == 1.0 and done.text.endswith("Your score (min 0.0, max 1.0) [SEP] 1.0")


def test_next_is_offered_past_the_last_page_as_upstream(shop) -> None:
    # WebShop's results_page.html renders "Next >" whatever the page and total; clicking it
    # on the last page shows the next (empty) page, with both buttons, and so on.
    s = shop.session(shop.catalogue.goals[0])
    run(s.start())
    page1 = run(s.search("blue gizmo")).text  # 2 results: a single page
    assert "Page 1 (Total results: 2) [SEP] Next > [SEP] B0WIDGET07" in page1
    empty = run(s.click("Next >")).text
    assert empty.endswith("[SEP] Back to Search [SEP] Page 2 (Total results: 2) [SEP] < Prev [SEP] Next >")
    assert s.page.clickables == ("Back to Search", "< Prev", "Next >")
    assert run(s.click("Next >")).text.endswith("Page 3 (Total results: 2) [SEP] < Prev [SEP] Next >")
    run(s.click("< Prev"))
    assert run(s.click("< Prev")).text == page1
    none = run(s.search("qwertyuiop")).text  # no results: page 1 still offers "Next >"
    assert none.endswith("Page 1 (Total results: 0) [SEP] Next >")
    assert run(s.click("next >")).text.endswith("Page 2 (Total results: 0) [SEP] < Prev [SEP] Next >")


def test_invalid_actions_change_nothing_and_say_why(shop) -> None:
    s = shop.session(shop.catalogue.goals[0])
    run(s.start())
    with pytest.raises(InvalidAction, match="nothing to click"):
        run(s.click("Buy Now"))  # nothing is clickable on the search page
    run(s.search("gizmo"))
    before = (s.page, s.kind, s.page_no, s.asin, dict(s.options))
    for bad in ("B0WIDGET59", "Buy Now", "Description", "blue", "< Prev", ""):
        with pytest.raises(InvalidAction) as err:
            run(s.click(bad))
        assert "Nothing changed" in str(err.value) and before[0].text in str(err.value)
        assert (s.page, s.kind, s.page_no, s.asin, dict(s.options)) == before
    with pytest.raises(InvalidAction, match="empty"):
        run(s.search("   "))
    assert (s.page, s.kind) == before[:2]


def test_env_ends_at_buy_now_caps_steps_and_keeps_sessions_apart(shop) -> None:
    goal = shop.catalogue.goals[0]

    async def play() -> None:
        a = WebShopEnv(shop.session(goal), max_steps=3, success_threshold=1.0)
        b = WebShopEnv(shop.session(goal), max_steps=10, success_threshold=0.5)
        search_a, click_a = (t.fn for t in a.tools())
        search_b, click_b = (t.fn for t in b.tools())
        await search_a("gizmo")
        await search_b("blue gizmo")
        await click_b("B0WIDGET07")
        # a is still on its own results page: b's click did not move it
        assert a.session.kind == "results" and b.session.kind == "item"
        with pytest.raises(InvalidAction):
            await click_a("bogus")  # invalid, but a step all the same
        await click_a("B0WIDGET08")  # step 3 of 3
        with pytest.raises(EndEpisode, match="Step limit reached: 3 actions"):
            await click_a("Buy Now")
        assert a.outcome is not None and not a.outcome.success
        assert a.outcome.details["reason"] == "step cap" and a.steps == 3
        with pytest.raises(EndEpisode) as bought:
            await click_b("Buy Now")  # no options chosen: (1 + 0 + 1) / 4 = 0.5
        assert "Your score (min 0.0, max 1.0) [SEP] 0.5" in bought.value.text
        assert b.outcome is not None and b.outcome.success and b.outcome.score == 0.5
        assert b.outcome.details["actions"] == ["search[blue gizmo]", "click[B0WIDGET07]", "click[Buy Now]"]
        assert (await b.judge("B0WIDGET07")).success is False

    run(play())


async def test_a_long_query_is_searched_off_the_event_loop() -> None:
    """A teacher's megabyte query must not stall every other episode of the collector."""
    from trajkit.sources.webshop.engine import OFFLOAD_QUERY_ABOVE, LocalShop

    shop = LocalShop(load_catalogue(SAMPLE_DIR))
    assert not shop.offload  # the sample is small: short queries stay on the loop
    ran = asyncio.Event()
    other = asyncio.get_running_loop().call_soon(ran.set)
    await shop.search("x " * OFFLOAD_QUERY_ABOVE)
    assert ran.is_set()  # the loop ran other work while the search was on a thread
    other.cancel()


def test_recorded_actions_keep_a_bounded_argument(shop) -> None:
    """The verdict lists what the teacher did; a megabyte query must not be stored whole."""
    from trajkit.sources.webshop.episode import ACTION_CHARS

    async def play() -> list[str]:
        env = WebShopEnv(shop.session(shop.catalogue.goals[0]), max_steps=5, success_threshold=1.0)
        search, _ = (t.fn for t in env.tools())
        await search("gizmo " * 50_000)
        await search("gizmo")
        return env.actions

    long, short = run(play())
    assert short == "search[gizmo]"
    assert len(long) < ACTION_CHARS + 40 and long.endswith(f"…(+{300_000 - ACTION_CHARS:,} chars)]")
