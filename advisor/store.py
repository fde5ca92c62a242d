"""The knowledge base on disk: a Chroma collection plus a manifest of documents, behind one writer lock.

- Chroma holds chunk vectors, texts and metadata; embedded (``PersistentClient`` under the data dir) or a
  server (``HttpClient`` when ``ADVISOR_CHROMA_URL`` is set). Telemetry is off: nothing leaves the machine.
- The manifest (``manifest.json``, written atomically) is the source of truth for which documents and
  chunks are live. A chunk in Chroma that the manifest doesn't list is invisible to retrieval, so a
  crash between the two writes leaves a document fully present or fully absent.
- The collection records its embedding model and dimension; opening it with another model is refused.
- Writes to a local store take a file lock; a second writer waits briefly, then fails clearly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ConfigError, EmbeddingMismatchError, StoreError, StoreLockedError
from .settings import Settings

MANIFEST_VERSION = 1
LOCK_TIMEOUT_S = 5.0


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
        return {cid for doc in self.documents.values() for cid in doc.chunk_ids}

    def to_json(self) -> str:
        data = {
            "version": MANIFEST_VERSION,
            "collection": self.collection,
            "embed_model": self.embed_model,
            "dimension": self.dimension,
            "generation": self.generation,
            "documents": {k: asdict(v) for k, v in sorted(self.documents.items())},
        }
        return json.dumps(data, indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        docs = {k: DocumentRecord(**v) for k, v in data.get("documents", {}).items()}
        return cls(
            data["collection"], data["embed_model"], int(data["dimension"]), docs, int(data.get("generation", 0))
        )


def collection_name(prefix: str, embed_model: str, suffix: str = "") -> str:
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", embed_model).strip("-._")[:60] or "model"
    name = f"{prefix}-{slug}{('-' + suffix) if suffix else ''}"
    return name[:500]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class KnowledgeBase:
    """Chroma collection + manifest. Construct with :meth:`open`; nothing is loaded before that."""

    def __init__(self, settings: Settings, embed_model: str, dimension: int) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.dimension = dimension
        self.client = self._client(settings)
        self.manifest = self._load_or_init_manifest()
        self.collection = self._open_collection(self.manifest.collection)

    # -- opening ---------------------------------------------------------------------------------
    @staticmethod
    def _client(settings: Settings) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if not url.hostname:
                raise ConfigError(f"ADVISOR_CHROMA_URL has no host: {settings.chroma_url!r}")
            try:
                return chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
            except Exception as exc:  # chromadb raises plain ValueError/ConnectionError subclasses here
                raise StoreError(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from None
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)

    def _load_or_init_manifest(self) -> Manifest:
        path = self.settings.manifest_path
        if path.exists():
            try:
                manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(f"the manifest {path} is damaged ({exc}); run: advisor kb rebuild") from None
            if manifest.embed_model != self.embed_model or manifest.dimension != self.dimension:
                raise EmbeddingMismatchError(
                    f"the knowledge base was built with the embedding model {manifest.embed_model} "
                    f"({manifest.dimension} dimensions) but {self.embed_model} ({self.dimension}) is configured; "
                    "re-index with: advisor kb rebuild"
                )
            return manifest
        return Manifest(
            collection_name(self.settings.collection_prefix, self.embed_model), self.embed_model, self.dimension
        )

    def _open_collection(self, name: str) -> Any:
        try:
            collection = self.client.get_or_create_collection(
                name=name,
                metadata={"embed_model": self.embed_model, "dimension": self.dimension, "hnsw:space": "cosine"},
                embedding_function=None,
            )
        except Exception as exc:  # network or server errors from chromadb
            raise StoreError(f"cannot open the Chroma collection {name}: {exc}") from None
        meta = collection.metadata or {}
        if meta.get("embed_model") not in (None, self.embed_model) or meta.get("dimension") not in (
            None,
            self.dimension,
        ):
            raise EmbeddingMismatchError(
                f"the collection {name} holds vectors from {meta.get('embed_model')} ({meta.get('dimension')} dimensions), "
                f"not {self.embed_model}; re-index with: advisor kb rebuild"
            )
        return collection

    def reload_manifest(self) -> bool:
        """Re-read the manifest if another process changed it. True when it changed."""
        path = self.settings.manifest_path
        if not path.exists():
            return False
        fresh = self._load_or_init_manifest()
        if fresh.generation == self.manifest.generation and fresh.collection == self.manifest.collection:
            return False
        if fresh.collection != self.manifest.collection:
            self.collection = self._open_collection(fresh.collection)
        self.manifest = fresh
        return True

    # -- writing ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Single writer per local store. A Chroma server serialises writes itself, so no lock there."""
        if self.settings.chroma_url:
            yield
            return
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.settings.data_dir / "write.lock"))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise StoreLockedError(
                f"another advisor process is updating the knowledge base in {self.settings.data_dir}; "
                "wait for it to finish and try again"
            ) from None
        try:
            self.reload_manifest()
            yield
        finally:
            lock.release()

    def save_manifest(self) -> None:
        self.manifest.generation += 1
        _atomic_write(self.settings.manifest_path, self.manifest.to_json())

    def upsert(
        self, ids: list[str], vectors: Any, texts: list[str], metas: list[dict[str, Any]], batch: int = 1000
    ) -> None:
        for start in range(0, len(ids), batch):
            end = start + batch
            self.collection.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metas[start:end],
            )

    def delete(self, ids: list[str], batch: int = 1000) -> None:
        for start in range(0, len(ids), batch):
            self.collection.delete(ids=ids[start : start + batch])

    # -- reading ---------------------------------------------------------------------------------
    def existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 1000):
            found.update(self.collection.get(ids=ids[start : start + 1000], include=[])["ids"])
        return found

    def all_ids(self) -> set[str]:
        return set(self.collection.get(include=[])["ids"])

    def fetch(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), 1000):
            got = self.collection.get(ids=ids[start : start + 1000], include=["documents", "metadatas"])
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                out[cid] = (text, dict(meta or {}))
        return out

    def query(self, vector: Any, k: int) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity (1 - distance), live chunks only."""
        live = self.manifest.live_chunk_ids()
        if not live:
            return []
        n = min(max(k * 2, k + 4), self.collection.count())
        if n <= 0:
            return []
        for _ in range(2):
            try:
                res = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
                break
            except Exception as exc:  # transient HNSW/server errors: one retry, then a user-facing error
                last = exc
                time.sleep(0.05)
        else:
            raise StoreError(f"the vector store query failed: {last}")
        pairs = [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]
        return [(cid, sim) for cid, sim in pairs if cid in live][:k]
