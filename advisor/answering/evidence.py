"""Pick the sentences in retrieved chunks that answer a question.

A chunk is split into units (:mod:`advisor.retrieval.units`: sentences, list items, and table rows rendered as one
line each, keeping the row's cells apart for the composer; never a unit that reads like instructions to an AI).
Each unit is scored by embedding similarity to the question plus word overlap; the best few are kept in document
order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from advisor.providers.embeddings import CachedEmbedder, Embedder
from advisor.retrieval.lexical import tokenize
from advisor.retrieval.retriever import Hit
from advisor.retrieval.units import Row, unit_parts

# A unit that leans on the one before it is quoted with it: it opens with a pronoun or demonstrative
# ("They rarely ..."), uses one as its object ("can match this at top labs"), or ends on an elided verb
# ("Most of them rarely do."). English grammar, no domain words.
ANAPHOR = re.compile(
    r"^(this|that|these|those|it|its|they|their|them|he|she|the latter|the former|together|such|both)\b"
    r"|\b(this|that|these|those)\s*(?=$|[.,;:]|\s(at|in|on|for|too|as well|either)\b)"
    r"|\b(do|does|did|can|could|will|would|is|are|was|were|have|has)(\s+(too|so|not|either))?\s*[.;!]?$"
    r"|\b(rarely|never|seldom|also|often|usually|always|sometimes)\s+(do|does|did|can|will|is|are)\s*[,.;]",
    re.I,
)

SUPERLATIVE = (
    r"(most|least|best|worst|highest|lowest|biggest|largest|smallest|fastest|slowest|youngest|oldest|newest"
    r"|hardest|easiest|heaviest|lightest|busiest|safest|riskiest|rarest|commonest)"
)
# What a question asks for, by its question word, and how a unit that gives it looks: "when ...?" is answered by
# a year or a date, "how far apart ...?" by a sized difference, "how long ...?" by a duration. English grammar.
ANSWER_TYPES = (
    (
        re.compile(r"^\W*when\b|[,;]\s*(and\s+)?when\b|\bwhat year\b|\bsince when\b", re.I),
        re.compile(r"\b(1[89]\d\d|20\d\d)s?\b"),
    ),
    (  # "how far apart", "how big is the gap", "double what ... make": the sentence that sizes a difference
        re.compile(r"\b(gap|apart|differ\w*|double|twice|triple|half as)\b", re.I),
        re.compile(r"\b(within \d+\s?%|differences?|gap|apart|\d+\s?% (more|less|higher|lower))\b", re.I),
    ),
    (
        re.compile(r"\bhow long\b|\bhow many (years|months|weeks)\b", re.I),
        re.compile(
            r"\b(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+(day|week|month|year)s?\b", re.I
        ),
    ),
)
# "Who makes the most?", "which is the youngest?" (a ranking of entities): the sentence that ranks them ("X are the
# best paid"). Not for a claim about one entity ("X earn the most, right?"): any superlative would do there.
RANKING = re.compile(rf"\bthe {SUPERLATIVE}\b", re.I)
ANSWER_TYPE_BONUS = 0.08  # added to a unit that has what the question word asks for
ANSWER_TYPE_KEPT = 2  # units with it handed on whatever their score

MAX_UNITS = 8  # units the selector hands on: the composer picks the opening and at most 3 quotes from them
MIN_RATIO = 0.75  # a unit scoring under this share of the best one is off the point
OFF_FOCUS = 0.05  # score taken from a sentence that is about another entity than the question's
MAX_OWN_SECTION = 4  # sentences of the asker's own background section always handed on


@dataclass
class Unit:
    hit_rank: int
    position: int
    text: str
    score: float = 0.0
    row: Row | None = None
    section: str = ""
    doc_id: str = ""


def units_of(text: str) -> list[str]:
    return [u for u, _ in unit_parts(text)]


class EvidenceSelector:
    """Scores units against a question. Unit embeddings are cached (chunks repeat across questions)."""

    def __init__(self, embedder: Embedder, cache_size: int = 20_000, vectors: CachedEmbedder | None = None) -> None:
        """``vectors``: a unit-vector cache of one's own (the retriever's, which embeds the same units); default: a
        new one of ``cache_size`` texts."""
        self.embedder = embedder
        self._cached = vectors if vectors is not None else CachedEmbedder(embedder, cache_size)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        return self._cached.embed(texts)

    def select(
        self,
        question: str,
        query_vector: np.ndarray,
        hits: list[Hit],
        max_units: int = MAX_UNITS,
        mine: dict[int, bool] | None = None,
        min_ratio: float = MIN_RATIO,
        focus: Callable[[Unit], Unit | None] | None = None,
        weights: Mapping[str, float] | None = None,
        credit: tuple[set[str], Callable[[Unit], bool]] | None = None,
        on_topic: Callable[[Unit], bool] | None = None,
        ranking: bool = False,
    ) -> list[Unit]:
        """The best units for ``question``, in document order: at most ``max_units`` scoring at least
        ``min_ratio`` of the best. ``mine`` marks the hits (by rank) that are the asker's own background's
        section (True) or another background's (False); all of the asker's section comes along. ``focus``
        cuts a table row down to the cells the question is about before it is scored ("what do X earn?"
        scores X's pay cell, not the whole row of every entity's pay). ``weights`` weigh the question's words
        in the overlap (their inverse document frequency: a rare word shared says more than a common one);
        without them every word counts the same. ``credit`` is (words, test): a unit that passes the test has
        those words of the question even where it doesn't spell them out (it is about the entity they name).
        ``on_topic`` tells the units on what the question is about (its entities): "off the point" is measured
        from the best of those, so another document's passage about other entities can't crowd them out.
        ``ranking``: the question ranks entities ("who makes the most?"), and a sentence that ranks answers it."""
        units = [
            Unit(rank, pos, text, row=row, section=hit.section, doc_id=hit.doc_id)
            for rank, hit in enumerate(hits)
            for pos, (text, row) in enumerate(unit_parts(hit.text))
        ]
        focused: set[tuple[int, int]] = set()
        if focus is not None:
            units = [(focus(u) if u.row is not None else None) or u for u in units]
            focused = {(u.hit_rank, u.position) for u in units if focus(u) is not None and u.row is None}
            # A row that is all about the entity (one row per entity) is scored cell by cell: "where do they
            # come from?" is its background cell, not its pay; the best cell stands for the row.
            units = [
                replace(u, text=f"{u.row.label}: {head} {cell}.", row=Row(u.row.label, ((head, cell),)))
                if u.row is not None and len(u.row.cells) > 1 and focus(u) is u
                else u
                for u in units
                for head, cell in (
                    u.row.cells if u.row is not None and len(u.row.cells) > 1 and focus(u) is u else [("", "")]
                )
            ]
        if not units:
            return []
        # The section title carries meaning a bare sentence lacks (which role, which background).
        keyed = [f"{hits[u.hit_rank].section}: {u.text}" for u in units]
        sims = self._vectors(keyed) @ query_vector
        q_terms = set(tokenize(question))
        weight = {t: (weights.get(t, 1.0) if weights else 1.0) for t in q_terms}
        total = sum(weight.values())
        mine = mine if mine and any(mine.values()) else {}  # none of the asker's: leave the scores alone
        wanted = [shape for asks, shape in ANSWER_TYPES if asks.search(question)]
        wanted += [RANKING] if ranking and RANKING.search(question) else []
        for unit, sim, key in zip(units, sims, keyed, strict=True):
            # Words of the unit itself count fully, words only in its section title half: a section named
            # about one background must not lift every sentence in it above the one that answers.
            own = q_terms & set(tokenize(unit.text))
            if credit is not None and credit[1](unit):
                own |= q_terms & credit[0]
            from_section = (q_terms & set(tokenize(key))) - own
            shared = sum(weight[t] for t in own) + 0.5 * sum(weight[t] for t in from_section)
            overlap = shared / total if total else 0.0
            unit.score = 0.65 * float(sim) + 0.35 * overlap + 0.04 / (unit.hit_rank + 1)
            if any(shape.search(unit.text) for shape in wanted):
                unit.score += ANSWER_TYPE_BONUS
            if unit.hit_rank in mine:
                unit.score += 0.15 if mine[unit.hit_rank] else -0.1
            if focus is not None and (unit.hit_rank, unit.position) not in focused and unit.row is None:
                unit.score -= OFF_FOCUS  # prose about another entity answers a question about this one less well
        best_cell: dict[tuple[int, int], Unit] = {}
        for unit in units:
            place = (unit.hit_rank, unit.position)
            if place not in best_cell or unit.score > best_cell[place].score:
                best_cell[place] = unit
        units = [u for u in units if best_cell[(u.hit_rank, u.position)] is u]
        ranked = sorted(units, key=lambda u: -u.score)
        best = next((u.score for u in ranked if on_topic is None or on_topic(u)), ranked[0].score)
        chosen = [u for u in ranked if u.score >= min_ratio * best][:max_units]
        # The best units that have what the question word asks for (a year for "when", a sized gap for "how far
        # apart") come along even when their wording is far from the question's.
        chosen += [
            u
            for u in ranked
            if u not in chosen
            and (on_topic is None or on_topic(u))
            and any(shape.search(u.text) for shape in wanted)
            and q_terms & set(tokenize(u.text))
            and (u.row is None or set(tokenize(u.row.label)) <= q_terms)  # not another row's figure
        ][:ANSWER_TYPE_KEPT]
        chosen += [u for u in units if mine.get(u.hit_rank) and u not in chosen][:MAX_OWN_SECTION]
        index = {(u.hit_rank, u.position): u for u in units}
        # When several quotes come from one passage, it is the answer: quote its opening sentence too,
        # which usually states the passage's point.
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
