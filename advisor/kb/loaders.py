"""Turn a file (or uploaded bytes) into a clean :class:`SourceDocument`, or refuse it with a clear error.

Formats: Markdown (with optional YAML front matter), plain text, HTML (to Markdown with markdownify:
headings h1–h6, lists, pipe tables with their header row; links keep only their words, images nothing)
and PDF (text layer via pypdf). Checks: size limit, empty, binary, non-UTF-8, a file that is not
what its extension says, hostile names. Invisible Unicode (tag characters, zero-width, bidi controls)
is stripped. It deliberately does no OCR and follows no links.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import DocumentError
from advisor.kb.html import html_to_markdown
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
# Unicode category Cc (C0 and C1 controls, DEL) except tab, newline and carriage return: one regex pass, not a
# category lookup per character (which was most of the time spent loading a large text file).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
    controls = len(_CONTROLS.findall(text))
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
            title, text = html_to_markdown(text, name)
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
