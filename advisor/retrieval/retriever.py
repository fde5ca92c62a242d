"""Hybrid retrieval: dense (Chroma, cosine) + lexical (BM25), fused by meaning first (see :func:`fuse`); then a
document's own chunks among the first few reordered by their best sentence and by the words that set them apart
within that document (see ``RERANK_DEPTH``).

Returns chunks with their fused score, dense similarity and BM25 score, and how long the embedding and
the search took (``Retrieval.timings``, for the answer log). Only chunks the manifest lists as live are
ever returned. Whether the knowledge base has anything on a question is decided by the
best dense similarity against ``relevance_threshold``, or a similarity within 0.1 of it together with a
BM25 score of at least ``lexical_threshold`` (see :meth:`Retriever.search`).
The lexical side is the persisted index (:mod:`advisor.retrieval.lexical_index`), which follows the manifest
by its diff; hit texts come from Chroma for the top hits only (a small cache keeps recent ones), so opening a
store reads no chunk text. It deliberately has no reranker model: none ships offline that would pay for its
latency here; nor does the reordering ever move one document ahead of another.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import CachedEmbedder, Embedder
from advisor.retrieval.lexical_index import LexicalIndex
from advisor.retrieval.units import unit_parts
from advisor.settings import Settings

RRF_K = 60  # the former rank-only fusion (reciprocal rank fusion); benchmarks reproduce it with this constant
CANDIDATES = 20
# Fusion: a candidate's cosine similarity to the question, plus this much times its BM25 score relative to the
# question's best BM25 score. Rank-only RRF scored a chunk that merely shares rare words with the question (a
# pydoc page on "tasks" or "titles") like one that means the same; weighting by meaning keeps unrelated
# documents from pushing relevant ones out (benchmarks/RESULTS.md, section 10).
LEXICAL_WEIGHT = 0.2
TEXT_CACHE = 256  # hit texts kept in memory (about 1 KB each): the top hits of the last few dozen questions
# Within a document, the fused order is corrected (benchmarks/RESULTS.md, section 10). A summary section that names
# everything a document compares, many times (rare words in the store, common in that document), is close to a
# question about one of them as a whole and outscores on BM25 the row or sentence that answers, which is closer on its
# own. So the first RERANK_DEPTH candidates are scored again: UNIT_WEIGHT x the similarity of their best unit
# (sentence, list item, table row, read as "section: unit", as the answering side reads it) plus the rest x the
# chunk's, plus WITHIN_DOCUMENT_WEIGHT x a BM25 in which a word the rest of the chunk's document repeats counts for
# being there, not for how often (LexicalIndex.within_documents), relative to the best of them. The new scores only
# reorder each document's chunks among the places the fusion gave that document: which document comes first stays
# the fusion's call (letting them move documents put another article's section first in the eval suites).
RERANK_DEPTH = 5  # their units are embedded (a few each): as many as an answer's hits (top_k), which embeds them too
UNIT_WEIGHT = 0.45
WITHIN_DOCUMENT_WEIGHT = 0.3
UNIT_CACHE = 20_000  # unit vectors kept in memory (1.5 KB each); the answering side's evidence selector shares them


def fuse(similarity: dict[str, float], lexical: dict[str, float]) -> list[tuple[str, float]]:
    """Candidates by fused score, best first (ties by chunk ID): ``similarity`` (every candidate's cosine
    similarity to the question) plus ``LEXICAL_WEIGHT`` x its BM25 score over the best one in ``lexical``."""
    top = max(lexical.values(), default=0.0)
    scores = {
        cid: sim + (LEXICAL_WEIGHT * lexical.get(cid, 0.0) / top if top > 0 else 0.0) for cid, sim in similarity.items()
    }
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


@dataclass
class Hit:
    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float
    dense: float
    lexical: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Retrieval:
    query: str
    hits: list[Hit]
    best_dense: float
    relevant: bool
    query_vector: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "embed" (question, units), "retrieve" (rest)


class Retriever:
    """Hybrid search over one knowledge base. ``lexical``: an index of one's own (default: the knowledge base's);
    ``units``: the cache that embeds candidates' units (default: one of ``UNIT_CACHE`` texts; the answering side
    may share it)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        embedder: Embedder,
        settings: Settings,
        lexical: LexicalIndex | None = None,
        units: CachedEmbedder | None = None,
    ) -> None:
        self.kb = kb
        self.embedder = embedder
        self.units = units if units is not None else CachedEmbedder(embedder, UNIT_CACHE)
        self.settings = settings
        self.lexical = lexical if lexical is not None else kb.lexical
        self._lock = threading.Lock()
        self._generation: tuple[str, int] | None = None
        self._texts: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()  # chunk id -> (text, metadata)
        self._texts_lock = threading.Lock()

    def refresh(self, force: bool = False) -> None:
        """Pick up knowledge-base changes made by this or another process (cheap when nothing changed): the
        lexical index applies the manifest's diff, and cached hit texts are dropped (their metadata may change)."""
        with self._lock:
            self.kb.reload_manifest()
            key = (self.kb.manifest.collection, self.kb.manifest.generation)
            if force or key != self._generation:
                with self._texts_lock:
                    self._texts.clear()
            elif self.lexical.current:
                return
            self.lexical.refresh()
            self._generation = key

    def knows(self, term: str) -> bool:
        """Whether any live chunk holds ``term`` (a token as :func:`tokenize` makes it)."""
        self.refresh()
        return self.lexical.document_frequency(term) > 0

    def term_weights(self, terms: set[str]) -> dict[str, float]:
        """How much each term (a token as :func:`tokenize` makes it) tells about a passage: its inverse document
        frequency over the live chunks (BM25's), so a word most chunks hold weighs little and a rare one much."""
        self.refresh()
        n = len(self.lexical)
        out = {}
        for term in terms:
            df = self.lexical.document_frequency(term)
            out[term] = math.sqrt(math.log(1.0 + (n - df + 0.5) / (df + 0.5)))
        return out

    @property
    def chunk_count(self) -> int:
        """Live chunks, as the manifest lists them."""
        return len(self.kb.live_ids())

    def _hit_texts(self, order: list[str], k: int) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the first ``k`` chunks in ``order`` that Chroma holds: from the cache, else one fetch
        (another only if some are gone from Chroma)."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        at = 0
        while len(found) < k and at < len(order):
            part = order[at : at + k - len(found)]
            at += len(part)
            with self._texts_lock:
                for cid in part:
                    if cid in self._texts:
                        self._texts.move_to_end(cid)
                        found[cid] = self._texts[cid]
            fetched = self.kb.collection.fetch([cid for cid in part if cid not in found])
            found.update(fetched)
            with self._texts_lock:
                self._texts.update(fetched)
                while len(self._texts) > TEXT_CACHE:
                    self._texts.popitem(last=False)
        return found

    def _within_documents(
        self,
        words: str,
        order: list[str],
        similarity: dict[str, float],
        texts: dict[str, tuple[str, dict[str, Any]]],
        vector: np.ndarray,
    ) -> tuple[list[str], float]:
        """``order`` with its first ``RERANK_DEPTH`` candidates (of those with a text) reordered within each document
        (see ``RERANK_DEPTH``), and the seconds spent embedding their units."""
        first = {cid: str(texts[cid][1].get("doc_id", "")) for cid in [c for c in order if c in texts][:RERANK_DEPTH]}
        documents = Counter(first.values())
        # Only a document with several of these chunks has an order of its own to correct.
        doc_of = {cid: doc for cid, doc in first.items() if documents[doc] > 1}
        if not doc_of:
            return order, 0.0
        head = list(doc_of)
        keyed = {
            cid: [f"{texts[cid][1].get('section', '')}: {unit}" for unit, _ in unit_parts(texts[cid][0])]
            for cid in head
        }
        flat = [unit for units in keyed.values() for unit in units]
        begun = time.perf_counter()
        sims = dict(zip(flat, (self.units.embed(flat) @ vector).tolist(), strict=True)) if flat else {}
        embed_s = time.perf_counter() - begun
        lexical = self.lexical.within_documents(words, first)
        top = max(lexical.values(), default=0.0)  # the best of all the first candidates: one scale whatever their mix
        score = {}
        for cid in head:
            best = max((sims[unit] for unit in keyed[cid]), default=similarity[cid])
            bonus = WITHIN_DOCUMENT_WEIGHT * lexical.get(cid, 0.0) / top if top > 0 else 0.0
            score[cid] = (1 - UNIT_WEIGHT) * similarity[cid] + UNIT_WEIGHT * best + bonus
        ranked = sorted(head, key=lambda cid: (-score[cid], cid))
        placed: list[str] = []
        for cid in order:  # each place keeps its document and takes that document's best chunk not placed yet
            placed.append(
                next(c for c in ranked if doc_of[c] == doc_of[cid] and c not in placed) if cid in doc_of else cid
            )
        return placed, embed_s

    def chunks(self, ids: list[str]) -> list[Hit]:
        """The live chunks among ``ids`` as hits (no score), in the order given: passages an answer needs whatever
        a search ranks them (a document's table)."""
        self.refresh()
        live = self.kb.live_ids()
        wanted = [cid for cid in ids if cid in live]
        texts = self._hit_texts(wanted, len(wanted))
        out = []
        for cid in wanted:
            if cid in texts:
                text, meta = texts[cid]
                doc_id, title, section = (str(meta.get(key, "")) for key in ("doc_id", "title", "section"))
                out.append(Hit(cid, doc_id, title, section, text, 0.0, 0.0, 0.0, meta))
        return out

    def search(self, query: str, k: int | None = None, also: str = "") -> Retrieval:
        """The ``k`` best passages for ``query``; ``also``: more words for the word search only (other names of
        what the query names), which leave its meaning alone."""
        k = k or self.settings.top_k
        begun = time.perf_counter()
        self.refresh()
        embed_begun = time.perf_counter()
        vector = self.embedder.embed([query])[0]
        embed_s = time.perf_counter() - embed_begun
        dense = self.kb.query(vector.tolist(), CANDIDATES)
        words = f"{query} {also}" if also else query
        lexical = self.lexical.top(words, CANDIDATES)
        dense_map = dict(dense)
        lexical_map = dict(lexical)
        # Lexical-only candidates get their similarity from their stored vectors: every candidate is weighed
        # by meaning (see LEXICAL_WEIGHT).
        similarity = self.kb.similarities(vector, [cid for cid in lexical_map if cid not in dense_map]) | dense_map
        fused = dict(fuse(similarity, lexical_map))
        texts = self._hit_texts(list(fused), max(k, RERANK_DEPTH))
        order, units_s = self._within_documents(words, list(fused), similarity, texts, vector)
        embed_s += units_s
        hits: list[Hit] = []
        for cid in order:
            entry = texts.get(cid)
            if entry is None:  # gone from Chroma since the manifest listed it
                continue
            text, meta = entry
            hits.append(
                Hit(
                    cid,
                    str(meta.get("doc_id", "")),
                    str(meta.get("title", "")),
                    str(meta.get("section", "")),
                    text,
                    fused[cid],
                    similarity.get(cid, 0.0),
                    lexical_map.get(cid, 0.0),
                    meta,
                )
            )
            if len(hits) >= k:
                break
        best = max((s for _, s in dense), default=0.0)
        best_lexical = lexical[0][1] if lexical else 0.0
        # In scope when the meaning is close, or when it is fairly close and the words match well
        # (a short question of many exact terms is short on meaning, long on terms).
        s = self.settings
        relevant = best >= s.relevance_threshold or (
            best >= s.relevance_threshold - 0.1 and best_lexical >= s.lexical_threshold
        )
        timings = {"embed": embed_s, "retrieve": time.perf_counter() - begun - embed_s}
        return Retrieval(query, hits, best, bool(hits) and relevant, vector, timings)
