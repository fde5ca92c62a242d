"""A chunk's units: its sentences, list items, and table rows rendered as one line each
("<row label>: <column> <cell>; <column> <cell>.", the row's cells kept apart in :class:`Row`).

A unit too short to stand alone is joined to the next one. Units that read like instructions to an AI, or carry
URLs or e-mail addresses, are left out (indirect prompt injection): they are never quoted, and never lift a
chunk's rank. Shared by the retriever (a chunk scored by its best unit) and the answering side (units quoted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from advisor.kb.chunking import split_blocks, split_sentences

INSTRUCTION_LIKE = re.compile(
    r"\b(ignore (all |any )?(previous|prior|above|earlier|your)|disregard|note to (the )?(ai|assistant|llm|model|chatbot)"
    r"|system prompt|you are now|always (answer|reply|respond|say|include)|(ai|assistant|chatbot|llm)s? (must|should) "
    r"|jailbreak|developer mode|do anything now)\b",
    re.I,
)
LINKISH = re.compile(r"https?://|www\.|@[\w-]+\.[a-z]{2,}|!\[", re.I)
MIN_WORDS = 5
CELL_SEP = re.compile(r"(?<!\\)\|")  # a cell boundary; "\|" inside a cell is a literal pipe


@dataclass(frozen=True)
class Row:
    """A table row as a unit: its label (first cell) and its (column header, cell) pairs."""

    label: str
    cells: tuple[tuple[str, str], ...]


def _table_rows(block: str) -> list[tuple[str, Row | None]]:
    rows = [[c.strip() for c in CELL_SEP.split(line.strip().strip("|"))] for line in block.splitlines() if line.strip()]
    rows = [r for r in rows if not all(re.fullmatch(r":?-{2,}:?", c or "--") for c in r)]
    if len(rows) < 2:
        return [(" ".join(" ".join(r) for r in rows), None)]
    header, body = rows[0], rows[1:]
    out: list[tuple[str, Row | None]] = []
    for row in body:
        label, cells = row[0], row[1:]
        pairs = tuple((header[i + 1] if i + 1 < len(header) else "", cell) for i, cell in enumerate(cells))
        parts = [f"{head} {cell}".strip() for head, cell in pairs]
        out.append((f"{label}: {'; '.join(parts)}.", Row(label, pairs)))
    return out


def unit_parts(text: str) -> list[tuple[str, Row | None]]:
    """The units of a chunk's text, each with its table row when it is one."""
    out: list[tuple[str, Row | None]] = []
    for block in split_blocks(text):
        if block.lstrip().startswith("|"):
            out.extend(_table_rows(block))
            continue
        pending = ""
        for sentence in split_sentences(block):
            sentence = re.sub(r"^[-*•]\s+", "", sentence).strip()
            if re.match(r"^#{1,6}\s", sentence):
                continue
            joined = f"{pending} {sentence}".strip()
            if len(joined.split()) < MIN_WORDS:
                pending = joined
                continue
            out.append((joined, None))
            pending = ""
        if pending:
            if out and len(pending.split()) < 3 and out[-1][1] is None:
                out[-1] = (f"{out[-1][0]} {pending}", None)
            else:
                out.append((pending, None))
    return [(u, row) for u, row in out if not INSTRUCTION_LIKE.search(u) and not LINKISH.search(u)]
