"""Make answer and document text safe to render as Markdown in a browser.

Answers quote the knowledge base, and uploaded documents are third-party text; either may hold a
Markdown image (``![x](https://tracker/...)``) that a browser would fetch the moment it is shown.
``safe_markdown`` runs :func:`advisor.answering.guard.sanitize` (images, links, HTML, unknown URLs out) and then
breaks anything image-like that is left, and turns remaining bare URLs into inline code so they are
neither fetched nor auto-linked. ``SafeStream`` does the same for a stream of text deltas, holding back
a trailing ``!`` so an image can't be assembled across two deltas.
It deliberately does not escape ordinary Markdown (quotes, lists, bold stay as they are).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from advisor.answering.guard import sanitize

_URL = re.compile(r"(?<!`)\b(?:https?|ftp)://[^\s`<>]+", re.I)
_ANGLE_URL = re.compile(r"<((?:https?|ftp)://[^>\s]+)>", re.I)


def safe_markdown(text: str, sources: str = "") -> str:
    """Text that renders as Markdown without loading or linking anything outside the page."""
    text = sanitize(text, sources)
    # No "![" may survive, whatever produced it: without it Markdown has no image syntax.
    text = text.replace("![", "! [")
    text = _ANGLE_URL.sub(r"\1", text)
    return _URL.sub(lambda m: f"`{m.group(0)}`", text)


class SafeStream:
    """Wrap text deltas so each yielded piece is safe; ``text`` is the full safe text afterwards."""

    def __init__(self, deltas: Iterable[str], sources: str = "") -> None:
        self._deltas = deltas
        self._sources = sources
        self.text = ""

    def __iter__(self) -> Iterator[str]:
        held = ""
        for delta in self._deltas:
            piece = held + delta
            held = ""
            if piece.endswith("!"):
                piece, held = piece[:-1], "!"
            if piece:
                safe = safe_markdown(piece, self._sources)
                self.text += safe
                yield safe
        if held:
            self.text += held
            yield held
