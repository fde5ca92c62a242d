"""Put documents into the knowledge base, take them out again, and repair what an interrupted write left.

``add_document`` chunks, embeds and upserts a document, then commits it in the manifest; unchanged
content (same hash) is a no-op and changed content replaces every old chunk. Order of writes: new
chunks first, manifest second, old chunks last, so a crash at any point leaves the document either in
its old or its new state. What a crash leaves behind (stray chunks, a half-built rebuild collection) is
invisible to retrieval and removed by :func:`repair`, which every write runs first (see :func:`writing`).
``sync_folder`` makes the knowledge folder's documents match the folder (the first-use build, ``kb update``).
Every operation returns :class:`Change` objects saying what changed, with the old and new content hash.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.errors import DocumentError, DocumentNotFound, InputError
from advisor.kb import entities
from advisor.kb.chunking import Chunk, chunk_document
from advisor.kb.loaders import SUPPORTED, SourceDocument, doc_id_for, load_path
from advisor.kb.manifest import DocumentRecord
from advisor.kb.reports import Change, Progress, SyncReport
from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import Embedder

EMBED_BATCH = 64


def embed_text(title: str, section: str, text: str) -> str:
    """What gets embedded: the title and section travel with the text, so a chunk is found by what it is about."""
    return f"{title}. {section}.\n{text}"


def chunk_meta(doc: SourceDocument | DocumentRecord, chunk: Chunk) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "section": chunk.section,
        "index": chunk.index,
        "source": doc.source,
        "doc_hash": doc.content_hash,
        "written": int(time.time()),
    }


def _commit(kb: KnowledgeBase, doc_id: str, record: DocumentRecord | None) -> None:
    """Set (or drop) one document in the manifest and save it; on failure the in-memory manifest is unchanged."""
    before = kb.manifest.documents.get(doc_id)
    if record is None:
        kb.manifest.documents.pop(doc_id, None)
    else:
        kb.manifest.documents[doc_id] = record
    try:
        kb.save_manifest()
    except BaseException:
        if before is None:
            kb.manifest.documents.pop(doc_id, None)
        else:
            kb.manifest.documents[doc_id] = before
        raise


def _delete_unreferenced(kb: KnowledgeBase, chunk_ids: Iterable[str]) -> None:
    kb.collection.delete(sorted(set(chunk_ids) - kb.manifest.live_chunk_ids()))


@contextlib.contextmanager
def writing(kb: KnowledgeBase, embedder: Embedder) -> Iterator[list[str]]:
    """Take the writer lock and repair what an interrupted write left; yields the repair notes."""
    with kb.write_lock():
        yield repair(kb, embedder)


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
                _ingest(kb, embedder, doc, record.origin, None, force=True)
                notes.append(f"re-indexed {record.doc_id}: {len(lost)} of its chunks were missing")
            else:
                _commit(kb, record.doc_id, None)
                _delete_unreferenced(kb, record.chunk_ids)
                notes.append(
                    f"dropped {record.doc_id}: {len(lost)} of its chunks were missing and its source "
                    f"{record.source} is gone or changed; add it again"
                )
    for name in kb.other_collections(older_than=kb.leftover_grace):
        kb.drop_collection(name)
        notes.append(f"dropped the leftover collection {name} (an interrupted rebuild)")
    return notes


def _ingest(
    kb: KnowledgeBase,
    embedder: Embedder,
    doc: SourceDocument,
    origin: str,
    progress: Progress | None,
    force: bool = False,
) -> Change:
    old = kb.manifest.documents.get(doc.doc_id)
    if old is not None and old.content_hash == doc.content_hash and not force:
        return Change(doc.doc_id, "unchanged", old.chunks, old.title, old.source, old.content_hash, old.content_hash)
    settings = kb.settings
    chunks = chunk_document(doc.doc_id, doc.text, settings.chunk_tokens, settings.chunk_overlap)
    if not chunks:
        raise DocumentError(f"{doc.source}: nothing to index after cleaning")
    ids = [c.chunk_id for c in chunks]
    # A chunk already stored with the same title keeps its vector (the embedded text is the same);
    # only its metadata is refreshed. That also makes a retried add after a crash cheap.
    stored = kb.collection.fetch(ids)
    reuse = [c for c in chunks if c.chunk_id in stored and stored[c.chunk_id][1].get("title") == doc.title]
    reused = {c.chunk_id for c in reuse}
    todo = [c for c in chunks if c.chunk_id not in reused]
    if reuse:
        kb.collection.update_metadata([c.chunk_id for c in reuse], [chunk_meta(doc, c) for c in reuse])
    for start in range(0, len(todo), EMBED_BATCH):
        part = todo[start : start + EMBED_BATCH]
        vectors = embedder.embed([embed_text(doc.title, c.section, c.text) for c in part])
        kb.collection.upsert(
            [c.chunk_id for c in part], vectors, [c.text for c in part], [chunk_meta(doc, c) for c in part]
        )
        if progress:
            progress(min(start + EMBED_BATCH, len(todo)), len(todo))
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
    _commit(kb, doc.doc_id, record)
    if old is not None:
        _delete_unreferenced(kb, old.chunk_ids)
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


def add_document(
    kb: KnowledgeBase,
    embedder: Embedder,
    doc: SourceDocument,
    origin: str = "upload",
    progress: Progress | None = None,
    lock: bool = True,
) -> Change:
    """Add or replace one document. Idempotent: the same content twice changes nothing."""
    if lock:
        with writing(kb, embedder):
            return _ingest(kb, embedder, doc, origin, progress)
    return _ingest(kb, embedder, doc, origin, progress)


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
            if embedder is not None:
                repair(kb, embedder)
            return remove_document(kb, doc_id, lock=False)
    record = find_document(kb, doc_id)
    _commit(kb, record.doc_id, None)  # from here on no reader sees it; its chunks are already invisible
    _delete_unreferenced(kb, record.chunk_ids)
    return Change(record.doc_id, "removed", record.chunks, record.title, record.source, record.content_hash, None)


def folder_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith(".")
    )


def sync_folder(kb: KnowledgeBase, embedder: Embedder, folder: Path, progress: Progress | None = None) -> SyncReport:
    """Make the documents that came from ``folder`` match it: add new, replace changed, drop deleted.

    A file that fails to load keeps its previous version in the knowledge base (and is reported);
    a missing folder is an error rather than "every document was deleted".
    """
    if not folder.is_dir():
        raise InputError(f"the knowledge folder {folder} does not exist (set ADVISOR_KNOWLEDGE_DIR)")
    report = SyncReport()
    with writing(kb, embedder) as repaired:
        report.repaired = repaired
        seen: set[str] = set()
        files = folder_files(folder)
        for number, path in enumerate(files, 1):
            doc_id = doc_id_for(path.name)
            try:
                if doc_id in seen:
                    raise DocumentError(f"{path.name}: another file in {folder} has the same document ID {doc_id!r}")
                seen.add(doc_id)
                doc = load_path(path, kb.settings.max_document_bytes)
                report.changes.append(_ingest(kb, embedder, doc, "knowledge", None))
            except DocumentError as exc:
                report.errors.append(str(exc))
            if progress:
                progress(number, len(files))
        for doc_id, record in sorted(kb.manifest.documents.items()):
            if record.origin == "knowledge" and doc_id not in seen:
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
    with writing(kb, embedder) as repaired:
        report.repaired = repaired
        seen: dict[str, Path] = {}
        for number, path in enumerate(files, 1):
            try:
                doc = load_path(path, kb.settings.max_document_bytes)
                if doc.doc_id in seen:
                    raise DocumentError(
                        f"{path}: has the same document ID {doc.doc_id!r} as {seen[doc.doc_id]}; rename one of them"
                    )
                seen[doc.doc_id] = path
                report.changes.append(_ingest(kb, embedder, doc, "upload", None))
            except DocumentError as exc:
                report.errors.append(str(exc))
            if progress:
                progress(number, len(files))
    return report
