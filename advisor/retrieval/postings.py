"""BM25 over term-id postings in memory, loaded from stored term counts and changed by diffs, never rebuilt.

A :class:`Postings` is an immutable snapshot. Chunks are *slots* (chunk id, length, live or not); their terms
are in *segments*, each a compressed-sparse-row table: for every term id, the slots that hold it and how often.
The first load makes one big segment; each applied diff adds a small one and marks the slots it removes as
dead. :meth:`Postings.apply` returns a new snapshot, so a query running meanwhile sees the old one whole.
:meth:`Postings.pack` turns a snapshot into a few byte strings that :meth:`Postings.unpack` maps back without
sorting anything, so a stored copy loads in a fraction of the time a build from rows takes.

Scores are Okapi BM25 with the constants of :class:`advisor.retrieval.lexical.BM25Index` over the live slots
only (N, the average length and each term's document frequency count live chunks): the same figures that
class gives for the same chunks, so the relevance threshold keeps its meaning. Small segments are merged
once there are many, and the whole snapshot is compacted once a quarter of its slots are dead.

It deliberately does no I/O and knows no words: terms are ids, assigned by :mod:`advisor.retrieval.lexical_index`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TERMS = np.dtype([("term", "<u4"), ("tf", "<u2")])  # a chunk's terms as stored: (term id, count) pairs
K1, B = 1.5, 0.75  # BM25Index's constants: the relevance threshold (ADVISOR_LEXICAL_THRESHOLD) was tuned on them
MAX_SEGMENTS = 8  # beyond this, the small segments are merged into one (a query visits every segment)
COMPACT_DEAD = 0.25  # share of dead slots that triggers a compaction (they cost memory and scoring time)


@dataclass(frozen=True)
class Row:
    """One chunk as the lexical index stores it."""

    chunk_id: str
    length: int  # tokens
    terms: bytes  # TERMS pairs, one per distinct term


def encode(counts: Iterable[tuple[int, int]]) -> bytes:
    """(term id, count) pairs as stored in a :class:`Row`."""
    return np.array([(t, min(c, 65_535)) for t, c in counts], dtype=TERMS).tobytes()


def decode(terms: bytes) -> dict[int, int]:
    pairs = np.frombuffer(terms, dtype=TERMS)
    return dict(zip(pairs["term"].tolist(), pairs["tf"].tolist(), strict=True))


class Segment:
    """For each term id (sorted ``terms``), the slots holding it and its counts: ``slots[indptr[i]:indptr[i+1]]``."""

    __slots__ = ("indptr", "slots", "terms", "tfs")

    def __init__(self, terms: np.ndarray, indptr: np.ndarray, slots: np.ndarray, tfs: np.ndarray) -> None:
        self.terms, self.indptr, self.slots, self.tfs = terms, indptr, slots, tfs

    @classmethod
    def from_entries(cls, slots: np.ndarray, terms: np.ndarray, tfs: np.ndarray) -> Segment:
        order = np.argsort(terms, kind="stable")
        terms = terms[order]
        starts = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if len(terms) else np.zeros(0, np.int64)
        indptr = np.r_[starts, len(terms)].astype(np.int64)
        return cls(terms[starts], indptr, slots[order].astype(np.int32), tfs[order].astype(np.float32))

    @classmethod
    def from_rows(cls, first_slot: int, rows: Sequence[Row]) -> Segment:
        pairs = np.frombuffer(b"".join(r.terms for r in rows), dtype=TERMS)
        counts = np.fromiter((len(r.terms) // TERMS.itemsize for r in rows), dtype=np.int64, count=len(rows))
        slots = np.repeat(np.arange(first_slot, first_slot + len(rows), dtype=np.int32), counts)
        return cls.from_entries(slots, pairs["term"], pairs["tf"])

    def __len__(self) -> int:
        return len(self.slots)

    def posting(self, term: int) -> tuple[np.ndarray, np.ndarray] | None:
        i = int(np.searchsorted(self.terms, term))
        if i == len(self.terms) or int(self.terms[i]) != term:
            return None
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.slots[start:end], self.tfs[start:end]

    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(slot, term, count) per entry: what :meth:`from_entries` takes."""
        return self.slots, np.repeat(self.terms, np.diff(self.indptr)), self.tfs


def _merge(segments: Sequence[Segment], live: np.ndarray, remap: np.ndarray | None = None) -> Segment:
    """One segment holding the live entries of ``segments`` (slots renumbered through ``remap`` if given)."""
    parts = [seg.entries() for seg in segments]
    slots = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32)
    terms = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.uint32)
    tfs = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.float32)
    keep = live[slots]
    slots, terms, tfs = slots[keep], terms[keep], tfs[keep]
    return Segment.from_entries(remap[slots] if remap is not None else slots, terms, tfs)


