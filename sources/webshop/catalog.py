"""Products and goals from WebShop's own data files, read the way its engine reads them.

A data folder holds ``items_shuffle*.json`` (products), ``items_ins_v2*.json`` (attributes per
ASIN) and ``items_human_ins.json`` (human instructions per ASIN); ``reviews.json`` is optional.
Goals are built as WebShop builds human goals and shuffled with its seed (233), so goal ``i``
here is session ``fixed_i`` on a WebShop server loaded with the same files. WebShop draws
prices of ranged products and goal price limits at random on every start; here both come from
a generator seeded by the ASIN, so a run can be repeated (an instruction may also carry its own
``price_upper``, a trajkit extension).

Any malformed file is a one-line ``DataError`` naming the file and the line of the record.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trajkit.core.errors import DataError
from trajkit.core.jsonl import parse_json
from trajkit.sources.webshop.reward import Goal, Purchase
from trajkit.sources.webshop.text import name_nouns

SAMPLE_DIR = Path(__file__).parent / "samples"
PRICE_RANGE = [10.0 * i for i in range(1, 100)]
NO_LIMIT = 1_000_000.0
GOAL_SHUFFLE_SEED = 233


@dataclass
class Product:
    """One product as the pages and the reward see it."""

    asin: str
    title: str
    description: str
    bullets: tuple[str, ...]
    pricing: tuple[float, ...]
    price_tag: str
    price: float
    options: dict[str, list[str]]
    attributes: tuple[str, ...]
    query: str
    category: str
    product_category: str
    name_nouns: tuple[str, ...]
    rating: str = "N.A."
    reviews: list[dict[str, Any]] = field(default_factory=list)

    def purchase(self) -> Purchase:
        return Purchase(
            title=self.title,
            bullets=self.bullets,
            description=self.description,
            attributes=self.attributes,
            query=self.query,
            product_category=self.product_category,
            name_nouns=self.name_nouns,
        )

    def search_text(self) -> str:
        """What the search index sees: title, description, first bullet, options."""
        opts = ", and ".join(f"{k}: {', '.join(v)}" for k, v in self.options.items())
        first = self.bullets[0] if self.bullets else ""
        return " ".join([self.title, self.description, first, opts]).lower()


@dataclass
class Catalogue:
    """All products (in file order), by ASIN, and the shuffled goal list."""

    products: list[Product]
    goals: list[Goal]
    origin: str

    def __post_init__(self) -> None:
        self.by_asin = {p.asin: p for p in self.products}


# --------------------------------------------------------------------------- files


def _locate_lines(text: str) -> Iterator[int]:
    """Line on which each top-level element of a JSON list (or key of an object) starts."""
    depth, line, in_str, escaped, expect = 0, 1, False, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
            continue
        if expect and not ch.isspace():
            expect = False
            if ch not in "]}":
                yield line
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            expect = depth == 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 1:
            expect = True


def read_json(path: Path) -> tuple[Any, list[int]]:
    """Parsed JSON and, for each top-level element (or key), the line it starts on."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    try:
        obj = parse_json(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    lines = list(_locate_lines(text)) if isinstance(obj, (list, dict)) else []
    return obj, lines


def pick_file(folder: Path, stem: str, preferred: tuple[str, ...]) -> Path:
    """The one ``stem*.json`` in ``folder`` (preferring the upstream default names)."""
    for name in preferred:
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob(f"{stem}*.json"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataError(f"{folder}: no {stem}*.json (WebShop data folder expected)")
    names = ", ".join(p.name for p in found)
    raise DataError(f"{folder}: several {stem}*.json ({names}); keep one")


# --------------------------------------------------------------------------- records


def _where(path: Path, lines: list[int], i: int) -> str:
    return f"{path}:{lines[i]}" if i < len(lines) else str(path)


def parse_pricing(raw: Any, where: str) -> tuple[float, ...]:
    """``"$12.99"`` or ``"$10.00 - $20.00"`` (or a list of numbers) as at most two prices."""
    if raw in (None, "", []):
        return ()
    if isinstance(raw, list) and all(isinstance(x, (int, float)) for x in raw):
        return tuple(float(x) for x in raw[:2])
    if not isinstance(raw, str):
        raise DataError(f"{where}: 'pricing' must be a string like \"$12.99\"")
    try:
        values = [float(re.sub(r"[^\d.]", "", part)) for part in raw.split("$")[1:]]
    except ValueError:
        raise DataError(f"{where}: 'pricing' {raw!r} is not a price") from None
    return tuple(values[:2])


def _price_tag(pricing: tuple[float, ...]) -> str:
    if not pricing:
        return "$100.0"
    if len(pricing) == 1:
        return f"${pricing[0]}"
    return f"${pricing[0]} to ${pricing[1]}"


def _options(raw: Any, where: str) -> dict[str, list[str]]:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise DataError(f"{where}: 'customization_options' must be an object")
    options: dict[str, list[str]] = {}
    for name, contents in raw.items():
        if contents is None:
            continue
        try:
            values = [str(c["value"]).strip().replace("/", " | ").lower() for c in contents]
        except (TypeError, KeyError):
            raise DataError(
                f'{where}: option {name!r} must be a list of {{"value": ...}}'
            ) from None
        options[name.lower()] = values
    return options


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return tuple(value)
    raise DataError(f"{where}: {key!r} must be a string or a list of strings")


def product_from_record(
    rec: Any, where: str, attributes: dict[str, Any], reviews: dict[str, Any]
) -> Product | None:
    """One ``items_shuffle`` record; ``None`` for the ones WebShop skips (bad ASIN)."""
    if not isinstance(rec, dict):
        raise DataError(f"{where}: expected a product object")
    asin = rec.get("asin")
    if not isinstance(asin, str) or not asin:
        raise DataError(f"{where}: product without an 'asin'")
    if asin == "nan" or len(asin) > 10:
        return None
    title = rec.get("name", rec.get("Title"))
    if not isinstance(title, str):
        raise DataError(f"{where}: product {asin} has no 'name' (or 'Title')")
    for key in ("query", "product_category", "category"):
        if not isinstance(rec.get(key, ""), str):
            raise DataError(f"{where}: product {asin}: {key!r} must be a string")
    pricing = parse_pricing(rec.get("pricing"), where)
    if len(pricing) >= 2:
        price = random.Random(f"price:{asin}").uniform(pricing[0], pricing[1])
    else:
        price = pricing[0] if pricing else 100.0
    nouns = rec.get("name_nouns")
    entry = attributes.get(asin)
    # engine.py: the record's "attributes" whenever the key is there (an empty list stays
    # empty, so no goal attribute can fuzzily meet "DUMMY_ATTR"), else ["DUMMY_ATTR"]
    attrs = entry.get("attributes") if isinstance(entry, dict) else None
    review = reviews.get(asin, {})
    return Product(
        asin=asin,
        title=title,
        description=str(rec.get("full_description", rec.get("Description")) or ""),
        bullets=_str_list(
            rec.get("small_description", rec.get("BulletPoints")), where, "small_description"
        ),
        pricing=pricing,
        price_tag=_price_tag(pricing),
        price=price,
        options=_options(rec.get("customization_options"), where),
        attributes=tuple(attrs) if attrs is not None else ("DUMMY_ATTR",),
        query=str(rec.get("query", "")).lower().strip(),
        category=str(rec.get("category", "")),
        product_category=str(rec.get("product_category", "")),
        name_nouns=_str_list(nouns, where, "name_nouns")
        if nouns is not None
        else name_nouns(title),
        rating=str(review.get("average_rating", "N.A.")),
        reviews=list(review.get("reviews", [])),
    )


def price_limit(asin: str, index: int, price: float) -> float:
    """WebShop's limit: the larger of two of the next four multiples of 10 above ``price``."""
    above = [p for p in PRICE_RANGE if p > price][:4]
    if len(above) < 2:
        return NO_LIMIT
    return max(random.Random(f"goal:{asin}:{index}").sample(above, 2))


def goals_for(product: Product, instructions: Any, where: str) -> list[Goal]:
    """Human goals for one product, in file order; instructions without attributes skipped."""
    if not isinstance(instructions, list):
        raise DataError(f"{where}: instructions for {product.asin} must be a list")
    goals = []
    for i, ins in enumerate(instructions):
        if not isinstance(ins, dict) or not isinstance(ins.get("instruction"), str):
            raise DataError(f"{where}: instruction {i} of {product.asin} has no 'instruction'")
        attrs = _str_list(ins.get("instruction_attributes"), where, "instruction_attributes")
        if not attrs:
            continue
        raw_opts = ins.get("instruction_options") or []
        opts = list(raw_opts.values()) if isinstance(raw_opts, dict) else raw_opts
        if "price_upper" in ins:
            limit = float(ins["price_upper"])
        else:
            limit = price_limit(product.asin, i, product.price)
        text = ins["instruction"].strip(".")
        if limit < NO_LIMIT:
            text += f", and price lower than {limit:.2f} dollars"
        goals.append(
            Goal(
                asin=product.asin,
                instruction_text=text,
                attributes=attrs,
                goal_options=_str_list(opts, where, "instruction_options"),
                price_upper=limit,
                query=product.query,
                category=product.category,
                product_category=product.product_category,
                name=product.title,
                name_nouns=product.name_nouns,
            )
        )
    return goals


def _object(path: Path) -> tuple[dict[str, Any], list[int]]:
    obj, lines = read_json(path)
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a JSON object keyed by ASIN")
    return obj, lines


def load_catalogue(folder: Path) -> Catalogue:
    """Products and shuffled human goals from a WebShop data folder (see the module doc)."""
    folder = folder.expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: not a directory (expected a WebShop data folder)")
    products_path = pick_file(
        folder, "items_shuffle", ("items_shuffle.json", "items_shuffle_1000.json")
    )
    attrs_path = pick_file(folder, "items_ins_v2", ("items_ins_v2.json", "items_ins_v2_1000.json"))
    human_path = folder / "items_human_ins.json"
    attributes, _ = _object(attrs_path)
    human, human_lines = _object(human_path)
    reviews: dict[str, Any] = {}
    if (folder / "reviews.json").is_file():
        raw, _ = read_json(folder / "reviews.json")
        if not isinstance(raw, list):
            raise DataError(f"{folder / 'reviews.json'}: expected a JSON list")
        reviews = {r["asin"]: r for r in raw if isinstance(r, dict) and "asin" in r}
    records, lines = read_json(products_path)
    if not isinstance(records, list):
        raise DataError(f"{products_path}: expected a JSON list of products")
    human_line = (
        dict(zip(human, human_lines, strict=True)) if len(human_lines) == len(human) else {}
    )
    products: list[Product] = []
    goals: list[Goal] = []
    seen: set[str] = set()
    for i, rec in enumerate(records):
        product = product_from_record(rec, _where(products_path, lines, i), attributes, reviews)
        if product is None or product.asin in seen:
            continue
        seen.add(product.asin)
        products.append(product)
        if product.asin in human:
            line = human_line.get(product.asin)
            where = f"{human_path}:{line}" if line else str(human_path)
            goals.extend(goals_for(product, human[product.asin], where))
    random.Random(GOAL_SHUFFLE_SEED).shuffle(goals)
    return Catalogue(products=products, goals=goals, origin=str(folder))
