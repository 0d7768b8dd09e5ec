"""Loading WebShop's own data files, and one-line errors naming file and line for bad ones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from webshop_helpers import widget, write_data

from trajkit.core.errors import DataError
from trajkit.sources.base import LoadOptions
from trajkit.sources.webshop import SAMPLE_DIR, WebShopSource, load_catalogue


def test_upstream_formats_are_read_as_the_engine_reads_them(tmp_path: Path) -> None:
    products = [
        widget(1, customization_options={"Color": [{"value": "Black/Red", "image": None}],
                                         "Size": [{"value": " XL ", "image": "u"}]},
               pricing="$20.00$30.00"),
        widget(2, name=None, Title="Widget titled", pricing="", small_description="One bullet",
               query=" Big Widget "),
        widget(3, asin="nan"),  # skipped, as upstream
        widget(1),  # duplicate ASIN: the first one wins
    ]
    attrs = {"B0WIDGET01": {"attributes": ["usb powered"]}}
    human = {"B0WIDGET01": [
        {"instruction": "i want a usb widget.", "instruction_attributes": ["usb powered"],
         "instruction_options": ["black | red"]},
        {"instruction": "no attributes, skipped", "instruction_attributes": [], "instruction_options": []},
    ], "B0WIDGET02": [
        {"instruction": "a widget", "instruction_attributes": ["sturdy"], "instruction_options": {"size": "xl"},
         "price_upper": 55},
    ]}
    del products[1]["name"]
    cat = load_catalogue(write_data(tmp_path, products, attrs, human))
    assert [p.asin for p in cat.products] == ["B0WIDGET01", "B0WIDGET02"]
    one, two = cat.products
    # options: names lower-cased, values stripped, lower-cased, "/" -> " | " (engine.py)
    assert one.options == {"color": ["black | red"], "size": ["xl"]}
    assert one.price_tag == "$20.0 to $30.0" and 20.0 <= one.price <= 30.0
    assert one.price == load_catalogue(tmp_path).products[0].price  # seeded: repeatable
    assert one.attributes == ("usb powered",) and two.attributes == ("DUMMY_ATTR",)
    assert two.title == "Widget titled" and two.bullets == ("One bullet",)
    assert two.price_tag == "$100.0" and two.price == 100.0 and two.query == "big widget"
    # goals: instructions without attributes are skipped; the price limit is one of the
    # next four multiples of ten above the price (never the lowest of them), or given.
    assert len(cat.goals) == 2
    by_asin = {g.asin: g for g in cat.goals}
    g1, g2 = by_asin["B0WIDGET01"], by_asin["B0WIDGET02"]
    assert g1.price_upper in {40.0, 50.0, 60.0} and g1.price_upper > one.price + 10
    assert g1.instruction_text == f"i want a usb widget, and price lower than {g1.price_upper:.2f} dollars"
    assert g2.price_upper == 55 and g2.goal_options == ("xl",)
    assert g1.name == one.title and g1.name_nouns == one.name_nouns == ("widget", "model")


def test_dummy_attribute_only_when_the_record_has_no_attributes_key(tmp_path: Path) -> None:
    # engine.py: ``attributes[asin]['attributes']`` whenever the key is there (an empty list
    # stays empty); ["DUMMY_ATTR"] only for an ASIN without an entry or without the key.
    attrs = {"B0WIDGET01": {"attributes": []}, "B0WIDGET02": {"instruction": "x"}}
    cat = load_catalogue(write_data(tmp_path, [widget(1), widget(2), widget(3)], attrs, {}))
    assert [p.attributes for p in cat.products] == [(), ("DUMMY_ATTR",), ("DUMMY_ATTR",)]


def test_goal_order_is_webshops_seeded_shuffle(tmp_path: Path) -> None:
    products = [widget(i) for i in range(12)]
    human = {p["asin"]: [{"instruction": f"goal {p['asin']}", "instruction_attributes": ["a"],
                          "instruction_options": []}] for p in products}
    cat = load_catalogue(write_data(tmp_path, products, {}, human))
    order = [p["asin"] for p in products]
    random.seed(233)  # what web_agent_site does before shuffling its goal list
    random.shuffle(order)
    assert [g.asin for g in cat.goals] == order


def test_bundled_sample_and_tasks() -> None:
    cat = load_catalogue(SAMPLE_DIR)
    assert len(cat.products) >= 40 and len(cat.goals) >= 25
    assert {p.category for p in cat.products} >= {"beauty", "grocery", "fashion", "furniture", "electronics"}
    tasks = WebShopSource().load(LoadOptions())
    assert [t.task_id for t in tasks] == [f"fixed_{i}" for i in range(len(cat.goals))]
    first = tasks[0]
    assert cat.goals[0].instruction_text in first.prompt and "click(" in first.prompt
    assert first.reference["asin"] == cat.goals[0].asin and first.metadata["goal_index"] == 0
    fashion = WebShopSource().load(LoadOptions(types=["fashion"], limit=3, seed=1))
    assert len(fashion) == 3 and all(t.metadata["category"] == "fashion" for t in fashion)
    assert WebShopSource().load(LoadOptions(split="test")) == tasks  # goals 0-499: all 30
    assert WebShopSource().load(LoadOptions(split="train")) == []  # goals 1500+: none here


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "items_shuffle_1000.json").write_text('[\n {"asin": "B1"},\n {"asin": \n'),
         r"items_shuffle_1000.json:4: not valid JSON"),
        (lambda d: (d / "items_shuffle_1000.json").write_text(
            json.dumps([widget(1), widget(2, pricing=12)], indent=1)),
         r"items_shuffle_1000.json:\d+: 'pricing' must be a string"),
        (lambda d: (d / "items_shuffle_1000.json").write_text(
            json.dumps([widget(1), {"name": "no asin"}], indent=1)),
         r"items_shuffle_1000.json:18: product without an 'asin'"),  # line of its "{"
        (lambda d: (d / "items_human_ins.json").write_text(
            json.dumps({"B0WIDGET01": [{"instruction_attributes": ["a"]}]}, indent=1)),
         r"items_human_ins.json:2: instruction 0 of B0WIDGET01 has no 'instruction'"),
        (lambda d: (d / "items_ins_v2_1000.json").write_text("[]"),
         r"items_ins_v2_1000.json: expected a JSON object keyed by ASIN"),
        (lambda d: (d / "items_human_ins.json").unlink(), r"items_human_ins.json: no such file"),
        (lambda d: (d / "items_shuffle.json").write_text("[]"), None),  # preferred name wins
        (lambda d: (d / "items_ins_v2_1.json").write_text("{}"),
         r"several items_ins_v2\*.json|keep one"),
    ],
)
def test_bad_data_is_one_line_naming_file_and_line(tmp_path: Path, mutate, message) -> None:
    folder = write_data(tmp_path, [widget(1)], {}, {"B0WIDGET01": [
        {"instruction": "w", "instruction_attributes": ["a"], "instruction_options": []}]})
    mutate(folder)
    if message is None:  # items_shuffle.json is preferred over items_shuffle_1000.json
        assert load_catalogue(folder).products == []
        return
    if "several" in message:
        (folder / "items_ins_v2_1000.json").rename(folder / "items_ins_v2_2.json")
    with pytest.raises(DataError, match=message) as err:
        load_catalogue(folder)
    assert "\n" not in str(err.value)


def test_missing_folder_and_hf_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a directory"):
        WebShopSource().load(LoadOptions(data=str(tmp_path / "nope")))
    with pytest.raises(Exception, match="--hf"):
        WebShopSource().load(LoadOptions(hf="x/y"))
