"""WebShop's colour normalisation (``web_agent_site/engine/normalize.py``), word for word.

``get_option_reward`` passes every goal option and every bought option value, whatever the
option's name, through ``normalize_color`` before the fuzzy match: a value containing one of
these words is replaced by the first of them (in this order) that it contains. Upstream's own
list is kept as is, because the list decides which values meet: "dark green" and "dark grey"
both become "dark" (a match), "light pink" becomes "light" (no longer "pink"), "midnight blue"
becomes "blue" ("blue" comes first), "standard" becomes "tan", "double chocolate" and
"chocolate chip" both become "chocolate".
"""

from __future__ import annotations

#: ``normalize.COLOR_SET``, in upstream's order (which is alphabetical).
COLOR_SET = (
    "alabaster", "apricot", "aqua", "ash", "asphalt", "azure",
    "banana", "beige", "black", "blue", "blush", "bordeaux", "bronze",
    "brown", "burgundy", "camel", "camo", "caramel", "champagne",
    "charcoal", "cheetah", "chestnut", "chocolate", "christmas", "coffee",
    "cognac", "copper", "coral", "cranberry", "cream", "crystal", "dark",
    "denim", "eggplant", "elephant", "espresso", "fuchsia", "gold", "granite",
    "grape", "graphite", "grass", "gray", "green", "grey", "heather", "indigo",
    "ivory", "ivy", "khaki", "lavender", "lemon", "leopard", "light", "lilac",
    "lime", "magenta", "maroon", "mauve", "merlot", "midnight", "mint", "mocha",
    "multicolor", "mushroom", "mustard", "natural", "navy", "nude", "olive",
    "orange", "peach", "pewter", "pink", "plum", "purple", "rainbow", "red",
    "rose", "royal", "rust", "sand", "sapphire", "seashell", "silver", "skull",
    "slate", "steel", "stone", "stonewash", "sunflower", "tan", "taupe", "teal",
    "tiger", "turquoise", "violet", "walnut", "wheat", "white", "wine", "yellow",
)  # fmt: skip


def normalize_color(value: str) -> str:
    """The first ``COLOR_SET`` word that occurs in ``value`` (a plain, case-sensitive
    substring test, as upstream), else ``value`` unchanged."""
    for color in COLOR_SET:
        if color in value:
            return color
    return value
