"""HTML to Markdown for the loader: headings h1–h6, paragraphs, lists, code blocks and pipe tables that keep
their header row (so a table row chunks with its header, as in a Markdown document).

Links keep only their words and images nothing; scripts, styles, comments and the ``<head>`` are dropped.
It deliberately fetches nothing the page refers to.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from advisor.errors import DocumentError

# Elements whose content is never text a reader sees on the page (the <title> is read apart, as the title).
_HTML_SKIP = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object", "title"}
_HEADINGS = [f"h{n}" for n in range(1, 7)]
# The only elements turned into Markdown. Every other element keeps just its text: a link becomes its
# words, an image or a video becomes nothing, and no converter a later markdownify adds can bring one back.
_HTML_CONVERT = [*_HEADINGS, "p", "div", "section", "article", "br", "ul", "ol", "li", "pre", "code", "table"]
# Headings, tables or code inside a table mean it lays out the page rather than holding data (a list in a
# cell does not: comparison tables often have one).
_LAYOUT_CONTENT = {*_HEADINGS, "table", "pre"}
# Elements that keep the words on either side apart when a cell is put on one line.
_WORD_BREAKS = {*_HEADINGS, "br", "p", "div", "li", "ul", "ol", "td", "th", "blockquote", "pre"}
# A wider colspan is a layout trick, not a data column; capped so a hostile page can't blow up a row.
MAX_COLSPAN = 50
_TABLE_MARKDOWN = "data-advisor-markdown"  # where a data table's rendering waits for the converter


def _tags(element: Any, names: set[str]) -> list[Any]:
    """Descendant elements with one of ``names``, in document order (bs4's find_all is several times slower)."""
    return [node for node in element.descendants if node.name in names]


def _one_line(element: Any) -> str:
    """An element's text on one line: words kept apart at line breaks and blocks, whitespace collapsed."""
    parts = [
        node if node.name is None else " "
        for node in element.descendants
        if node.name in _WORD_BREAKS or node.name is None
    ]
    return " ".join("".join(parts).split())


def _colspan(cell: Any) -> int:
    span = str(cell.get("colspan", "")).strip()
    return min(int(span), MAX_COLSPAN) if span.isdigit() and int(span) > 0 else 1


def _pipe_table(table: Any) -> str:
    """A data table as a Markdown pipe table: header row, separator row, one line per body row.

    The first row is the header (a table without ``<th>`` cells gets its first row as header), as the
    chunker wants it. A cell is put on one line and its pipes escaped, so no cell can break the table.
    Rowspans are not filled down: a spanning cell appears in its first row only.
    """
    rows = _tags(table, {"tr"})  # all its own: a table holding a table is a layout table, never rendered here
    rows.sort(key=lambda tr: {"thead": 0, "tfoot": 2}.get(tr.parent.name, 1))  # HTML 4 allows <tfoot> first
    grid: list[list[str]] = []
    for tr in rows:
        cells: list[str] = []
        for cell in (c for c in tr.children if c.name in ("td", "th")):
            cells += [_one_line(cell).replace("|", "\\|")] + [""] * (_colspan(cell) - 1)
        if any(cells):
            grid.append(cells)
    captions = _tags(table, {"caption"})
    blocks = [_one_line(captions[0])] if captions and _one_line(captions[0]) else []
    if grid:
        # As wide as the widest row, less columns empty in every row (a colspan reaching past the table's edge).
        width = max(len(cells) for cells in grid)
        while width > 1 and all(len(cells) < width or not cells[width - 1] for cells in grid):
            width -= 1
        lines = ["| " + " | ".join((cells + [""] * width)[:width]) + " |" for cells in grid]
        blocks.append("\n".join([lines[0], "|" + " --- |" * width, *lines[1:]]))
    return "\n\n" + "\n\n".join(blocks) + "\n\n"


def _unwrap_layout_table(table: Any) -> None:
    """Turn a layout table into plain blocks (each cell a div), leaving tables nested in it alone."""
    parts = _tags(table, {"thead", "tbody", "tfoot", "tr", "td", "th", "caption"})
    for element in [e for e in parts if next(p for p in e.parents if p.name == "table") is table]:
        if element.name in ("td", "th", "caption"):
            element.name = "div"
        else:
            element.unwrap()
    table.unwrap()


@functools.lru_cache(maxsize=1)
def _markdown_converter() -> Any:
    try:
        from markdownify import MarkdownConverter
    except ImportError:
        raise DocumentError("reading HTML files needs the 'markdownify' package: pip install markdownify") from None

    class _Converter(MarkdownConverter):
        def convert_table(self, el: Any, text: str, *args: Any, **kwargs: Any) -> str:
            return str(el.get(_TABLE_MARKDOWN, ""))

    return _Converter(
        convert=_HTML_CONVERT,
        heading_style="atx",
        bullets="-",
        escape_asterisks=False,  # the text stays as written, as in every other format
        escape_underscores=False,
        escape_misc=False,
    )


def html_to_markdown(html: str, name: str) -> tuple[str, str]:
    """The page's ``<title>`` and its body as Markdown: ATX headings h1–h6, paragraphs, lists, code blocks
    and pipe tables. Scripts, styles, comments and the ``<head>`` are dropped; links keep only their text
    and images nothing. It does not fetch anything the page refers to."""
    converter = _markdown_converter()
    from bs4 import BeautifulSoup
    from bs4.element import PreformattedString

    soup = BeautifulSoup(html, "html.parser")
    for node in [n for n in soup.descendants if isinstance(n, PreformattedString)]:
        node.extract()  # comments, CDATA, processing instructions, doctype: never page text
    titles = [
        " ".join(t.get_text().split()) for t in _tags(soup, {"title"}) if "svg" not in {p.name for p in t.parents}
    ]
    title = next((t for t in titles if t), "")
    for element in _tags(soup, _HTML_SKIP):
        element.decompose()
    for table in _tags(soup, {"table"}):  # outer tables first: a layout table's cells may hold data tables
        if _tags(table, _LAYOUT_CONTENT):
            _unwrap_layout_table(table)
        else:
            # Rendered here and emptied, so markdownify neither walks the cells again nor sees the page's attributes.
            markdown = _pipe_table(table)
            table.clear()
            table.attrs = {_TABLE_MARKDOWN: markdown}
    try:
        text = converter.convert_soup(soup)
    except RecursionError:
        raise DocumentError(f"{name} is nested too deeply to read as HTML") from None
    text = re.sub(r"[ \t]+\n", "\n", text)
    return title, re.sub(r"\n{3,}", "\n\n", text).strip()
