"""The write pipeline of ingest: documents chunked, embedded and written in bounded batches, committed together.

A :class:`Batch` takes documents one at a time: each is chunked on its own, its chunks are embedded
``EMBED_BATCH`` at a time and written to Chroma as many as it takes in one call (small documents share a write,
large ones are split), and finished documents are committed to the manifest together, at a document
boundary, every ``COMMIT_INTERVAL_S``. Memory stays bounded by one document and one write batch, whatever
the size of the store or of the folder. New chunks are written before the commit and a replaced document's
old chunks deleted after it, so a crash leaves each document in its old or its new state.

Progress is reported in chunks (done, expected total): the total is an estimate while files remain to be
read (their bytes at the chunks-per-byte rate seen so far) and exact once the last file is chunked.
It deliberately knows nothing about folders, locks or repair: see :mod:`advisor.kb.ingest`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from advisor.errors import DocumentError
from advisor.kb import entities
from advisor.kb.chunking import Chunk, chunk_document
from advisor.kb.loaders import SourceDocument
from advisor.kb.manifest import DocumentRecord
from advisor.kb.reports import Change, Progress
from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import Embedder

# Texts per embedder call: with the local model (~17 chunks/s here) the progress bar moves every few seconds.
EMBED_BATCH = 64
# Chunks per Chroma write when rewriting a store (kb rebuild). Chroma's cost per chunk falls with the batch
# (1.6 ms CPU at 64, 1.1 ms at 1,000 on 20k chunks here); ingest writes as many as the collection takes in one
# call (ChunkCollection.batch: 1,000 to a server, 5,000 embedded).
WRITE_BATCH = 1000
# Most seconds of finished documents held back from the manifest, and of chunks held back from Chroma: a kill
# loses at most this much work. Long enough for full writes when the vectors come fast (5,000 chunks are ~10 s
# of Chroma writes at 100k here); one commit per document would make a folder of many small files quadratic.
COMMIT_INTERVAL_S = 15.0


def embed_text(title: str, section: str, text: str) -> str:
    """What gets embedded: the title and section travel with the text, so a chunk is found by what it is about."""
    return f"{title}. {section}.\n{text}"


def chunk_meta(doc: SourceDocument | DocumentRecord, chunk: Chunk, written: int | None = None) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "section": chunk.section,
        "index": chunk.index,
        "source": doc.source,
        "doc_hash": doc.content_hash,
        "written": int(time.time()) if written is None else written,
    }


def commit_records(
    kb: KnowledgeBase,
    records: dict[str, DocumentRecord | None],
    texts: dict[str, tuple[str, dict[str, Any]]] | None = None,
    vectors: dict[str, Any] | None = None,
) -> None:
    """Set (or drop, for None) documents in the manifest and save it once; on failure the in-memory manifest
    is unchanged. ``texts`` and ``vectors``: the chunks just written (chunk id -> (text, metadata), chunk id ->
    vector), for the lexical index and its copy of the vectors."""
    docs = kb.manifest.documents
    before = {doc_id: docs.get(doc_id) for doc_id in records}
    for doc_id, record in records.items():
        if record is None:
            docs.pop(doc_id, None)
        else:
            docs[doc_id] = record
    try:
        kb.save_manifest(texts, vectors)
    except BaseException:
        for doc_id, old in before.items():
            if old is None:
                docs.pop(doc_id, None)
            else:
                docs[doc_id] = old
        raise


@dataclass
class _Pending:
    """A document whose chunks are on their way into Chroma; committed once they all are."""

    record: DocumentRecord
    old: DocumentRecord | None
    unwritten: int


class Batch:
    """Documents on their way into the store: chunked one at a time, embedded ``EMBED_BATCH`` chunks at a time,
    written ``write_batch`` at a time (the collection's batch), committed at document boundaries (see the module
    docstring).

    Use it as a context manager: leaving the block normally writes and commits what is left; leaving it with an
    exception commits nothing more (what was written since the last commit is a leftover for :func:`repair`).
    Call it holding the writer lock. ``progress(done, total)`` counts chunks; :meth:`expect_bytes` and
    :meth:`reading` let it estimate the total from the sizes of files still to read.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        embedder: Embedder,
        progress: Progress | None = None,
        write_batch: int | None = None,
        commit_every: float = COMMIT_INTERVAL_S,
    ) -> None:
        self.kb = kb
        self.embedder = embedder
        self.progress = progress
        self.write_batch = write_batch or kb.collection.batch
        self.commit_every = commit_every
        self._to_embed: list[tuple[Chunk, SourceDocument]] = []
        self._to_write: tuple[list[str], list[Any], list[str], list[dict[str, Any]]] = ([], [], [], [])
        self._pending: list[_Pending] = []
        self._by_doc: dict[str, _Pending] = {}
        # Texts of the chunks written since the last commit: the lexical index takes them from here, not from
        # Chroma (bounded like the rest: one commit interval of chunks).
        self._written: dict[str, tuple[str, dict[str, Any]]] = {}
        self._written_vectors: dict[str, Any] = {}  # and their vectors, for the data dir's copy
        self._last_commit = time.monotonic()
        self.done = 0  # chunks embedded (or kept, when their vector could be reused): the slow part
        self.queued = 0  # chunks of the documents added so far
        self._bytes_left = 0  # of files announced and not yet read
        self._file_bytes = 0  # of the file being read now
        self._rate = (0, 0)  # (chunks, bytes) of the files that were chunked: the estimate's chunks per byte

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.finish()

    # -- progress ---------------------------------------------------------------------------------------
    def expect_bytes(self, size: int) -> None:
        """Files of ``size`` bytes in all are still to come: the expected total grows by their likely chunks."""
        self._bytes_left += size

    def reading(self, size: int) -> None:
        """The next document comes from a file of ``size`` bytes (call it before loading the file)."""
        self._bytes_left = max(self._bytes_left - size, 0)
        self._file_bytes = size

    def _report(self) -> None:
        if self.progress is None or not self.queued:  # nothing to write yet (or at all): no bar
            return
        chunks, size = self._rate
        total = self.queued + (round(self._bytes_left * chunks / size) if size else 0)
        self.progress(self.done, max(total, self.done))

    # -- the pipeline -------------------------------------------------------------------------------------
    def add(self, doc: SourceDocument, origin: str, force: bool = False) -> Change:
        """Queue a document (its vectors are reused for chunks already stored with the same title)."""
        kb = self.kb
        if doc.doc_id in self._by_doc:
            raise DocumentError(f"{doc.source}: the document {doc.doc_id!r} is already part of this write")
        old = kb.manifest.documents.get(doc.doc_id)
        if old is not None and old.content_hash == doc.content_hash and not force:
            return Change(
                doc.doc_id, "unchanged", old.chunks, old.title, old.source, old.content_hash, old.content_hash
            )
        chunks = chunk_document(doc.doc_id, doc.text, kb.settings.chunk_tokens, kb.settings.chunk_overlap)
        if not chunks:
            raise DocumentError(f"{doc.source}: nothing to index after cleaning")
        ids = [c.chunk_id for c in chunks]
        # A chunk already stored with the same title keeps its vector (the embedded text is the same);
        # only its metadata is refreshed. That also makes a retried add after a crash cheap.
        titles = kb.collection.titles(ids)
        reuse = [c for c in chunks if titles.get(c.chunk_id, None) == doc.title]
        if reuse:
            written = int(time.time())
            kb.collection.update_metadata([c.chunk_id for c in reuse], [chunk_meta(doc, c, written) for c in reuse])
        todo = [c for c in chunks if titles.get(c.chunk_id, None) != doc.title]
        if old is not None and origin == "upload" and old.origin == "knowledge" and old.source == doc.source:
            origin = "knowledge"  # re-adding a knowledge file by path keeps it managed by `kb update`
        record = DocumentRecord(
            doc_id=doc.doc_id,
            title=doc.title,
            source=doc.source,
            content_hash=doc.content_hash,
            added=datetime.now(UTC).isoformat(timespec="seconds"),
            chunk_ids=ids,
            origin=origin,
            meta={**doc.meta, entities.META_KEY: entities.record_meta(doc.text)},
        )
        pending = _Pending(record, old, len(todo))
        self._pending.append(pending)
        self._by_doc[doc.doc_id] = pending
        self.queued += len(chunks)
        self.done += len(reuse)
        if self._file_bytes:
            self._rate = (self._rate[0] + len(chunks), self._rate[1] + self._file_bytes)
            self._file_bytes = 0
        self._to_embed.extend((c, doc) for c in todo)
        while len(self._to_embed) >= EMBED_BATCH:
            self._embed(EMBED_BATCH)
        if time.monotonic() - self._last_commit >= self.commit_every:
            self.commit()
        return Change(
            doc.doc_id,
            "replaced" if old else "added",
            len(ids),
            doc.title,
            doc.source,
            old.content_hash if old else None,
            doc.content_hash,
            entities=list(record.meta[entities.META_KEY]["entities"]),
        )

    def _embed(self, n: int) -> None:
        part, self._to_embed = self._to_embed[:n], self._to_embed[n:]
        if not part:
            return
        vectors = self.embedder.embed([embed_text(doc.title, c.section, c.text) for c, doc in part])
        self.done += len(part)
        written = int(time.time())
        ids, vecs, texts, metas = self._to_write
        for (chunk, doc), vector in zip(part, vectors, strict=True):
            ids.append(chunk.chunk_id)
            vecs.append(vector)
            texts.append(chunk.text)
            metas.append(chunk_meta(doc, chunk, written))
        while len(ids) >= self.write_batch:
            self._write(self.write_batch)
        self._report()

    def _write(self, n: int | None = None) -> None:
        """Write the first ``n`` chunks waiting for Chroma (all of them when None)."""
        ids, vecs, texts, metas = self._to_write
        n = len(ids) if n is None else n
        if not n:
            return
        self.kb.collection.upsert(ids[:n], vecs[:n], texts[:n], metas[:n])
        for chunk_id, vector, text, meta in zip(ids[:n], vecs[:n], texts[:n], metas[:n], strict=True):
            self._by_doc[str(meta["doc_id"])].unwritten -= 1
            self._written[chunk_id] = (text, meta)
            self._written_vectors[chunk_id] = vector
        del ids[:n], vecs[:n], texts[:n], metas[:n]

    def commit(self) -> None:
        """Write what is queued, then commit every document added so far in one manifest save."""
        while self._to_embed:
            self._embed(EMBED_BATCH)
        self._write()
        self._last_commit = time.monotonic()
        if not self._pending:
            return
        assert all(p.unwritten == 0 for p in self._pending), "a committed document must have all its chunks"
        commit_records(
            self.kb, {p.record.doc_id: p.record for p in self._pending}, self._written, self._written_vectors
        )
        self._written, self._written_vectors = {}, {}
        # A document's chunk IDs start with its ID, so old chunks can only be referenced by its new version.
        stale = [c for p in self._pending if p.old for c in set(p.old.chunk_ids) - set(p.record.chunk_ids)]
        self._pending, self._by_doc = [], {}
        if stale:
            self.kb.collection.delete(sorted(stale))
        self._report()

    def finish(self) -> None:
        self.commit()
