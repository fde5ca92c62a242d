"""The knowledge base on disk: the manifest (what is live) over a Chroma collection (the chunks), one writer.

:class:`KnowledgeBase` composes :class:`~advisor.kb.manifest.ManifestStore` and
:class:`~advisor.kb.collection.ChunkCollection` and adds what needs both:

- opening the collection the manifest names, refusing one built with another embedding model
  (the message names ``advisor kb rebuild``);
- following another process's commit: reload the manifest, and reopen an embedded Chroma client, whose
  in-memory index doesn't see other processes' writes otherwise;
- the writer lock: a file lock in the data dir; a second writer waits briefly, then fails clearly. In
  server mode that lock only covers one machine; a write committed by another machine meanwhile is
  detected when the manifest is saved, and the later writer is refused;
- queries that return only live chunks (the ones the manifest lists), widening when leftovers crowd them out;
- the lexical index and live vectors (:mod:`advisor.retrieval.lexical_index`) that follow the manifest: every
  commit applies its own diff to them at once, so readers find it done; the exact scan reads the vectors.

It deliberately knows nothing about files, chunking or embeddings: see ingest.py and maintenance.py."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from advisor.errors import EmbeddingMismatchError, StoreError, StoreLockedError
from advisor.kb.collection import (
    BATCH,
    HNSW_EF_SEARCH,
    LOCAL_BATCH,
    ChunkCollection,
    collection_configuration,
    collection_metadata,
    collection_name,
    make_client,
)
from advisor.kb.exact import EXACT_BELOW, ExactVectors
from advisor.kb.manifest import FileManifest, Manifest, ManifestStore, ServerManifest
from advisor.retrieval.lexical_index import LexicalIndex, Texts, Vectors, index_path
from advisor.settings import Settings

__all__ = ["KnowledgeBase"]

LOG = logging.getLogger(__name__)
LOCK_TIMEOUT_S = 5.0


class KnowledgeBase:
    """Manifest + chunk collection + the lexical index that follows them. ``check_model=False`` opens a store built
    with another model (for rebuild); ``lexical`` is an index of one's own (default: the data dir's, opened on use);
    ``exact_below``: up to how many live chunks :meth:`query` scans every vector instead of Chroma's graph."""

    def __init__(
        self,
        settings: Settings,
        embed_model: str,
        dimension: int,
        check_model: bool = True,
        lexical: LexicalIndex | None = None,
        exact_below: int = EXACT_BELOW,
    ) -> None:
        self.settings = settings
        self.embed_model = embed_model
        self.dimension = dimension
        self.check_model = check_model
        self.server = bool(settings.chroma_url)
        self.client = make_client(settings)
        backend = (
            ServerManifest(self.client, f"{settings.collection_prefix}-manifest")
            if self.server
            else FileManifest(settings.manifest_path)
        )
        self.manifests = ManifestStore(
            backend, collection_name(settings.collection_prefix, embed_model), embed_model, dimension, check_model
        )
        self._live_cache: tuple[Any, set[str]] | None = None
        self._lexical = lexical
        self._lexical_lock = threading.Lock()
        self.exact_below = exact_below
        self.collection = self._open_collection(self.manifest.collection, create=True)
        self._exact = ExactVectors(
            lambda ids: self.collection.vector_rows(ids), dimension, lambda ids: self.lexical.vector_rows(ids)
        )

    @property
    def manifest(self) -> Manifest:
        return self.manifests.manifest

    @property
    def lexical(self) -> LexicalIndex:
        """The lexical index of this knowledge base (no I/O until it is used)."""
        if self._lexical is None:
            with self._lexical_lock:
                if self._lexical is None:
                    self._lexical = LexicalIndex(index_path(self.settings), self)
        return self._lexical

    @property
    def is_new(self) -> bool:
        """No manifest was ever committed: the knowledge base has never been written."""
        return self.manifests.is_new

    # -- collections -------------------------------------------------------------------------------
    def _open_collection(self, name: str, create: bool = False) -> ChunkCollection:
        try:
            if create:
                meta = collection_metadata(
                    self.settings.collection_prefix, self.manifest.embed_model, self.manifest.dimension
                )
                chroma = self.client.get_or_create_collection(
                    name=name, metadata=meta, configuration=collection_configuration(), embedding_function=None
                )
            else:
                chroma = self.client.get_collection(name=name, embedding_function=None)
        except Exception as exc:  # network or server errors from chromadb
            raise StoreError(f"cannot open the Chroma collection {name}: {exc}") from None
        meta = chroma.metadata or {}
        if self.check_model and (
            meta.get("embed_model") not in (None, self.embed_model)
            or meta.get("dimension") not in (None, self.dimension)
        ):
            raise EmbeddingMismatchError(
                f"the collection {name} holds vectors from {meta.get('embed_model')} ({meta.get('dimension')} dimensions), "
                f"not {self.embed_model}; re-index with: advisor kb rebuild"
            )
        return ChunkCollection(chroma, BATCH if self.server else LOCAL_BATCH)

    def new_collection(self, embed_model: str, dimension: int) -> ChunkCollection:
        """A fresh, empty collection for a rebuild (a unique name, so a crashed rebuild never gets reused)."""
        prefix = self.settings.collection_prefix
        name = collection_name(prefix, embed_model, uuid.uuid4().hex[:8])
        try:
            chroma = self.client.create_collection(
                name=name,
                metadata=collection_metadata(prefix, embed_model, dimension),
                configuration=collection_configuration(),
                embedding_function=None,
            )
        except Exception as exc:  # network or server errors from chromadb
            raise StoreError(f"cannot create the Chroma collection {name}: {exc}") from None
        return ChunkCollection(chroma, BATCH if self.server else LOCAL_BATCH)

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

    def adopt_model(self, embed_model: str, dimension: int) -> None:
        """After a rebuild: from now on, check against the new model (the manifest already names it)."""
        self.embed_model, self.dimension, self.check_model = embed_model, dimension, True
        self.manifests.embed_model, self.manifests.dimension, self.manifests.check_model = embed_model, dimension, True

    # -- following other processes ---------------------------------------------------------------------
    def reload_manifest(self) -> bool:
        """Re-read the manifest if another process changed it (a cheap check when it didn't). True when it changed."""
        with self.manifests.mutex:
            reread, changed = self.manifests.reload()
            if reread:
                self._reopen_client()
                self.collection = self._open_collection(self.manifest.collection)
            return changed

    def _reopen_client(self) -> None:
        """Embedded Chroma keeps its vector index in memory: another process's writes only show after a reopen."""
        if self.server:
            return
        with contextlib.suppress(Exception):  # closing a client that is already gone is fine
            self.client.close()
        self.client = make_client(self.settings)

    def tune_index(self) -> list[str]:
        """Give the live collection today's search-time index settings if it was made with older ones (call it
        holding the writer lock). The index is then reopened and saved, so every process loads the same graph.
        Settings fixed at creation stay as they are until ``advisor kb rebuild``. Returns what it did."""
        changes = self.collection.tune()
        if not changes:
            return []
        self._reopen_client()
        self.collection = self._open_collection(self.manifest.collection)
        if self.live_ids():  # loading the index re-applies the unsaved part of its log, which now saves it
            self.collection.nearest([[1.0] + [0.0] * (self.dimension - 1)], 1)
        done = ", ".join(f"{key} {old} -> {new}" for key, (old, new) in sorted(changes.items()))
        note = f"updated the vector index settings of {self.collection.name} ({done})"
        LOG.warning("%s", note)
        return [note]

    # -- writing ---------------------------------------------------------------------------------------
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

    def save_manifest(self, texts: Texts | None = None, vectors: Vectors | None = None) -> None:
        """Commit the manifest (bumping its generation), then apply the commit's diff to the lexical index (from
        ``texts``, chunk id -> (text, metadata), and ``vectors``, chunk id -> vector, for the new chunks the caller
        just wrote; others come from Chroma). Refused if another writer committed since we read it."""
        self.manifests.save()
        try:
            self.lexical.sync_file(writer=True, texts=texts, vectors=vectors)
        except Exception:  # the commit stands: a derived index failing must not make the write look failed
            LOG.warning("the lexical index didn't follow this write; the next question catches up", exc_info=True)

    # -- reading ---------------------------------------------------------------------------------------
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

    def similarities(self, vector: Any, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of ``vector`` to the given live chunks (others are left out), by the scan's vectors if
        :meth:`query` scans (Chroma's first read after another process's write: up to ~1 s at 100k)."""
        live = self.live_ids()
        wanted = [cid for cid in ids if cid in live]
        if len(live) <= self.exact_below:
            return self._exact.similarities(self.manifest, vector, wanted)
        return self.collection.similarities(vector, wanted)

    def query(self, vector: Any, k: int) -> list[tuple[str, float]]:
        """Nearest live chunks by cosine similarity (1 - distance), best first; equal similarities by chunk ID.

        Up to ``exact_below`` live chunks every live vector is scanned (:mod:`advisor.kb.exact`): the true nearest
        neighbours. Past that, Chroma is asked for at least ``HNSW_EF_SEARCH`` results (its graph searches that wide
        even on a collection made with narrower settings). Chunks the manifest doesn't list (a write in progress,
        leftovers) are skipped; if they crowd out the live ones, the query widens until ``k`` are found or none is left.
        """
        live, total, last = self.live_ids(), None, None
        if not live:
            return []
        n = max(k * 2, k + 4, HNSW_EF_SEARCH)
        while n > 0:
            for attempt in range(2):
                try:
                    if len(live) <= self.exact_below:
                        return self._exact.nearest(self.manifest, vector, k)
                    pairs = self.collection.nearest([vector], n)[0]
                    break
                except Exception as exc:  # the collection was switched by a rebuild, or a transient server error
                    last = exc
                    if attempt == 0:
                        self.reload_manifest()
                        live = self.live_ids()
                        time.sleep(0.05)
            else:
                raise StoreError(f"the vector store query failed: {last}")
            found = sorted(((cid, sim) for cid, sim in pairs if cid in live), key=lambda p: (-p[1], p[0]))
            if len(found) >= k or len(pairs) < n:
                return found[:k]
            total = self.collection.count() if total is None else total
            if n >= total:
                return found[:k]
            n = min(n * 4, total)
        return []
