"""The HTML shell every report page shares, and tiny helpers for escaped markup.

Pages must open from ``file://`` with no server and no network, so the stylesheet and any
script are inlined from ``trajkit/view/static`` into each page; only data files (the lazily
loaded chunks) stay separate. ``esc`` is the one place record text becomes HTML.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.resources import files

from trajkit.core.numbers import percent


def esc(value: object) -> str:
    """HTML-escape ``str(value)``, quotes included (safe in text and attribute values)."""
    return html.escape(str(value), quote=True)


@cache
def static_text(name: str) -> str:
    """A file of ``trajkit/view/static`` (CSS or JS shipped as package data)."""
    return files("trajkit.view").joinpath("static").joinpath(name).read_text(encoding="utf-8")


def page(
    title: str,
    body: str,
    *,
    nav: Sequence[tuple[str, str]] = (),
    scripts: Sequence[str] = (),
    head_extra: str = "",
) -> str:
    """A complete HTML document: inline CSS, ``nav`` links ``(label, href)``, then ``body``.

    ``scripts`` are static JS file names, inlined at the end of the body in order; a
    ``<script>`` element can only be closed by ``</script>``, which our own files never hold.
    """
    links = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for label, href in nav)
    inline = "".join(f"<script>\n{static_text(name)}\n</script>" for name in scripts)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # Nothing may leave the machine: forbid every network fetch, allow inline code and
        # same-directory data chunks (file:// pages count as their own origin).
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{esc(title)}</title><style>\n{static_text('site.css')}\n</style>{head_extra}</head>"
        f'<body><header class="top"><span class="brand">trajkit view</span><nav>{links}</nav>'
        "</header>"
        f"<main>{body}</main>{inline}</body></html>\n"
    )


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Sequence[int] = (),
    cls: str = "",
) -> str:
    """An escaped ``<table>``; columns in ``numeric`` are right-aligned. Cells are escaped,
    except values wrapped in :class:`Markup` (already-built HTML such as links)."""
    nums = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in nums else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = value.html if isinstance(value, Markup) else esc(value)
            cells.append(f'<td class="num">{text}</td>' if i in nums else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Markup:
    """A cell value that is already HTML (built by this package from escaped parts)."""

    __slots__ = ("html",)

    def __init__(self, html_text: str) -> None:
        self.html = html_text


def link(href: str, label: object) -> Markup:
    """An escaped ``<a>`` as a table cell."""
    return Markup(f'<a href="{esc(href)}">{esc(label)}</a>')


def pct(n: int, d: int) -> str:
    return percent(n, d, decimals=1, empty="–")