def pack_rows(read: Callable[[], Iterable[Sequence[Row]]]) -> dict[str, bytes]:
    """What ``Postings.load(rows).pack()`` gives for the rows that ``read()`` yields in batches (in slot order,
    each chunk once), built in two passes over them without holding them all: a counting sort by term into the
    packed arrays. Memory is those arrays (6 bytes a posting) and one batch, not the rows and their sort."""
    chunk_ids: list[str] = []
    lengths: list[int] = []
    counts = np.zeros(0, np.int64)  # postings per term id
    for batch in read():
        pairs = np.frombuffer(b"".join(r.terms for r in batch), dtype=TERMS)
        found = np.bincount(pairs["term"], minlength=len(counts))
        found[: len(counts)] += counts
        counts = found
        chunk_ids.extend(r.chunk_id for r in batch)
        lengths.extend(r.length for r in batch)
    starts = np.cumsum(counts) - counts  # where each term's postings begin
    slots = np.zeros(int(counts.sum()), "<i4")
    tfs = np.zeros(len(slots), "<u2")
    first = 0
    for batch in read():
        pairs = np.frombuffer(b"".join(r.terms for r in batch), dtype=TERMS)
        per_row = np.fromiter((len(r.terms) // TERMS.itemsize for r in batch), np.int64, len(batch))
        order = np.argsort(pairs["term"], kind="stable")  # within a term, slots stay in order
        terms = pairs["term"][order].astype(np.int64)
        runs = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]]) if len(terms) else np.zeros(0, np.int64)
        run_lengths = np.diff(np.r_[runs, len(terms)])
        at = starts[terms] + np.arange(len(terms)) - np.repeat(runs, run_lengths)
        slots[at] = np.repeat(np.arange(first, first + len(batch), dtype=np.int32), per_row)[order]
        tfs[at] = pairs["tf"][order]
        starts[terms[runs]] += run_lengths
        first += len(batch)
    if first != len(chunk_ids):
        raise ValueError("pack_rows: the second pass read other rows than the first")
    held = np.flatnonzero(counts)
    return {
        "chunk_ids": "\n".join(chunk_ids).encode("utf-8"),
        "lengths": np.asarray(lengths, dtype="<f4").tobytes(),
        "terms": held.astype("<u4").tobytes(),
        "indptr": np.r_[0, np.cumsum(counts[held])].astype("<i8").tobytes(),
        "slots": slots.tobytes(),
        "tfs": tfs.tobytes(),
    }


