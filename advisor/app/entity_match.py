"""How closely a piece of text (what a person enjoys, a job posting's sentence) matches each entity the
knowledge base compares, judged by what the knowledge base itself says about each one.

An entity's profile is :meth:`Advisor.entity_profile`: its table cells and the sentences about it alone. A
passage that several entities' profiles hold tells them apart no better than chance, so it is left out,
and so is one that says what an entity does *not* do (embeddings don't see the negation).
Entity names are blanked on both sides before comparing, so a text is matched on the work it describes,
not on the titles it names. A phrase matches a passage when their embeddings are close, or fairly close
and the two share a content word (the tokenizer's stems and the vocabulary's synonyms).

"Find my path" and the job-posting check both use it. It deliberately knows no entity: whatever
documents the knowledge base holds, their entities are the ones matched.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.kb.entities import EntityCatalog
from advisor.retrieval.lexical import tokenize

# Cosine (the embedder's normalised vectors) at which a phrase and a passage describe the same work. On the
# bundled knowledge, hobbies unrelated to any role ("gardening", "cooking") stay under 0.27, while a skill a
# role's passages name ("CI/CD pipelines", "training models") meets them at 0.38-0.6.
MIN_SIMILARITY = 0.36
# The lower bar for a pair that also shares a content word ("building products" and "Build systems ...").
MIN_SIMILARITY_SHARED_WORD = 0.3
# Passages searched per entity (Answerer.entity_profile's ``k``): its default of 8 misses a role's
# day-to-day section once a second document competes for the places.
PROFILE_DEPTH = 16
BLANK = "this role"  # what an entity's name becomes before comparing (keeps the sentence grammatical)
# A passage that says what an entity does *not* do ("they never touch the servers") must not match someone
# who enjoys exactly that: embeddings don't see negation, so such passages are left out.
NEGATION = re.compile(r"\b(not|never|no|nor|rarely|rather than|instead of)\b|n't\b", re.I)
PIECE_SPLIT = re.compile(r"[,;\n•]+|\s+\band\b\s+|\s+/\s+")
MIN_PIECE_CHARS = 2


@dataclass(frozen=True)
class Match:
    """One of ``entity``'s passages that a piece of the text matched, and how closely."""

    entity: str
    passage: str
    piece: str
    similarity: float
    shared: tuple[str, ...] = ()  # content words the two have in common


def pieces(text: str) -> list[str]:
    """A person's free text as the phrases it lists: "Python, APIs and SQL" -> ["Python", "APIs", "SQL"]."""
    return [p.strip(" .-*") for p in PIECE_SPLIT.split(text) if len(p.strip(" .-*")) >= MIN_PIECE_CHARS]


def blank_names(text: str, catalog: EntityCatalog) -> str:
    """``text`` with every entity it names replaced by a neutral phrase."""
    for start, end, _ in sorted(catalog.spans(text), reverse=True):
        text = text[:start] + BLANK + text[end:]
    return text


def _terms(text: str, ignore: set[str]) -> set[str]:
    return set(tokenize(text)) - ignore


class EntityProfiles:
    """Every entity's distinguishing passages, embedded once, ready to match text against."""

    def __init__(self, advisor: Any, entities: Sequence[str] | None = None) -> None:
        self.catalog: EntityCatalog = advisor.catalog()
        self.embedder = advisor.embedder
        self.entities = list(entities if entities is not None else self.catalog.names)
        raw = {
            name: list(dict.fromkeys(advisor.answerer.entity_profile(name, k=PROFILE_DEPTH))) for name in self.entities
        }
        held_by = Counter(p for passages in raw.values() for p in passages)
        self.passages = {
            name: [p for p in passages if held_by[p] == 1 and not NEGATION.search(p)] for name, passages in raw.items()
        }
        # The words of entity names (and of what blanks them) match every passage about that entity: they say
        # nothing about the work.
        self._name_terms = {
            t for name in self.catalog.names for n in (name, *self.catalog.aliases[name], BLANK) for t in tokenize(n)
        }
        self._flat = [(name, p) for name, passages in self.passages.items() for p in passages]
        texts = [blank_names(p, self.catalog) for _, p in self._flat]
        self._vectors = self.embedder.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        self._terms = [_terms(t, self._name_terms) for t in texts]

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        """Cosine of each text (rows) with each passage (columns, in ``self._flat`` order)."""
        if not texts or not self._flat:
            return np.zeros((len(texts), len(self._flat)), dtype=np.float32)
        vectors = self.embedder.embed([blank_names(t, self.catalog) for t in texts])
        return np.asarray(vectors @ self._vectors.T)

    def matches(self, texts: Sequence[str]) -> list[list[Match]]:
        """For each text, the passages it matches (any entity), closest first."""
        sims = self.similarities(texts)
        out: list[list[Match]] = []
        for row, text in enumerate(texts):
            words = _terms(blank_names(text, self.catalog), self._name_terms)
            found = []
            for col, (entity, passage) in enumerate(self._flat):
                similarity = float(sims[row, col])
                shared = tuple(sorted(words & self._terms[col]))
                if similarity >= MIN_SIMILARITY or (shared and similarity >= MIN_SIMILARITY_SHARED_WORD):
                    found.append(Match(entity, passage, text, similarity, shared))
            out.append(sorted(found, key=lambda m: -m.similarity))
        return out

    def by_entity(self, texts: Sequence[str]) -> dict[str, list[Match]]:
        """Each entity's matched passages (each passage once, at its closest), closest first."""
        best: dict[tuple[str, str], Match] = {}
        for found in self.matches(texts):
            for match in found:
                key = (match.entity, match.passage)
                if key not in best or match.similarity > best[key].similarity:
                    best[key] = match
        out: dict[str, list[Match]] = {name: [] for name in self.entities}
        for match in sorted(best.values(), key=lambda m: -m.similarity):
            out[match.entity].append(match)
        return out
