"""Put documents into the knowledge base, take them out again, and repair what an interrupted write left.

Documents stream through a :class:`Batch`: each is chunked on its own, its chunks are embedded
``EMBED_BATCH`` at a time and written to Chroma ``WRITE_BATCH`` at a time (small documents share a write,
large ones are split), and finished documents are committed to the manifest together, at a document
boundary, every ``COMMIT_INTERVAL_S``. Memory stays bounded by one document and one write batch, whatever
the size of the store or of the folder. Unchanged content (same hash) is a no-op; changed content replaces
every old chunk. Order of writes: new chunks first, manifest second, old chunks last, so a crash at any
point leaves each document either in its old or its new state, and a second run resumes after the last
commit (what was committed is unchanged, so it is skipped). What a crash leaves behind (stray chunks, a
half-built rebuild collection) is invisible to retrieval and removed by :func:`repair`, which every write
runs first (see :func:`writing`). ``sync_folder`` makes the knowledge folder's documents match the folder
(the first-use build, ``kb update``). Every operation returns :class:`Change` objects saying what changed,
with the old and new content hash.

Progress is reported in chunks (done, expected total): the total is an estimate while files remain to be
read (their bytes at the chunks-per-byte rate seen so far) and exact once the last file is chunked.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.errors import DocumentError, DocumentNotFound, InputError
from advisor.kb.chunking import Chunk, chunk_document
from advisor.kb.loaders import SUPPORTED, SourceDocument, doc_id_for, load_path
from advisor.kb.manifest import DocumentRecord
from advisor.kb.reports import Change, Progress, SyncReport
from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import Embedder

# Texts per embedder call: with the local model (~17 chunks/s here) the progress bar moves every few seconds.
EMBED_BATCH = 64
# Chunks per Chroma write. Chroma's cost per chunk falls with the batch (1.6 ms CPU at 64, 1.1 ms at 1,000 on
# 20k chunks here) and 1,000 is the most collection.BATCH sends in one request to a server.
WRITE_BATCH = 1000
# Most seconds of finished documents held back from the manifest: a commit rewrites the whole manifest (and
# the lexical index follows it), so one per document would make a folder of many small files quadratic; a
# kill loses at most this much work.
COMMIT_INTERVAL_S = 5.0


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


def _commit(kb: KnowledgeBase, records: dict[str, DocumentRecord | None]) -> None:
    """Set (or drop, for None) documents in the manifest and save it once; on failure the in-memory manifest
    is unchanged."""
    docs = kb.manifest.documents
    before = {doc_id: docs.get(doc_id) for doc_id in records}
    for doc_id, record in records.items():
        if record is None:
            docs.pop(doc_id, None)
        else:
            docs[doc_id] = record
    try:
        kb.save_manifest()
    except BaseException:
        for doc_id, old in before.items():
            if old is None:
                docs.pop(doc_id, None)
            else:
                docs[doc_id] = old
        raise


def _delete_unreferenced(kb: KnowledgeBase, chunk_ids: Iterable[str]) -> None:
    kb.collection.delete(sorted(set(chunk_ids) - kb.live_ids()))


@contextlib.contextmanager
def writing(kb: KnowledgeBase, embedder: Embedder) -> Iterator[list[str]]:
    """Take the writer lock, bring the vector index's settings up to date and repair what an interrupted write
    left; yields what was done, one line each."""
    with kb.write_lock():
        yield kb.tune_index() + repair(kb, embedder)


def repair(kb: KnowledgeBase, embedder: Embedder, full: bool = False) -> list[str]:
    """Make Chroma match the manifest. Call it holding the writer lock. Returns what it did, one line each.

    - stray chunks (in Chroma, not in the manifest: an interrupted add, replace or remove) are deleted;
    - a document with missing chunks is re-ingested from its source file if that still has the same
      content, else dropped from the manifest (it could not be answered from correctly anyway);
    - collections of this knowledge base other than the live one (an interrupted rebuild) are dropped.
    Without ``full``, the chunk comparison only runs when the counts differ (cheap on every write).
    """
    notes: list[str] = []
    live = kb.manifest.live_chunk_ids()
    if full or kb.collection.count() != len(live):
        present = kb.collection.all_ids()
        strays = sorted(present - live)
        if strays and kb.leftover_grace:
            now = time.time()
            stored = kb.collection.fetch(strays)
            strays = [c for c in strays if now - float(stored[c][1].get("written", 0)) >= kb.leftover_grace]
        if strays:
            kb.collection.delete(strays)
            notes.append(f"deleted {len(strays)} stray chunk(s) left by an interrupted write")
        missing = live - present
        for record in sorted(kb.manifest.documents.values(), key=lambda d: d.doc_id):
            lost = missing.intersection(record.chunk_ids)
            if not lost:
                continue
            doc = None
            with contextlib.suppress(DocumentError):
                path = Path(record.source)
                if not record.source.startswith("upload:") and path.is_file():
                    doc = load_path(path, kb.settings.max_document_bytes)
            if doc is not None and doc.content_hash == record.content_hash:
                with Batch(kb, embedder) as batch:
                    batch.add(doc, record.origin, force=True)
                notes.append(f"re-indexed {record.doc_id}: {len(lost)} of its chunks were missing")
            else:
                _commit(kb, {record.doc_id: None})
                _delete_unreferenced(kb, record.chunk_ids)
                notes.append(
                    f"dropped {record.doc_id}: {len(lost)} of its chunks were missing and its source "
                    f"{record.source} is gone or changed; add it again"
                )
    for name in kb.other_collections(older_than=kb.leftover_grace):
        kb.drop_collection(name)
        notes.append(f"dropped the leftover collection {name} (an interrupted rebuild)")
    return notes


@dataclass
class _Pending:
    """A document whose chunks are on their way into Chroma; committed once they all are."""

    record: DocumentRecord
    old: DocumentRecord | None
    unwritten: int


class Batch:
    """Documents on their way into the store: chunked one at a time, embedded ``EMBED_BATCH`` chunks at a time,
    written ``WRITE_BATCH`` at a time, committed at document boundaries (see the module docstring).

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
        write_batch: int = WRITE_BATCH,
        commit_every: float = COMMIT_INTERVAL_S,
    ) -> None:
        self.kb = kb
        self.embedder = embedder
        self.progress = progress
        self.write_batch = write_batch
        self.commit_every = commit_every
        self._to_embed: list[tuple[Chunk, SourceDocument]] = []
        self._to_write: tuple[list[str], list[Any], list[str], list[dict[str, Any]]] = ([], [], [], [])
        self._pending: list[_Pending] = []
        self._by_doc: dict[str, _Pending] = {}
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
            meta=doc.meta,
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
        for meta in metas[:n]:
            self._by_doc[str(meta["doc_id"])].unwritten -= 1
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
        _commit(self.kb, {p.record.doc_id: p.record for p in self._pending})
        # A document's chunk IDs start with its ID, so old chunks can only be referenced by its new version.
        stale = [c for p in self._pending if p.old for c in set(p.old.chunk_ids) - set(p.record.chunk_ids)]
        self._pending, self._by_doc = [], {}
        if stale:
            self.kb.collection.delete(sorted(stale))
        self._report()

    def finish(self) -> None:
        self.commit()


