"""Put documents into the knowledge base, take them out again, and repair what an interrupted write left.

Adding goes through :class:`advisor.kb.batch.Batch` (chunk, embed and write in bounded batches, commit at
document boundaries): ``add_document`` for one document, ``add_paths`` for files and folders, ``sync_folder``
to make the knowledge folder's documents match the folder (the first-use build, ``kb update``). Unchanged
content (same hash) is a no-op; changed content replaces every old chunk. Order of writes: new chunks first,
manifest second, old chunks last, so a crash at any point leaves each document either in its old or its new
state, and a second run resumes after the last commit. What a crash leaves behind (stray chunks, a half-built
rebuild collection) is invisible to retrieval and removed by :func:`repair`, which every write runs first (see
:func:`writing`). Every operation returns :class:`Change` objects saying what changed, with the old and new
content hash.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from advisor.errors import DocumentError, DocumentNotFound, InputError
from advisor.kb.batch import Batch, commit_records
from advisor.kb.loaders import SUPPORTED, SourceDocument, doc_id_for, load_path
from advisor.kb.manifest import DocumentRecord
from advisor.kb.reports import Change, Progress, SyncReport
from advisor.kb.store import KnowledgeBase
from advisor.providers.embeddings import Embedder


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
                commit_records(kb, {record.doc_id: None})
                _delete_unreferenced(kb, record.chunk_ids)
                notes.append(
                    f"dropped {record.doc_id}: {len(lost)} of its chunks were missing and its source "
                    f"{record.source} is gone or changed; add it again"
                )
    for name in kb.other_collections(older_than=kb.leftover_grace):
        kb.drop_collection(name)
        notes.append(f"dropped the leftover collection {name} (an interrupted rebuild)")
    return notes


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
    commit_records(kb, {record.doc_id: None})  # from here on no reader sees it; its chunks are already invisible
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
