"""Exact nearest neighbours over the live chunks' stored vectors, for stores small enough to search in full.

Chroma's HNSW graph is approximate, and the way a knowledge base grows (a small document first, then many
unrelated ones, each added on its own) builds graphs in which a small document's chunks are poorly reachable:
at 10k chunks some career questions got none of their true 20 nearest neighbours even with the search as wide
as 3,000 (benchmarks/RESULTS.md, section 10). Below a size where a full scan costs about what a graph search
does, :class:`ExactVectors` scans every live vector instead: the true nearest neighbours, the same in every
process.

It keeps the live vectors in memory (384 floats each: ~1.5 KB a chunk, ~150 MB at 100k) and follows the manifest
by its diff: after a write only the new chunks' vectors are read, and a document whose record changed (re-titled,
re-embedded) has its chunks' vectors read again. They are read from the data dir's own copy (``stored``: the file
the lexical index keeps them in, see :mod:`advisor.retrieval.lexical_index`), which a process reads in ~1 s
at 100k chunks; what that copy can't give (another process is busy with it, or it lacks a chunk) is fetched from
Chroma (~12 s for 100k). It deliberately persists nothing itself: the file is the lexical index's to keep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.kb.manifest import DocumentRecord, Manifest

# Live chunks up to which KnowledgeBase.query scans every vector instead of asking Chroma's graph. The graph
# loses recall as a store grows (0.971 at 100k, RESULTS.md section 10); a scan costs ~1.5 KB of memory a chunk and
# time in proportion (100k: ~150 MB, 17 ms a question at load ~3.5, 36 ms at load ~5; its rows read from the data dir
# in ~1 s), so at this size it holds ~300 MB and takes about twice that: past it, memory rather than recall decides.
EXACT_BELOW = 200_000


@dataclass(frozen=True)
class _Snapshot:
    key: tuple[str, int]  # (collection, manifest generation) it was built for
    records: dict[str, tuple[Any, ...]]  # what each document's vectors depend on, as the manifest listed it
    spans: dict[str, tuple[int, int]]  # rows of each document held whole (a document's rows are contiguous)
    ids: list[str]
    matrix: np.ndarray  # unit rows, one per id
    rows: dict[str, int]  # id -> its row


Rows = tuple[list[str], np.ndarray]  # chunk IDs, one vector each


class ExactVectors:
    """Every live chunk's vector in memory, searched in full. ``fetch`` returns the stored vectors of the given chunk
    IDs that exist, as (their IDs, one row each), e.g. :meth:`advisor.kb.collection.ChunkCollection.vector_rows`;
    ``stored``, when given, is asked first and returns the same from a local copy, or None when it can't
    (e.g. :meth:`advisor.retrieval.lexical_index.LexicalIndex.vector_rows`)."""

    def __init__(
        self,
        fetch: Callable[[list[str]], Rows],
        dimension: int,
        stored: Callable[[list[str]], Rows | None] | None = None,
    ) -> None:
        self._fetch = fetch
        self._stored = stored
        self._dimension = dimension
        self._lock = threading.Lock()
        self._snapshot = _Snapshot(("", -1), {}, {}, [], np.zeros((0, dimension), dtype=np.float32), {})

    def nearest(self, manifest: Manifest, vector: Any, k: int) -> list[tuple[str, float]]:
        """The ``k`` live chunks nearest to ``vector`` as (chunk id, cosine similarity), best first; equal
        similarities by chunk ID."""
        snap = self._follow(manifest)
        if not snap.ids or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        sims = snap.matrix @ query
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        pairs = [(snap.ids[i], float(sims[i])) for i in top.tolist()]
        return sorted(pairs, key=lambda p: (-p[1], p[0]))

    def similarities(self, manifest: Manifest, vector: Any, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of ``vector`` to each of the chunks ``ids`` the scan holds."""
        snap = self._follow(manifest)
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        rows = [(cid, snap.rows[cid]) for cid in ids if cid in snap.rows]
        sims = snap.matrix[[i for _, i in rows]] @ query if rows else np.zeros(0, dtype=np.float32)
        return {cid: float(sim) for (cid, _), sim in zip(rows, sims.tolist(), strict=True)}

    def _follow(self, manifest: Manifest) -> _Snapshot:
        key = (manifest.collection, manifest.generation)
        snap = self._snapshot
        if snap.key == key:
            return snap
        with self._lock:
            snap = self._snapshot
            if snap.key != key:
                snap = self._apply(snap, key, {d: _depends(r) for d, r in list(manifest.documents.items())})
                self._snapshot = snap
            return snap

    def _apply(self, old: _Snapshot, key: tuple[str, int], documents: dict[str, tuple[Any, ...]]) -> _Snapshot:
        """A snapshot for ``documents``: rows of unchanged documents are kept (copied a document at a time: at 100k
        chunks a row at a time took ~0.3 s after every write), the rest read. A document some of whose chunks
        couldn't be read (gone from Chroma, written back by a repair since) is read again after the next write."""
        same_collection = old.key[0] == key[0]
        blocks: list[np.ndarray] = []
        ids: list[str] = []
        spans: dict[str, tuple[int, int]] = {}
        for doc_id, record in documents.items():
            if same_collection and doc_id in old.spans and old.records.get(doc_id) == record:
                start, end = old.spans[doc_id]
                spans[doc_id] = (len(ids), len(ids) + end - start)
                blocks.append(old.matrix[start:end])
                ids.extend(old.ids[start:end])
        owner = {cid: doc_id for doc_id, rec in documents.items() if doc_id not in spans for cid in rec[-1]}
        new_ids, fresh = self._read(list(owner))
        fresh = np.asarray(fresh, dtype=np.float32).reshape(-1, self._dimension)
        norms = np.sqrt(np.einsum("ij,ij->i", fresh, fresh))[:, None]  # a third of linalg.norm's time at 100k
        fresh = fresh / np.clip(norms, 1e-12, None)
        place = {doc_id: n for n, doc_id in enumerate(documents)}
        order = sorted(range(len(new_ids)), key=lambda i: place[owner[new_ids[i]]])  # a document's rows together
        counts: dict[str, int] = {}
        for i in order:
            counts[owner[new_ids[i]]] = counts.get(owner[new_ids[i]], 0) + 1
        at = len(ids)
        for doc_id, n in counts.items():  # in the order the rows are placed
            if n == len(documents[doc_id][-1]):
                spans[doc_id] = (at, at + n)
            at += n
        ids.extend(new_ids[i] for i in order)
        matrix = np.concatenate([*blocks, fresh[order]]) if blocks or order else fresh
        return _Snapshot(key, documents, spans, ids, matrix, {cid: i for i, cid in enumerate(ids)})

    def _read(self, wanted: list[str]) -> Rows:
        """The vectors of chunks ``wanted``: from the local copy, the rest from Chroma. A chunk neither holds is
        left out: it couldn't be returned anyway."""
        empty = np.zeros((0, self._dimension), dtype=np.float32)
        if not wanted:
            return [], empty
        got = self._stored(wanted) if self._stored is not None else None
        ids, rows = got if got is not None else ([], empty)
        have = set(ids)
        rest = [c for c in wanted if c not in have]
        if not rest:
            return ids, rows
        more_ids, more = self._fetch(rest)
        if not more_ids:
            return ids, rows
        more = np.asarray(more, dtype=np.float32).reshape(-1, self._dimension)
        return [*ids, *more_ids], np.concatenate(
            [np.asarray(rows, dtype=np.float32).reshape(-1, self._dimension), more]
        )


def _depends(record: DocumentRecord) -> tuple[Any, ...]:
    """What a document's stored vectors depend on (a re-titled document is re-embedded under the same chunk
    IDs); its chunk IDs last."""
    return (record.title, record.content_hash, tuple(record.chunk_ids))
