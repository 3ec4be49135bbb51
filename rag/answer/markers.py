"""An answer's markers numbered as they appear: the first passage it cites is [1].

Does: renumber the [n] markers of an answer's text, its citations and its passages
together, so that markers count the passages in the order the text first cites them, and
the passages it cites come first (by marker), the others after them in their order.

Doesn't: decide which passage supports which sentence (``rag.answer.cite``), or number the
context units the model saw (``rag.answer.grounded.renumber`` turns those into passages).

>>> numbering("Ia datang [5]. Ada lima produk [2, 5].")
{5: 1, 2: 2}
"""

from __future__ import annotations

from dataclasses import replace

from rag.answer.cite import MARKER, marker_numbers
from rag.values import Citation, Hit


def numbering(text: str, cited: tuple[int, ...] = ()) -> dict[int, int]:
    """Old marker -> new marker, by first appearance in the text (then ``cited`` markers
    that the text does not show, in their order)."""
    seen = [n for m in MARKER.finditer(text) for n in marker_numbers(m)]
    order = dict.fromkeys([*seen, *cited])
    return {old: new for new, old in enumerate(order, 1)}


def by_appearance(
    text: str, citations: tuple[Citation, ...], hits: list[Hit]
) -> tuple[str, tuple[Citation, ...], list[Hit]]:
    """The text, citations and passages renumbered by appearance (see the module docstring).

    A marker counts ``hits`` (``Hit.rank``); the passages come back ranked anew: the cited
    ones first, in marker order, then the rest in their previous order.
    """
    new = numbering(text, tuple(c.marker for c in citations))
    if all(old == n for old, n in new.items()):
        return text, citations, hits
    text = MARKER.sub(
        lambda m: "[" + ", ".join(str(new.get(n, n)) for n in marker_numbers(m)) + "]", text
    )
    citations = tuple(replace(c, marker=new.get(c.marker, c.marker)) for c in citations)
    cited = sorted((h for h in hits if h.rank in new), key=lambda h: new[h.rank])
    rest = [h for h in hits if h.rank not in new]
    hits = [replace(h, rank=i) for i, h in enumerate([*cited, *rest], 1)]
    return text, citations, hits
