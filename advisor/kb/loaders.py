"""Turn a file (or uploaded bytes) into a clean :class:`SourceDocument`, or refuse it with a clear error.

Formats: Markdown (with optional YAML front matter), plain text, HTML (to Markdown with markdownify:
headings h1–h6, lists, pipe tables with their header row; links keep only their words, images nothing)
and PDF (text layer via pypdf). Checks: size limit, empty, binary, non-UTF-8, a file that is not
what its extension says, hostile names. Invisible Unicode (tag characters, zero-width, bidi controls)
is stripped. It deliberately does no OCR and follows no links.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import DocumentError
from advisor.text import strip_invisible

SUPPORTED = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_NAME_CHARS = 200
_MAGIC = {
    b"%PDF-": "pdf",
    b"PK\x03\x04": "zip",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"GIF8": "gif",
    b"\x7fELF": "elf",
    b"MZ": "exe",
    b"\x1f\x8b": "gzip",
}
_BAD_NAME_CHARS = re.compile("[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


@dataclass
class SourceDocument:
    doc_id: str
    title: str
    text: str
    source: str
    content_hash: str
    meta: dict[str, Any] = field(default_factory=dict)


def safe_name(name: str) -> str:
    """Validate a user-supplied file name; return its base name or raise DocumentError."""
    if not name or not name.strip():
        raise DocumentError("the file has no name")
    if len(name) > MAX_NAME_CHARS:
        raise DocumentError(f"the file name is too long ({len(name)} characters; at most {MAX_NAME_CHARS})")
    if _BAD_NAME_CHARS.search(name):
        raise DocumentError("the file name contains control or text-direction characters; rename the file")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise DocumentError(f"the file name {name!r} is not a plain file name (no folders, no leading dot)")
    return name


def doc_id_for(name: str) -> str:
    """A stable, readable ID from a file name: lower-case slug of its stem."""
    stem = Path(name).stem
    slug = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower())
    slug = slug.strip("-")[:80]
    if not slug:
        slug = "doc-" + hashlib.sha256(stem.encode("utf-8")).hexdigest()[:12]
    return slug


def _sniff(data: bytes) -> str | None:
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return kind
    return None


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{name} looks binary (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{name} is not valid UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r\t")
    if controls > max(8, len(text) // 100):
        raise DocumentError(f"{name} looks binary (too many control characters), not text")
    return text


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split ``---`` YAML front matter from a Markdown body. Malformed front matter is an error."""
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|$)", text, re.S)
    if not match:
        return {}, text
    import yaml

    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        raise DocumentError("the document's front matter (between the --- lines) is not valid YAML") from None
    if not isinstance(meta, dict):
        raise DocumentError("the document's front matter must be a mapping of key: value lines")
    return {str(k): v for k, v in meta.items()}, text[match.end() :]


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


def _html_to_text(html: str, name: str) -> tuple[str, str]:
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


def _pdf_to_text(data: bytes, name: str) -> tuple[str, str]:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise DocumentError("reading PDF files needs the 'pypdf' package: pip install pypdf") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = str(info.get("/Title") or "") if info is not None else ""
    # pypdf raises assorted exception types on malformed input (PdfReadError, ValueError, KeyError,
    # AttributeError, RecursionError...); any of them means "not a readable PDF", never a crash.
    except Exception as exc:
        raise DocumentError(
            f"{name} is not a readable PDF (it may be truncated or damaged): {type(exc).__name__}"
        ) from None
    return title.strip(), "\n\n".join(p.strip() for p in pages if p.strip())


def _first_heading(text: str) -> str | None:
    match = re.search(r"^#\s+(.+)$", text, re.M)
    return match.group(1).strip() if match else None


def load_bytes(data: bytes, name: str, max_bytes: int, source: str | None = None) -> SourceDocument:
    """Validate and parse one document given as bytes (an upload, or a file's content)."""
    name = safe_name(name)
    suffix = Path(name).suffix.lower()
    kind = SUPPORTED.get(suffix)
    if kind is None:
        allowed = ", ".join(sorted(set(SUPPORTED)))
        raise DocumentError(f"{name}: unsupported file type {suffix or '(none)'}; use one of {allowed}")
    if len(data) > max_bytes:
        raise DocumentError(f"{name} is too large ({len(data):,} bytes; the limit is {max_bytes:,})")
    if not data.strip():
        raise DocumentError(f"{name} is empty")
    sniffed = _sniff(data)
    if kind == "pdf" and sniffed != "pdf":
        raise DocumentError(f"{name} has a .pdf extension but is not a PDF file")
    if kind != "pdf" and sniffed is not None:
        raise DocumentError(f"{name} has a {suffix} extension but is really a {sniffed} file")

    meta: dict[str, Any] = {}
    title = ""
    if kind == "pdf":
        title, text = _pdf_to_text(data, name)
    else:
        text = _decode(data, name)
        if kind == "markdown":
            meta, text = parse_front_matter(text)
        elif kind == "html":
            title, text = _html_to_text(text, name)
    text = strip_invisible(unicodedata.normalize("NFC", text)).replace("\r\n", "\n").strip()
    if len(re.sub(r"\W", "", text)) < 20:
        raise DocumentError(f"{name} has no usable text (fewer than 20 letters or digits)")
    title = strip_invisible(str(meta.get("title") or title or _first_heading(text) or Path(name).stem)).strip()[:300]
    meta = {k: strip_invisible(str(v))[:500] for k, v in meta.items() if isinstance(v, str | int | float)}
    digest = hashlib.sha256(text.encode("utf-8") + b"\0" + title.encode("utf-8")).hexdigest()
    return SourceDocument(
        doc_id=doc_id_for(name), title=title, text=text, source=source or name, content_hash=digest, meta=meta
    )


def load_path(path: Path, max_bytes: int) -> SourceDocument:
    """Read and parse a file from disk (size checked before reading it whole); the source is its absolute path."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror}") from None
    if size > max_bytes:
        raise DocumentError(f"{path.name} is too large ({size:,} bytes; the limit is {max_bytes:,})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror}") from None
    return load_bytes(data, path.name, max_bytes, source=str(path.resolve()))
