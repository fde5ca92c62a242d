"""Put documents into the knowledge base and take them out again.

``add_document`` chunks, embeds and upserts a document, then commits it in the manifest; unchanged
content (same hash) is a no-op and changed content replaces every old chunk. Order of writes: new
chunks first, manifest second, old chunks last, so a crash at any point leaves the document either in
its old or its new state (stray chunks are invisible and removed by ``repair``).
``sync_folder`` makes the knowledge folder's documents match the folder (the first-use build).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .chunking import chunk_document
from .embeddings import Embedder
from .errors import DocumentError, DocumentNotFound
from .loaders import SUPPORTED, SourceDocument, load_path
from .store import DocumentRecord, KnowledgeBase

Progress = Callable[[int, int], None]
Status = Literal["added", "replaced", "unchanged", "removed"]


@dataclass
class Change:
    doc_id: str
    status: Status
    chunks: int = 0
    title: str = ""


@dataclass
class SyncReport:
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.changes if c.status == status)


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
        with kb.write_lock():
            return add_document(kb, embedder, doc, origin, progress, lock=False)
    old = kb.manifest.documents.get(doc.doc_id)
    if old is not None and old.content_hash == doc.content_hash:
        return Change(doc.doc_id, "unchanged", old.chunks, old.title)
    settings = kb.settings
    chunks = chunk_document(doc.doc_id, doc.text, settings.chunk_tokens, settings.chunk_overlap)
    if not chunks:
        raise DocumentError(f"{doc.source}: nothing to index after cleaning")
    ids = [c.chunk_id for c in chunks]
    present = kb.existing_ids(ids)
    todo = [c for c in chunks if c.chunk_id not in present]
    for start in range(0, len(todo), 64):
        part = todo[start : start + 64]
        # The embedded text carries the title and section, so a chunk is found by what it is about.
        vectors = embedder.embed([f"{doc.title}. {c.section}.\n{c.text}" for c in part])
        metas: list[dict[str, Any]] = [
            {"doc_id": doc.doc_id, "title": doc.title, "section": c.section, "index": c.index, "source": doc.source}
            for c in part
        ]
        kb.upsert([c.chunk_id for c in part], vectors, [c.text for c in part], metas)
        if progress:
            progress(min(start + 64, len(todo)), len(todo))
    kb.manifest.documents[doc.doc_id] = DocumentRecord(
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        content_hash=doc.content_hash,
        added=datetime.now(UTC).isoformat(timespec="seconds"),
        chunk_ids=ids,
        origin=origin,
        meta=doc.meta,
    )
    kb.save_manifest()
    if old is not None:
        stale = sorted(set(old.chunk_ids) - set(ids) - kb.manifest.live_chunk_ids())
        kb.delete(stale)
    return Change(doc.doc_id, "replaced" if old else "added", len(ids), doc.title)


def remove_document(kb: KnowledgeBase, doc_id: str, lock: bool = True) -> Change:
    if lock:
        with kb.write_lock():
            return remove_document(kb, doc_id, lock=False)
    record = kb.manifest.documents.pop(doc_id, None)
    if record is None:
        raise DocumentNotFound(f"no document {doc_id!r} in the knowledge base (see: advisor kb list)")
    kb.save_manifest()  # gone for readers from here on; the chunks below are already invisible
    kb.delete(sorted(set(record.chunk_ids) - kb.manifest.live_chunk_ids()))
    return Change(doc_id, "removed", record.chunks, record.title)


def folder_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith(".")
    )


def sync_folder(kb: KnowledgeBase, embedder: Embedder, folder: Path, progress: Progress | None = None) -> SyncReport:
    """Make the documents that came from ``folder`` match it: add new, replace changed, drop deleted."""
    report = SyncReport()
    with kb.write_lock():
        seen: set[str] = set()
        files = folder_files(folder) if folder.is_dir() else []
        for number, path in enumerate(files, 1):
            try:
                doc = load_path(path, kb.settings.max_document_bytes)
                if doc.doc_id in seen:
                    raise DocumentError(
                        f"{path.name}: another file in {folder} has the same document ID {doc.doc_id!r}"
                    )
                seen.add(doc.doc_id)
                report.changes.append(add_document(kb, embedder, doc, origin="knowledge", lock=False))
            except DocumentError as exc:
                report.errors.append(str(exc))
            if progress:
                progress(number, len(files))
        for doc_id, record in list(kb.manifest.documents.items()):
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
        elif path.exists():
            files.append(path)
        else:
            report.errors.append(f"{path}: no such file or folder")
    with kb.write_lock():
        for number, path in enumerate(files, 1):
            try:
                doc = load_path(path, kb.settings.max_document_bytes)
                report.changes.append(add_document(kb, embedder, doc, lock=False))
            except DocumentError as exc:
                report.errors.append(str(exc))
            if progress:
                progress(number, len(files))
    return report