def add_document(
    kb: KnowledgeBase,
    embedder: Embedder,
    doc: SourceDocument,
    origin: str = "upload",
    progress: Progress | None = None,
    lock: bool = True,
) -> Change:
    """Add or replace one document. Idempotent: the same content twice changes nothing."""
    with writing(kb, embedder) if lock else contextlib.nullcontext(), Batch(kb, embedder, progress) as batch:
        return batch.add(doc, origin)


def find_document(kb: KnowledgeBase, ref: str) -> DocumentRecord:
    """A document by its ID, its source path, or the file name it was added from."""
    kb.reload_manifest()
    docs = kb.manifest.documents
    if ref in docs:
        return docs[ref]
    resolved = str(Path(ref).expanduser().resolve()) if ref else ""
    for record in docs.values():
        if record.source in (ref, resolved, f"upload:{ref}"):
            return record
    with contextlib.suppress(DocumentError, ValueError):
        candidate = doc_id_for(Path(ref).name)
        if candidate in docs:
            return docs[candidate]
    raise DocumentNotFound(f"no document {ref!r} in the knowledge base (see: advisor kb list)")


def remove_document(kb: KnowledgeBase, doc_id: str, lock: bool = True, embedder: Embedder | None = None) -> Change:
    """Remove a document (by ID, source path or file name): gone for readers once the manifest is saved."""
    if lock:
        with kb.write_lock():
            kb.tune_index()
            if embedder is not None:
                repair(kb, embedder)
            return remove_document(kb, doc_id, lock=False)
    record = find_document(kb, doc_id)
    _commit(kb, {record.doc_id: None})  # from here on no reader sees it; its chunks are already invisible
    _delete_unreferenced(kb, record.chunk_ids)
    return Change(record.doc_id, "removed", record.chunks, record.title, record.source, record.content_hash, None)


