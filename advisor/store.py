"""The knowledge base on disk: a Chroma collection plus a manifest of documents, behind one writer lock.

- Chroma holds chunk vectors, texts and metadata; embedded (``PersistentClient`` under the data dir) or a
  server (``HttpClient`` when ``ADVISOR_CHROMA_URL`` is set). Telemetry is off: nothing leaves the machine.
- The manifest is the source of truth for which documents and chunks are live, and which collection
  holds them. Embedded: ``manifest.json`` in the data dir, written atomically. Server mode: one record
  in the collection ``<prefix>-manifest`` on the server, so every app instance sees the same knowledge
  base. A chunk the manifest doesn't list is invisible to retrieval, so a crash between writes leaves
  a document fully present or fully absent (the leftovers are repaired by :mod:`advisor.ingest`).
- The manifest and the collection record the embedding model and dimension; opening them with another
  model is refused with a message naming ``advisor kb rebuild``.
- Writes take a file lock in the data dir; a second writer waits briefly, then fails clearly. In server
  mode that lock only covers one machine; a write committed by another machine meanwhile is detected
  when the manifest is saved, and the later writer is refused (see :meth:`KnowledgeBase.save_manifest`).

It deliberately knows nothing about files, chunking or embeddings: see ingest.py and kb.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import ConfigError, EmbeddingMismatchError, StoreError, StoreLockedError
from .settings import Settings

MANIFEST_VERSION = 1
LOCK_TIMEOUT_S = 5.0
BATCH = 1000
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
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


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
        _atomic_write(self.path, text)
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


class KnowledgeBase:
    """Chroma collection + manifest. ``check_model=False`` opens a store built with another model (for rebuild)."""

    def __init__(self, settings: Settings, embed_model: str, dimension: int, check_model: bool = True) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.dimension = dimension
        self.check_model = check_model
        self.server = bool(settings.chroma_url)
        self.client = self._client(settings)
        self.store = (
            ServerManifest(self.client, f"{settings.collection_prefix}-manifest")
            if self.server
            else FileManifest(settings.manifest_path)
        )
        # Serialises manifest reloads with this process's own commits: without it, a reader thread could see
        # our freshly written manifest before we record its signature, take it for a foreign write, and
        # reopen the Chroma client under the writer's (and other readers') feet.
        self._mutex = threading.RLock()
        self._live_cache: tuple[Any, set[str]] | None = None
        self._signature = self.store.signature()
        self.is_new = self._signature is None
        self.manifest = self._load_or_init_manifest()
        self.collection = self._open_collection(self.manifest.collection, create=True)

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

    def _reopen_client(self) -> None:
        """Embedded Chroma keeps its vector index in memory: another process's writes only show after a reopen."""
        if self.server:
            return
        with contextlib.suppress(Exception):  # closing a client that is already gone is fine
            self.client.close()
        self.client = self._client(self.settings)

    def _parse(self, text: str) -> Manifest:
        try:
            manifest = Manifest.from_json(text)
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(
                f"the manifest in {self.store.where} is damaged ({exc}); restore it from a backup, "
                "or delete it and re-add your documents (advisor kb update)"
            ) from None
        if self.check_model and (manifest.embed_model != self.embed_model or manifest.dimension != self.dimension):
            raise EmbeddingMismatchError(
                f"the knowledge base was built with the embedding model {manifest.embed_model} "
                f"({manifest.dimension} dimensions) but {self.embed_model} ({self.dimension}) is configured; "
                "re-index with: advisor kb rebuild"
            )
        return manifest

    def _load_or_init_manifest(self) -> Manifest:
        text = self.store.read()
        if text is not None:
            return self._parse(text)
        return Manifest(
            collection_name(self.settings.collection_prefix, self.embed_model), self.embed_model, self.dimension
        )

    def _collection_metadata(self, embed_model: str, dimension: int) -> dict[str, Any]:
        return {
            "embed_model": embed_model,
            "dimension": dimension,
            "hnsw:space": "cosine",
            "advisor_kb": self.settings.collection_prefix,
            "created": int(time.time()),
        }

    def _open_collection(self, name: str, create: bool = False) -> Any:
        try:
            if create:
                collection = self.client.get_or_create_collection(
                    name=name,
                    metadata=self._collection_metadata(self.manifest.embed_model, self.manifest.dimension),
                    embedding_function=None,
                )
            else:
                collection = self.client.get_collection(name=name, embedding_function=None)
        except Exception as exc:  # network or server errors from chromadb
            raise StoreError(f"cannot open the Chroma collection {name}: {exc}") from None
        meta = collection.metadata or {}
        if self.check_model and (
            meta.get("embed_model") not in (None, self.embed_model)
            or meta.get("dimension") not in (None, self.dimension)
        ):
            raise EmbeddingMismatchError(
                f"the collection {name} holds vectors from {meta.get('embed_model')} ({meta.get('dimension')} dimensions), "
                f"not {self.embed_model}; re-index with: advisor kb rebuild"
            )
        return collection

    def new_collection(self, embed_model: str, dimension: int) -> Any:
        """A fresh, empty collection for a rebuild (a unique name, so a crashed rebuild never gets reused)."""
        name = collection_name(self.settings.collection_prefix, embed_model, uuid.uuid4().hex[:8])
        try:
            return self.client.create_collection(
                name=name, metadata=self._collection_metadata(embed_model, dimension), embedding_function=None
            )
        except Exception as exc:  # network or server errors from chromadb
            raise StoreError(f"cannot create the Chroma collection {name}: {exc}") from None

    def other_collections(self, older_than: float = 0.0) -> list[str]:
        """Collections of this knowledge base that the manifest doesn't point at (leftovers of a rebuild),
        created more than ``older_than`` seconds ago."""
        names = []
        now = time.time()
        for col in self.client.list_collections():
            meta = col.metadata or {}
            if meta.get("advisor_kb") != self.settings.collection_prefix or col.name == self.manifest.collection:
                continue
            if now - float(meta.get("created", 0)) >= older_than:
                names.append(col.name)
        return sorted(names)

    @property
    def leftover_grace(self) -> float:
        """How old an unlisted chunk or collection must be before repair deletes it.

        Locally the writer lock guarantees no write is in flight, so anything unlisted is a leftover. On a
        server, another machine may be writing right now: its not-yet-committed chunks look the same.
        """
        return self.settings.leftover_grace if self.server else 0.0

    def drop_collection(self, name: str) -> None:
        if name == self.manifest.collection:
            raise StoreError(f"refusing to delete the live collection {name}")
        with contextlib.suppress(Exception):  # already gone (chromadb raises NotFoundError/ValueError by version)
            self.client.delete_collection(name=name)

    def reload_manifest(self) -> bool:
        """Re-read the manifest if another process changed it (a cheap check when it didn't). True when it changed."""
        with self._mutex:
            return self._reload_manifest()

    def _reload_manifest(self) -> bool:
        signature = self.store.signature()
        if signature is None or signature == self._signature:
            return False
        fresh = self._parse(self.store.read() or "")
        self._signature = signature
        self.is_new = False
        changed = fresh.generation != self.manifest.generation or fresh.collection != self.manifest.collection
        self.manifest = fresh
        self._reopen_client()
        self.collection = self._open_collection(fresh.collection)
        return changed

    # -- writing ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_lock(self, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Single writer per data dir: a second one waits up to ``timeout`` seconds, then fails clearly."""
        from filelock import FileLock, Timeout

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
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
        """Commit the manifest (bumping its generation). Refused if another writer committed since we read it."""
        with self._mutex:
            self._save_manifest()

    def _save_manifest(self) -> None:
        if self.store.signature() != self._signature:
            raise StoreLockedError(
                f"another process changed the knowledge base ({self.store.where}) while this one was writing; "
                "nothing was committed — run the command again"
            )
        self.manifest.generation += 1
        self._signature = self.store.write(self.manifest.to_json(), self.manifest.generation)
        self.is_new = False

    def upsert(
        self,
        ids: list[str],
        vectors: Any,
        texts: list[str],
        metas: list[dict[str, Any]],
        collection: Any = None,
    ) -> None:
        target = self.collection if collection is None else collection
        for start in range(0, len(ids), BATCH):
            end = start + BATCH
            target.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metas[start:end],
            )

    def update_metadata(self, ids: list[str], metas: list[dict[str, Any]]) -> None:
        for start in range(0, len(ids), BATCH):
            self.collection.update(ids=ids[start : start + BATCH], metadatas=metas[start : start + BATCH])

    def delete(self, ids: list[str], collection: Any = None) -> None:
        target = self.collection if collection is None else collection
        for start in range(0, len(ids), BATCH):
            target.delete(ids=ids[start : start + BATCH])

    # -- reading ---------------------------------------------------------------------------------
    def count(self, collection: Any = None) -> int:
        return int((self.collection if collection is None else collection).count())

    def existing_ids(self, ids: list[str], collection: Any = None) -> set[str]:
        target = self.collection if collection is None else collection
        found: set[str] = set()
        for start in range(0, len(ids), BATCH):
            found.update(target.get(ids=ids[start : start + BATCH], include=[])["ids"])
        return found

    def all_ids(self, collection: Any = None) -> set[str]:
        target = self.collection if collection is None else collection
        found: set[str] = set()
        offset = 0
        while True:
            got = target.get(include=[], limit=BATCH * 10, offset=offset)["ids"]
            found.update(got)
            if len(got) < BATCH * 10:
                return found
            offset += len(got)

    def fetch(self, ids: list[str], collection: Any = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the given chunks (the ones that exist)."""
        target = self.collection if collection is None else collection
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), BATCH):
            got = target.get(ids=ids[start : start + BATCH], include=["documents", "metadatas"])
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                out[cid] = (text, dict(meta or {}))
        return out

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for start in range(0, len(ids), BATCH):
            got = self.collection.get(ids=ids[start : start + BATCH], include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                out[cid] = [float(x) for x in vec]
        return out

    def live_ids(self) -> set[str]:
        """The live chunk set, computed once per manifest generation rather than on every query.

        Every change to the manifest is followed by a save, which bumps the generation.
        """
        key = (id(self.manifest), self.manifest.collection, self.manifest.generation)
        cached = self._live_cache
        if cached is None or cached[0] != key:
            cached = (key, self.manifest.live_chunk_ids())
            self._live_cache = cached
        return cached[1]

    def query(self, vector: Any, k: int) -> list[tuple[str, float]]:
        """Nearest live chunks by cosine similarity (1 - distance).

        Chunks the manifest doesn't list (a write in progress, leftovers) are skipped; if they crowd out
        the live ones, the query widens until ``k`` live chunks are found or the collection is exhausted.
        """
        live = self.live_ids()
        if not live:
            return []
        # Counting is O(N) in Chroma (~15 ms at 100k chunks), so it happens only when widening; a query for
        # more results than the collection holds just returns fewer.
        total: int | None = None
        n = max(k * 2, k + 4)
        last: Exception | None = None
        while n > 0:
            for attempt in range(2):
                try:
                    res = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
                    break
                except Exception as exc:  # the collection was switched by a rebuild, or a transient server error
                    last = exc
                    if attempt == 0:
                        self.reload_manifest()
                        live = self.live_ids()
                        time.sleep(0.05)
            else:
                raise StoreError(f"the vector store query failed: {last}")
            pairs = [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]
            found = [(cid, sim) for cid, sim in pairs if cid in live]
            if len(found) >= k or len(pairs) < n:
                return found[:k]
            total = self.count() if total is None else total
            if n >= total:
                return found[:k]
            n = min(n * 4, total)
        return []