class Postings:
    """An immutable snapshot of the lexical index in memory. Build with :meth:`load`, change with :meth:`apply`."""

    def __init__(
        self,
        chunk_ids: list[str],
        lengths: np.ndarray,
        live: np.ndarray,
        segments: list[Segment],
        slot_of: dict[str, int] | None = None,
    ) -> None:
        self.chunk_ids = chunk_ids  # slot -> chunk id
        self.lengths = lengths  # slot -> tokens (float32, as BM25Index keeps them)
        self.live = live  # slot -> still in the index
        self.segments = segments
        # live chunk id -> slot (apply() passes it in, updated: cheaper than rebuilding it from ``live``)
        self.slot_of = slot_of if slot_of is not None else {chunk_ids[s]: s for s in np.flatnonzero(live).tolist()}
        self.live_count = len(self.slot_of)
        total = float(lengths[live].sum(dtype=np.float64)) if self.live_count else 0.0
        avg = total / self.live_count if self.live_count else 1.0
        self._norm = K1 * (1 - B + B * lengths / max(avg, 1e-9))

    @classmethod
    def empty(cls) -> Postings:
        return cls([], np.zeros(0, np.float32), np.zeros(0, bool), [])

    @classmethod
    def load(cls, rows: Sequence[Row]) -> Postings:
        return cls.empty().apply((), rows)

    def pack(self) -> dict[str, bytes]:
        """This snapshot's live chunks as byte strings (slots in their order), for :meth:`unpack`."""
        whole = self
        if np.count_nonzero(~self.live) or len(self.segments) > 1:
            whole = self._compacted(self.chunk_ids, self.lengths, self.live, self.segments)
        seg = (
            whole.segments[0] if whole.segments else Segment.from_entries(*(np.zeros(0, t) for t in ("i4", "u4", "f4")))
        )
        return {
            "chunk_ids": "\n".join(whole.chunk_ids).encode("utf-8"),
            "lengths": whole.lengths.astype("<f4").tobytes(),
            "terms": seg.terms.astype("<u4").tobytes(),
            "indptr": seg.indptr.astype("<i8").tobytes(),
            "slots": seg.slots.astype("<i4").tobytes(),
            "tfs": seg.tfs.astype("<u2").tobytes(),
        }

    @classmethod
    def unpack(cls, packed: dict[str, bytes]) -> Postings:
        """A snapshot from :meth:`pack`'s byte strings (the arrays are views of them, not copies)."""
        ids = packed["chunk_ids"].decode("utf-8").split("\n") if packed["chunk_ids"] else []
        seg = Segment(
            np.frombuffer(packed["terms"], "<u4"),
            np.frombuffer(packed["indptr"], "<i8"),
            np.frombuffer(packed["slots"], "<i4"),
            np.frombuffer(packed["tfs"], "<u2").astype(np.float32),
        )
        return cls(ids, np.frombuffer(packed["lengths"], "<f4"), np.ones(len(ids), bool), [seg] if len(seg) else [])

    def apply(self, removed: Iterable[str], added: Sequence[Row]) -> Postings:
        """A new snapshot without the chunks ``removed`` and with ``added`` (a chunk added again replaces itself)."""
        live = np.concatenate([self.live, np.ones(len(added), bool)])
        slot_of = dict(self.slot_of)
        for chunk_id in [*removed, *(r.chunk_id for r in added)]:
            slot = slot_of.pop(chunk_id, None)
            if slot is not None:
                live[slot] = False
        first = len(self.chunk_ids)
        for offset in range(len(added) - 1, -1, -1):  # a chunk listed twice counts once (its last row)
            if added[offset].chunk_id in slot_of:
                live[first + offset] = False
            else:
                slot_of[added[offset].chunk_id] = first + offset
        chunk_ids = self.chunk_ids + [r.chunk_id for r in added]
        lengths = np.concatenate([self.lengths, np.asarray([r.length for r in added], dtype=np.float32)])
        segments = [*self.segments, Segment.from_rows(first, added)] if added else list(self.segments)
        if len(chunk_ids) and np.count_nonzero(~live) > COMPACT_DEAD * len(chunk_ids):
            return self._compacted(chunk_ids, lengths, live, segments)
        if len(segments) > MAX_SEGMENTS:
            big = max(range(len(segments)), key=lambda i: len(segments[i]))
            small = [s for i, s in enumerate(segments) if i != big]
            segments = [segments[big], _merge(small, live)]
        return Postings(chunk_ids, lengths, live, segments, slot_of)

    @staticmethod
    def _compacted(chunk_ids: list[str], lengths: np.ndarray, live: np.ndarray, segments: list[Segment]) -> Postings:
        keep = np.flatnonzero(live)
        remap = np.full(len(chunk_ids), -1, dtype=np.int32)
        remap[keep] = np.arange(len(keep), dtype=np.int32)
        merged = _merge(segments, live, remap)
        ids = [chunk_ids[s] for s in keep.tolist()]
        return Postings(ids, lengths[keep], np.ones(len(keep), bool), [merged] if len(merged) else [])

    def _postings(self, term: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [p for seg in self.segments if (p := seg.posting(term)) is not None]

    def document_frequency(self, term: int) -> int:
        """How many live chunks hold the term."""
        return sum(int(np.count_nonzero(self.live[slots])) for slots, _ in self._postings(term))

    def idf(self, term: int) -> float:
        """BM25's inverse document frequency of the term over the live chunks (0 for a term none holds)."""
        df = self.document_frequency(term)
        return math.log(1 + (self.live_count - df + 0.5) / (df + 0.5)) if df else 0.0

    def held_by(self, term: int, slots: np.ndarray) -> int:
        """How many of ``slots`` (live chunks' slots) hold the term."""
        return sum(int(np.count_nonzero(np.isin(found, slots))) for found, _ in self._postings(term))

    def score(self, weights: dict[int, tuple[float, float]], slot: int) -> float:
        """One chunk's BM25 for the terms in ``weights``, each (idf, presence): its idf, and how much of its credit
        is for holding it at all rather than for how often (0: BM25's, 1: as if the chunk held it once)."""
        total = 0.0
        for term, (idf, presence) in weights.items():
            for slots, tfs in self._postings(term):
                at = np.flatnonzero(slots == slot)
                if at.size:
                    tf, norm = float(tfs[at[0]]), float(self._norm[slot])
                    total += idf * ((1 - presence) * tf / (tf + norm) + presence / (1 + norm)) * (K1 + 1)
        return total

    def top(self, terms: Sequence[int], k: int) -> list[tuple[str, float]]:
        """The ``k`` best live chunks for a query of term ids, as (chunk id, BM25 score > 0), best first."""
        n = self.live_count
        if not n or not terms or k <= 0:
            return []
        scores = np.zeros(len(self.chunk_ids), dtype=np.float32)
        for term in dict.fromkeys(terms):
            parts = self._postings(term)
            df = sum(int(np.count_nonzero(self.live[slots])) for slots, _ in parts)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for slots, tfs in parts:
                scores[slots] += idf * tfs * (K1 + 1) / (tfs + self._norm[slots])
        scores[~self.live] = 0.0
        k = min(k, len(scores))
        floor = max(float(-np.partition(-scores, k - 1)[k - 1]), np.nextafter(np.float32(0), np.float32(1)))
        # Ties go by chunk id, so every process ranks the same chunks the same way whatever its slot order.
        best = sorted(np.flatnonzero(scores >= floor).tolist(), key=lambda i: (-scores[i], self.chunk_ids[i]))[:k]
        return [(self.chunk_ids[i], float(scores[i])) for i in best]
