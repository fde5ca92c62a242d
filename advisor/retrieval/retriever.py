"""Hybrid retrieval: dense (Chroma, cosine) + lexical (BM25), fused by reciprocal rank fusion.

Returns chunks with their fused score, dense similarity and BM25 score, and how long the embedding and
the search took (``Retrieval.timings``, for the answer log). Only chunks the manifest lists as live are
ever returned. Whether the knowledge base has anything on a question is decided by the
best dense similarity against ``relevance_threshold``, or a similarity within 0.1 of it together with a
BM25 score of at least ``lexical_threshold`` (see :meth:`Retriever.search`).
It deliberately has no reranker model: none ships offline that would pay for its latency here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import Embedder
from advisor.retrieval.lexical import BM25Index, tokenize
from advisor.settings import Settings

RRF_K = 60
CANDIDATES = 20


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
    timings: dict[str, float] = field(default_factory=dict)  # seconds: "embed" (the query), "retrieve" (the rest)


class Retriever:
    def __init__(self, kb: KnowledgeBase, embedder: Embedder, settings: Settings) -> None:
        self.kb = kb
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()
        self._generation: tuple[str, int] | None = None
        self._bm25 = BM25Index([], [])
        self._chunks: dict[str, tuple[str, dict[str, Any]]] = {}

    def refresh(self, force: bool = False) -> None:
        """Pick up knowledge-base changes made by this or another process (cheap when nothing changed)."""
        with self._lock:
            self.kb.reload_manifest()
            key = (self.kb.manifest.collection, self.kb.manifest.generation)
            if not force and key == self._generation:
                return
            live = sorted(self.kb.manifest.live_chunk_ids())
            known = {cid: self._chunks[cid] for cid in live if cid in self._chunks}
            missing = [cid for cid in live if cid not in known]
            known.update(self.kb.collection.fetch(missing))
            ids = [cid for cid in live if cid in known]
            self._chunks = known
            self._bm25 = BM25Index(ids, [self._index_text(known[cid]) for cid in ids])
            self._generation = key

    @staticmethod
    def _index_text(entry: tuple[str, dict[str, Any]]) -> str:
        text, meta = entry
        return f"{meta.get('section', '')}\n{text}"

    def knows(self, term: str) -> bool:
        """Whether any live chunk holds ``term`` (a token as :func:`tokenize` makes it)."""
        self.refresh()
        return self._bm25.document_frequency(term) > 0

    @property
    def chunk_count(self) -> int:
        return len(self._chunks)

    def search(self, query: str, k: int | None = None) -> Retrieval:
        k = k or self.settings.top_k
        begun = time.perf_counter()
        self.refresh()
        embed_begun = time.perf_counter()
        vector = self.embedder.embed([query])[0]
        embed_s = time.perf_counter() - embed_begun
        dense = self.kb.query(vector.tolist(), CANDIDATES)
        lexical = self._bm25.top(query, CANDIDATES) if tokenize(query) else []
        fused: dict[str, float] = {}
        for ranking in (dense, lexical):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        dense_map = dict(dense)
        lexical_map = dict(lexical)
        order = sorted(fused, key=lambda cid: -fused[cid])
        hits: list[Hit] = []
        for cid in order:
            entry = self._chunks.get(cid)
            if entry is None:  # live in Chroma's answer but not yet in our cache: fetch it
                entry = self.kb.collection.fetch([cid]).get(cid)
                if entry is None:
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
                    dense_map.get(cid, 0.0),
                    lexical_map.get(cid, 0.0),
                    meta,
                )
            )
            if len(hits) >= k:
                break
        best = max((s for _, s in dense), default=0.0)
        best_lexical = lexical[0][1] if lexical else 0.0
        # In scope when the meaning is close, or when it is fairly close and the words match well
        # ("How big are pay differences between the titles?" is short on meaning, long on terms).
        s = self.settings
        relevant = best >= s.relevance_threshold or (
            best >= s.relevance_threshold - 0.1 and best_lexical >= s.lexical_threshold
        )
        timings = {"embed": embed_s, "retrieve": time.perf_counter() - begun - embed_s}
        return Retrieval(query, hits, best, bool(hits) and relevant, vector, timings)
