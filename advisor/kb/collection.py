"""Chroma, thinly wrapped: the client, the collection lifecycle, and batched reads and writes of chunks.

- :func:`make_client`: embedded (``PersistentClient`` under the data dir) or a server (``HttpClient`` when
  ``ADVISOR_CHROMA_URL`` is set). Telemetry is off: nothing leaves the machine.
- :class:`ChunkCollection`: one collection of chunk vectors, texts and metadata, read and written in
  batches that Chroma accepts. :meth:`ChunkCollection.nearest` is the raw vector query.
- :func:`collection_configuration`: the HNSW settings a new collection gets (see ``HNSW_*`` below for why).
  ``ef_search`` and ``sync_threshold`` can be changed on an existing collection (:meth:`ChunkCollection.tune`);
  ``max_neighbors`` and ``ef_construction`` only by building a new one (``advisor kb rebuild``).

It deliberately knows nothing about the manifest, so it can't tell live chunks from leftovers: that is
:class:`advisor.kb.store.KnowledgeBase`'s job.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlparse

from advisor.errors import ConfigError, StoreError
from advisor.settings import Settings

# Chroma's server rejects very large requests; a thousand chunks per call is well inside its limits.
BATCH = 1000
# Chunks per write to an embedded Chroma, which takes up to 5,461 a call. Each call also saves the HNSW index
# (sync_threshold below) and commits SQLite: at 20k chunks here 5,000 a call wrote 40% fewer bytes and took
# ~10% less time than 1,000.
LOCAL_BATCH = 5000
# Candidates the HNSW search keeps (its ef) on every query: the graph links a small document's chunks poorly
# into a large unrelated one, and Chroma's default (100) missed the true nearest neighbours of career questions
# behind 10k pydoc chunks (benchmarks/RESULTS.md, dense recall). Queries ask for this many results too, so
# collections made before this setting search as wide.
HNSW_EF_SEARCH = 400
# Write the index to disk after every write: a process that opens the store then loads the same graph. With
# Chroma's default (1,000) each process re-inserted the unsaved tail of the log in parallel, in a different
# order, built a different graph and answered the same question differently. 2 is the least Chroma accepts.
HNSW_SYNC_THRESHOLD = 2


def make_client(settings: Settings) -> Any:
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


def collection_name(prefix: str, embed_model: str, suffix: str = "") -> str:
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", embed_model).strip("-._")[:60] or "model"
    name = f"{prefix}-{slug}{('-' + suffix) if suffix else ''}"
    return name[:500]


def collection_metadata(prefix: str, embed_model: str, dimension: int) -> dict[str, Any]:
    """What a collection records about itself: the model and dimension of its vectors, and whose it is."""
    return {
        "embed_model": embed_model,
        "dimension": dimension,
        "hnsw:space": "cosine",
        "advisor_kb": prefix,
        "created": int(time.time()),
    }


def collection_configuration() -> dict[str, Any]:
    """The vector index settings of a new collection (chromadb 1.x ``configuration``; cosine, as the metadata says)."""
    return {
        "hnsw": {
            "space": "cosine",
            "ef_search": HNSW_EF_SEARCH,
            "sync_threshold": HNSW_SYNC_THRESHOLD,
        }
    }


class ChunkCollection:
    """One Chroma collection of chunks; every call is batched. ``chroma`` is the collection itself; ``batch``
    is the most chunks one write sends (:data:`LOCAL_BATCH` for an embedded store)."""

    def __init__(self, chroma: Any, batch: int = BATCH) -> None:
        self.chroma = chroma
        self.batch = batch

    @property
    def name(self) -> str:
        return str(self.chroma.name)

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.chroma.metadata or {})

    def index_settings(self) -> dict[str, Any]:
        """The collection's HNSW settings as Chroma reports them (empty if it reports none)."""
        config = getattr(self.chroma, "configuration_json", None) or {}  # the raw JSON: no deprecation warning
        return dict(config.get("hnsw") or {})

    def tune(self) -> dict[str, Any]:
        """Give an existing collection the search-time settings of :func:`collection_configuration` (the ones Chroma
        lets change). Returns what changed, as {setting: (old, new)}; empty when nothing had to."""
        wanted = {"ef_search": HNSW_EF_SEARCH, "sync_threshold": HNSW_SYNC_THRESHOLD}
        current = self.index_settings()
        changes = {key: (current.get(key), value) for key, value in wanted.items() if current.get(key) != value}
        if changes:
            self.chroma.modify(configuration={"hnsw": {key: new for key, (_, new) in changes.items()}})
        return changes

    def upsert(self, ids: list[str], vectors: Any, texts: list[str], metas: list[dict[str, Any]]) -> None:
        for start in range(0, len(ids), self.batch):
            end = start + self.batch
            self.chroma.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                documents=texts[start:end],
                metadatas=metas[start:end],
            )

    def update_metadata(self, ids: list[str], metas: list[dict[str, Any]]) -> None:
        for start in range(0, len(ids), BATCH):
            self.chroma.update(ids=ids[start : start + BATCH], metadatas=metas[start : start + BATCH])

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), BATCH):
            self.chroma.delete(ids=ids[start : start + BATCH])

    def count(self) -> int:
        return int(self.chroma.count())

    def existing_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), BATCH):
            found.update(self.chroma.get(ids=ids[start : start + BATCH], include=[])["ids"])
        return found

    def all_ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            got = self.chroma.get(include=[], limit=BATCH * 10, offset=offset)["ids"]
            found.update(got)
            if len(got) < BATCH * 10:
                return found
            offset += len(got)

    def fetch(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the given chunks (the ones that exist)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for start in range(0, len(ids), BATCH):
            got = self.chroma.get(ids=ids[start : start + BATCH], include=["documents", "metadatas"])
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                out[cid] = (text, dict(meta or {}))
        return out

    def titles(self, ids: list[str]) -> dict[str, str]:
        """The document title stored with each of the given chunks (the ones that exist)."""
        out: dict[str, str] = {}
        for start in range(0, len(ids), BATCH):
            got = self.chroma.get(ids=ids[start : start + BATCH], include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[cid] = str((meta or {}).get("title", ""))
        return out

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for start in range(0, len(ids), BATCH):
            got = self.chroma.get(ids=ids[start : start + BATCH], include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                out[cid] = [float(x) for x in vec]
        return out

    def vector_rows(self, ids: list[str]) -> tuple[list[str], Any]:
        """The stored vectors of the given chunks that exist: (their IDs, a float32 matrix with one row each)."""
        import numpy as np

        found: list[str] = []
        rows: list[Any] = []
        for start in range(0, len(ids), BATCH):
            got = self.chroma.get(ids=ids[start : start + BATCH], include=["embeddings"])
            if got["ids"]:
                found.extend(got["ids"])
                rows.append(np.asarray(got["embeddings"], dtype=np.float32))
        return found, (np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32))

    def similarities(self, vector: Any, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of ``vector`` to each of the given chunks that exist (from their stored vectors)."""
        import numpy as np

        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        out: dict[str, float] = {}
        for start in range(0, len(ids), BATCH):
            got = self.chroma.get(ids=ids[start : start + BATCH], include=["embeddings"])
            if not got["ids"]:
                continue
            stored = np.asarray(got["embeddings"], dtype=np.float32)
            sims = stored @ query / np.clip(np.linalg.norm(stored, axis=1), 1e-12, None)
            out.update(zip(got["ids"], (float(s) for s in sims), strict=True))
        return out

    def nearest(self, vectors: list[Any], n: int) -> list[list[tuple[str, float]]]:
        """The ``n`` nearest chunks of each vector as (chunk id, cosine similarity), best first."""
        res = self.chroma.query(query_embeddings=vectors, n_results=n, include=["distances"])
        return [
            [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(res["ids"], res["distances"], strict=True)
        ]
