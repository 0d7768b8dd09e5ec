"""The ``server`` backend against a loopback WebShop server: same pages and reward as the
local engine for the same actions, tasks read from the server, one-line errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from webshop_server import WebShopServer

from trajkit.core.errors import ConfigError, DataError
from trajkit.sources.base import LoadOptions
from trajkit.sources.webshop import SAMPLE_DIR, WebShopSource, load_catalogue
from trajkit.sources.webshop.engine import InvalidAction, LocalShop
from trajkit.sources.webshop.server import ServerSession, open_client, parse_page

CATALOGUE = load_catalogue(SAMPLE_DIR)
ACTIONS = [
    ("search", "men running shoes"), ("click", "Next >"), ("click", "< Prev"), ("click", "B0TKS00001"),
    ("click", "navy blue"), ("click", "Features"), ("click", "< Prev"), ("click", "Reviews"),
    ("click", "< prev"), ("click", "Description"), ("click", "< Prev"), ("click", "10"),
    ("click", "< Prev"), ("click", "b0tks00002"), ("click", "Back to Search"), ("click", "Search"),
    ("search", "running shoes"), ("click", "B0TKS00001"), ("click", "navy blue"), ("click", "10"),
    ("click", "purple"), ("click", "Buy Now"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[WebShopServer]:
    with WebShopServer(CATALOGUE) as srv:
        yield srv


async def _outcome(session, kind: str, arg: str) -> object:
    try:
        result = await getattr(session, kind)(arg)
    except InvalidAction as exc:
        return ("invalid", str(exc).split(" Clickable on this page")[0])
    return (result.text, result.done, result.reward)


def test_server_pages_and_reward_match_the_local_engine(server: WebShopServer) -> None:
    shop = LocalShop(CATALOGUE)

    async def play() -> list[tuple[object, object]]:
        client = open_client(5)
        try:
            local, remote = shop.session(CATALOGUE.goals[14]), ServerSession(client, server.url, 14)
            pairs = [(await local.start(), await remote.start())]
            assert remote.instruction == CATALOGUE.goals[14].instruction_text
            for kind, arg in ACTIONS:
                pairs.append((await _outcome(local, kind, arg), await _outcome(remote, kind, arg)))
            return pairs
        finally:
            await client.aclose()

    pairs = asyncio.run(play())
    assert all(a == b for a, b in pairs), [p for p in pairs if p[0] != p[1]]
    invalid = [a for a, _ in pairs if isinstance(a, tuple) and a[0] == "invalid"]
    assert len(invalid) == 2  # Search (not a clickable), purple
    # "Next >" on the only page of results (8) shows an empty page 2, as upstream's template
    assert pairs[2][0][0].endswith("Page 2 (Total results: 8) [SEP] < Prev [SEP] Next >")
    assert pairs[-1][1] == ("Thank you for shopping with us! [SEP] Your score (min 0.0, max 1.0) [SEP] 1.0", True, 1.0)


def test_source_reads_tasks_from_the_server(server: WebShopServer) -> None:
    source = WebShopSource.from_options({"backend": "server", "url": server.url, "goals": "3:6"})
    tasks = source.load(LoadOptions())
    local = {t.task_id: t for t in WebShopSource().load(LoadOptions())}
    assert [t.task_id for t in tasks] == ["fixed_3", "fixed_4", "fixed_5"]
    assert [t.prompt for t in tasks] == [local[t.task_id].prompt for t in tasks]
    sampled = WebShopSource.from_options({"backend": "server", "url": server.url, "goals": ":30"})
    assert len(sampled.load(LoadOptions(limit=2))) == 2

    async def episode() -> tuple[str, str]:
        env = await source.open_env(tasks[0])
        other = await source.open_env(tasks[0])
        try:
            page = await env.tools()[0].fn("hdmi cable")
            return page, other.session.sid
        finally:
            await source.aclose()

    page, other_sid = asyncio.run(episode())
    assert "B0TKE00008" in page and "fixed_3" in other_sid


def test_parse_page_skips_hidden_and_script_text() -> None:
    html = (
        "<html><head><title>WebShop</title><style>x{}</style></head><body>"
        '<div id="instruction-text"><h4>Instruction:<br>buy a &amp; b</h4></div>'
        '<div style="display: none"><pre>goal secret</pre></div><h4 hidden>info</h4>'
        '<button class="btn btn-primary">&lt; Prev</button><a class="product-link">B0X</a>'
        '<input type="radio" name="Color" value="red"><label>red</label>'
        "<script>var x = 1;</script></body></html>"
    )
    page = parse_page(html)
    assert page.text == "Instruction: [SEP] buy a & b [SEP] < Prev [SEP] B0X [SEP] red"
    assert page.instruction == "buy a & b"
    assert page.clickables == ["< Prev", "B0X", "red"] and page.radios == {"red": "color"}


def test_server_options_and_errors_are_one_line(tmp_path) -> None:
    with pytest.raises(ConfigError, match="needs url="):
        WebShopSource.from_options({"backend": "server"})
    with pytest.raises(ConfigError, match="only used with backend=server"):
        WebShopSource.from_options({"url": "http://x"})
    with pytest.raises(ConfigError, match="unknown option"):
        WebShopSource.from_options({"colour": "red"})
    with pytest.raises(ConfigError, match=r"success_threshold='high': expected a float"):
        WebShopSource.from_options({"success_threshold": "high"})
    with pytest.raises(ConfigError, match=r"max_steps=0: must be between 1 and 10000"):
        WebShopSource.from_options({"max_steps": "0"})
    with pytest.raises(ConfigError, match=r"max_steps='2\.5': expected a int"):
        WebShopSource.from_options({"max_steps": "2.5"})
    source = WebShopSource.from_options({"backend": "server", "url": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError, match=r"--split test\|eval"):
        source.load(LoadOptions())
    with pytest.raises(DataError, match=r"WebShop server at http://127\.0\.0\.1:9") as err:
        source.load(LoadOptions(split="test", limit=1))
    assert "\n" not in str(err.value)