def folder_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith(".")
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def sync_folder(kb: KnowledgeBase, embedder: Embedder, folder: Path, progress: Progress | None = None) -> SyncReport:
    """Make the documents that came from ``folder`` match it: add new, replace changed, drop deleted.

    A file that fails to load keeps its previous version in the knowledge base (and is reported);
    a missing folder is an error rather than "every document was deleted".
    """
    if not folder.is_dir():
        raise InputError(f"the knowledge folder {folder} does not exist (set ADVISOR_KNOWLEDGE_DIR)")
    report = SyncReport()
    with writing(kb, embedder) as repaired, Batch(kb, embedder, progress) as batch:
        report.repaired = repaired
        seen: set[str] = set()
        files = [(path, _size(path)) for path in folder_files(folder)]
        batch.expect_bytes(sum(size for _, size in files))
        for path, size in files:
            doc_id = doc_id_for(path.name)
            batch.reading(size)
            try:
                if doc_id in seen:
                    raise DocumentError(f"{path.name}: another file in {folder} has the same document ID {doc_id!r}")
                seen.add(doc_id)
                doc = load_path(path, kb.settings.max_document_bytes)
                report.changes.append(batch.add(doc, "knowledge"))
            except DocumentError as exc:
                report.errors.append(str(exc))
        batch.commit()
        gone = [doc_id for doc_id, r in sorted(kb.manifest.documents.items()) if r.origin == "knowledge"]
        for doc_id in gone:
            if doc_id not in seen:
                report.changes.append(remove_document(kb, doc_id, lock=False))
    return report


def add_paths(
    kb: KnowledgeBase, embedder: Embedder, paths: Iterable[Path], progress: Progress | None = None
) -> SyncReport:
    """Add files and folders (their supported files). A bad file is reported and skipped; the rest go in."""
    report = SyncReport()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(folder_files(path))
        elif path.is_file():
            files.append(path)
        else:
            report.errors.append(f"{path}: no such file or folder")
    with writing(kb, embedder) as repaired, Batch(kb, embedder, progress) as batch:
        report.repaired = repaired
        sizes = [_size(path) for path in files]
        batch.expect_bytes(sum(sizes))
        seen: dict[str, Path] = {}
        for path, size in zip(files, sizes, strict=True):
            batch.reading(size)
            try:
                doc = load_path(path, kb.settings.max_document_bytes)
                if doc.doc_id in seen:
                    raise DocumentError(
                        f"{path}: has the same document ID {doc.doc_id!r} as {seen[doc.doc_id]}; rename one of them"
                    )
                seen[doc.doc_id] = path
                report.changes.append(batch.add(doc, "upload"))
            except DocumentError as exc:
                report.errors.append(str(exc))
    return report
