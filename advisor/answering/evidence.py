"""Pick the sentences in retrieved chunks that answer a question.

A chunk is split into units: sentences, list items, and table rows rendered as one line each
("Typical mid-level TC: AI Engineer $220K–$400K; ML Engineer ..."). A unit too short to stand alone
("Go AI Engineer.") is joined to the next one. Units that read like instructions to an AI, or carry
URLs or e-mail addresses, are never quoted (indirect prompt injection). Each unit is scored by
embedding similarity to the question plus word overlap; the best few are kept in document order.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from advisor.kb.chunking import split_blocks, split_sentences
from advisor.providers.embeddings import Embedder
from advisor.retrieval.lexical import tokenize
from advisor.retrieval.retriever import Hit

INSTRUCTION_LIKE = re.compile(
    r"\b(ignore (all |any )?(previous|prior|above|earlier|your)|disregard|note to (the )?(ai|assistant|llm|model|chatbot)"
    r"|system prompt|you are now|always (answer|reply|respond|say|include)|(ai|assistant|chatbot|llm)s? (must|should) "
    r"|jailbreak|developer mode|do anything now)\b",
    re.I,
)
LINKISH = re.compile(r"https?://|www\.|@[\w-]+\.[a-z]{2,}|!\[", re.I)
MIN_WORDS = 5
# A unit that leans on the one before it ("ML Engineers can match this") is quoted with it.
ANAPHOR = re.compile(
    r"^(this|that|these|those|it|they|the latter|the former|together|solo)\b|\b(match this|rarely do|do too)\b", re.I
)

CELL_SEP = re.compile(r"(?<!\\)\|")  # a cell boundary; "\|" inside a cell is a literal pipe


# "I'm a data analyst", "As a backend developer": the asker's background, which picks among the
# article's "You're a ..." sections (a question naming two roles is otherwise a coin toss).
BACKGROUND = re.compile(
    r"\b(?:i'?m|i am|as|i work as|i'm working as)\s+(?:an?\s+)?(?P<who>[\w /-]{2,40}?)"
    r"(?=[,.?!;]|\s+(?:and|who|with|i|should|which|what|how|can|do|looking|wanting|trying|thinking)\b|$)",
    re.I,
)
BACKGROUND_SECTION = re.compile(r"\byou'?re an? ", re.I)


@dataclass
class Unit:
    hit_rank: int
    position: int
    text: str
    score: float = 0.0


def _table_units(block: str) -> list[str]:
    rows = [[c.strip() for c in CELL_SEP.split(line.strip().strip("|"))] for line in block.splitlines() if line.strip()]
    rows = [r for r in rows if not all(re.fullmatch(r":?-{2,}:?", c or "--") for c in r)]
    if len(rows) < 2:
        return [" ".join(" ".join(r) for r in rows)]
    header, body = rows[0], rows[1:]
    out = []
    for row in body:
        label, cells = row[0], row[1:]
        parts = [f"{header[i + 1] if i + 1 < len(header) else ''} {cell}".strip() for i, cell in enumerate(cells)]
        out.append(f"{label}: {'; '.join(parts)}.")
    return out


def units_of(text: str) -> list[str]:
    out: list[str] = []
    for block in split_blocks(text):
        if block.lstrip().startswith("|"):
            out.extend(_table_units(block))
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
            out.append(joined)
            pending = ""
        if pending:
            if out and len(pending.split()) < 3:
                out[-1] = f"{out[-1]} {pending}"
            else:
                out.append(pending)
    return [u for u in out if not INSTRUCTION_LIKE.search(u) and not LINKISH.search(u)]


class EvidenceSelector:
    """Scores units against a question. Unit embeddings are cached (chunks repeat across questions)."""

    def __init__(self, embedder: Embedder, cache_size: int = 20_000) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _vectors(self, texts: list[str]) -> np.ndarray:
        # Shared by every session's thread: the cache is only touched under the lock, embedding runs outside it.
        wanted = list(dict.fromkeys(texts))
        with self._lock:
            known = {t: self._cache[t] for t in wanted if t in self._cache}
        missing = [t for t in wanted if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.embed(missing), strict=True))
        with self._lock:
            for t in wanted:
                self._cache[t] = known[t]
                self._cache.move_to_end(t)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def select(self, question: str, query_vector: np.ndarray, hits: list[Hit], max_units: int = 5) -> list[Unit]:
        units = [Unit(rank, pos, text) for rank, hit in enumerate(hits) for pos, text in enumerate(units_of(hit.text))]
        if not units:
            return []
        # The section title carries meaning a bare sentence lacks ("You're a software engineer").
        keyed = [f"{hits[u.hit_rank].section}: {u.text}" for u in units]
        sims = self._vectors(keyed) @ query_vector
        q_terms = set(tokenize(question))
        background = {t for m in BACKGROUND.finditer(question.replace("’", "'")) for t in tokenize(m["who"])}
        mine = {
            rank: bool(background & set(tokenize(hit.section.rsplit(">", 1)[-1])))
            for rank, hit in enumerate(hits)
            if background and BACKGROUND_SECTION.search(hit.section)
        }
        if not any(mine.values()):
            mine = {}  # the asker's background is none of the sections found: leave the scores alone
        for unit, sim, key in zip(units, sims, keyed, strict=True):
            # Words of the unit itself count fully, words only in its section title half: a section named
            # "You're a data scientist" must not lift every sentence in it above the one that answers.
            own = q_terms & set(tokenize(unit.text))
            from_section = (q_terms & set(tokenize(key))) - own
            overlap = (len(own) + 0.5 * len(from_section)) / len(q_terms) if q_terms else 0.0
            unit.score = 0.65 * float(sim) + 0.35 * overlap + 0.04 / (unit.hit_rank + 1)
            if unit.hit_rank in mine:
                unit.score += 0.15 if mine[unit.hit_rank] else -0.1
        ranked = sorted(units, key=lambda u: -u.score)
        best = ranked[0].score
        chosen = [u for u in ranked[:max_units] if u.score >= 0.75 * best]
        index = {(u.hit_rank, u.position): u for u in units}
        # When several quotes come from one passage, it is the answer: quote its opening sentence too,
        # which usually states the passage's point ("AI Engineer has the highest variance ...").
        for rank in {u.hit_rank for u in chosen}:
            opening = index.get((rank, 0))
            if opening is not None and opening not in chosen and sum(u.hit_rank == rank for u in chosen) >= 2:
                chosen.append(opening)
        for unit in list(chosen):
            current = unit
            for _ in range(2):
                before = index.get((current.hit_rank, current.position - 1))
                if before is None or not ANAPHOR.search(current.text):
                    break
                if before not in chosen:
                    chosen.append(before)
                current = before
        return sorted(chosen, key=lambda u: (u.hit_rank, u.position))

    def similarity(self, a: str, b: list[str]) -> np.ndarray:
        vectors = self._vectors([a, *b])
        return vectors[1:] @ vectors[0]
