"""The manifest: which documents and chunks are live, in which collection, built with which embedding model.

The manifest is the knowledge base's source of truth: a chunk it doesn't list is invisible to retrieval, so
a crash between writes leaves a document wholly in its old or its new version. Two backends hold it:

- :class:`FileManifest`: ``manifest.json`` in the data dir, written atomically (embedded mode);
- :class:`ServerManifest`: one record of a small collection on the Chroma server (server mode), so every
  app instance sees the same knowledge base.

:class:`ManifestStore` keeps the current :class:`Manifest` of one backend: it parses (refusing a damaged
one, or one built with another embedding model), notices another process's commit by a cheap signature,
and commits with compare-and-swap. It deliberately knows nothing about Chroma collections or chunks' text.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from advisor.errors import EmbeddingMismatchError, StoreError, StoreLockedError
from advisor.fileio import atomic_write

MANIFEST_VERSION = 1
MANIFEST_RECORD = "manifest"


@dataclass
class DocumentRecord:
    doc_id: str
    title: str
    source: str
    content_hash: str
    added: str
    chunk_ids: list[str]
    origin: str = "upload"  # "knowledge" for files synced from the knowledge folder
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def chunks(self) -> int:
        return len(self.chunk_ids)


@dataclass
class Manifest:
    collection: str
    embed_model: str
    dimension: int
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    generation: int = 0

    def live_chunk_ids(self) -> set[str]:
        # list() copies atomically: a writer thread may add a document while a reader iterates.
        return {cid for doc in list(self.documents.values()) for cid in doc.chunk_ids}

    def to_json(self) -> str:
        """The manifest as JSON, one line per document. Every commit writes it whole, so it is built with the C
        encoder (an indented dump runs in pure Python: ~10x slower) from the records' own fields (no deep copy)."""
        head = {
            "version": MANIFEST_VERSION,
            "collection": self.collection,
            "embed_model": self.embed_model,
            "dimension": self.dimension,
            "generation": self.generation,
        }
        lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "documents": {']
        docs = sorted(list(self.documents.items()))
        lines += [f"{json.dumps(k, ensure_ascii=False)}: {json.dumps(vars(v), ensure_ascii=False)}," for k, v in docs]
        if docs:
            lines[-1] = lines[-1][:-1]
        return "\n".join([*lines, "}}"])

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        docs = {k: DocumentRecord(**v) for k, v in data.get("documents", {}).items()}
        return cls(
            data["collection"], data["embed_model"], int(data["dimension"]), docs, int(data.get("generation", 0))
        )


class ManifestBackend(Protocol):
    where: str

    def signature(self) -> Any: ...
    def read(self) -> str | None: ...
    def write(self, text: str, generation: int) -> Any: ...


class FileManifest:
    """``manifest.json`` in the data dir. Its signature (inode, mtime, size) tells a change without parsing it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def signature(self) -> Any:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, text: str, generation: int) -> Any:
        atomic_write(self.path, text)
        return self.signature()


class ServerManifest:
    """The manifest as one record of a small collection on the Chroma server (one upsert: atomic)."""

    def __init__(self, client: Any, name: str) -> None:
        self.name = name
        self.where = f"the Chroma collection {name}"
        try:
            self.collection = client.get_or_create_collection(name=name, embedding_function=None)
        except Exception as exc:  # network or server errors from chromadb
            raise StoreError(f"cannot open the manifest collection {name} on the Chroma server: {exc}") from None

    def signature(self) -> Any:
        got = self.collection.get(ids=[MANIFEST_RECORD], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0] or {}
        return (meta.get("generation"), meta.get("token"))

    def read(self) -> str | None:
        got = self.collection.get(ids=[MANIFEST_RECORD], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def write(self, text: str, generation: int) -> Any:
        token = uuid.uuid4().hex
        self.collection.upsert(
            ids=[MANIFEST_RECORD],
            embeddings=[[1.0]],
            documents=[text],
            metadatas=[{"generation": generation, "token": token}],
        )
        return (generation, token)


class ManifestStore:
    """The current manifest of one backend; reloads on another process's commit, commits with compare-and-swap.

    ``check_model=False`` accepts a manifest built with another embedding model (a rebuild opens it so).
    """

    def __init__(
        self, backend: ManifestBackend, default_collection: str, embed_model: str, dimension: int, check_model: bool
    ) -> None:
        self.backend = backend
        self.embed_model = embed_model
        self.dimension = dimension
        self.check_model = check_model
        # Serialises reloads with this process's own commits: without it, a reader thread could see our freshly
        # written manifest before we record its signature, take it for a foreign write, and reopen the store.
        self.mutex = threading.RLock()
        self._signature = backend.signature()
        self.is_new = self._signature is None
        text = backend.read()
        self.manifest = self._parse(text) if text is not None else Manifest(default_collection, embed_model, dimension)

    @property
    def where(self) -> str:
        return self.backend.where

    def read_text(self) -> str | None:
        """The committed manifest as stored (tests compare its bytes)."""
        return self.backend.read()

    def _parse(self, text: str) -> Manifest:
        try:
            manifest = Manifest.from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"the manifest in {self.where} is damaged ({exc}); restore it from a backup, "
                "or delete it and re-add your documents (advisor kb update)"
            ) from None
        if self.check_model and (manifest.embed_model != self.embed_model or manifest.dimension != self.dimension):
            raise EmbeddingMismatchError(
                f"the knowledge base was built with the embedding model {manifest.embed_model} "
                f"({manifest.dimension} dimensions) but {self.embed_model} ({self.dimension}) is configured; "
                "re-index with: advisor kb rebuild"
            )
        return manifest

    def reload(self) -> tuple[bool, bool]:
        """Re-read the manifest if another process committed one. Returns (re-read, generation or collection changed).

        The caller holds :attr:`mutex`.
        """
        signature = self.backend.signature()
        if signature is None or signature == self._signature:
            return False, False
        fresh = self._parse(self.backend.read() or "")
        self._signature = signature
        self.is_new = False
        changed = fresh.generation != self.manifest.generation or fresh.collection != self.manifest.collection
        self.manifest = fresh
        return True, changed

    def save(self) -> None:
        """Commit the manifest (bumping its generation). Refused if another writer committed since we read it."""
        with self.mutex:
            if self.backend.signature() != self._signature:
                raise StoreLockedError(
                    f"another process changed the knowledge base ({self.where}) while this one was writing; "
                    "nothing was committed — run the command again"
                )
            self.manifest.generation += 1
            self._signature = self.backend.write(self.manifest.to_json(), self.manifest.generation)
            self.is_new = False
