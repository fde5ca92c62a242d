"""The lexical (BM25) index and the live chunks' vectors, kept on disk beside the knowledge base and brought up to
date by the manifest's diff.

What is kept: for every live chunk, its terms as :func:`~advisor.retrieval.lexical.tokenize` makes them from its
section and text (term ids and counts) and its length, and its vector (float32, as written to Chroma, with the
collection and title it was embedded under), in one SQLite file in the data dir
(``lexical-<collection prefix>-v<schema>.sqlite3``, WAL mode), with the manifest generation and collection it
follows and the tokenizer signature it was built with. Each process scores from
:class:`~advisor.retrieval.postings.Postings` loaded from that file, so opening a store reads no chunk text at all,
and :class:`~advisor.kb.exact.ExactVectors` scans the vectors read from it (:meth:`LexicalIndex.vector_rows`:
~1 s for 100k chunks, against ~12 s fetching them from Chroma).

How it follows the knowledge base, document by document (a fingerprint of each document's chunk list, title and
collection says which changed): chunks of changed or removed documents leave; the texts of chunks the file
doesn't hold yet are tokenised and stored, and only those, and so are the vectors of chunks it doesn't hold as
embedded under the document's current title and collection (a re-titled document is embedded again under the
same chunk IDs, and so is every chunk by ``kb rebuild``). A write hands over the texts and vectors it just wrote;
any others are fetched from Chroma. A write applies its own diff right after its manifest commit
(:meth:`LexicalIndex.sync_file`, called by ``KnowledgeBase.save_manifest``); a reader that sees a new generation
applies whatever is left (usually nothing), then the same diff to its postings. Each diff is one SQLite
transaction, with the manifest re-read inside it: no process sees half of one, and none moves the file back to
an older manifest. In server mode each app instance keeps its own file under its own data dir.

What holds: queries return only chunks the current manifest lists; a file that is missing, damaged (not SQLite,
malformed), of another schema or built with another tokenizer is rebuilt from Chroma once, with a logged
message; a removed chunk's rows (its vector too) and the words only it held leave the file (secure delete, then
the write-ahead log is emptied) and stop counting at once; the packed postings keep its id, never its words, until
the next pack.

It deliberately keeps no chunk texts (Chroma has them; the retriever fetches its top hits') and doesn't rank with
SQLite FTS5's ``bm25()``: on the benchmark corpus FTS5 took 21 ms a question at 10k chunks and 75-100 ms at 100k,
against 1-2 ms for the postings, and its BM25 (k1 1.2, idf floored at zero) is not the one the relevance
threshold was tuned on.

The vectors share the file rather than keeping one of their own so that one diff, one transaction and one
rebuild path cover both; an ``.npy`` would load faster (0.1 s at 100k) but has to be rewritten whole on every write.

Long: the file's schema, the diff that writes it and the diff that follows it in memory are one unit; each
relies on what the others keep (fingerprints, term ids that are never reused, the epoch of a rebuild).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from advisor.errors import StoreError
from advisor.retrieval.lexical import tokenize, tokenizer_signature
from advisor.retrieval.postings import Postings, Row, decode, encode, pack_rows

if TYPE_CHECKING:
    from advisor.kb.collection import ChunkCollection
    from advisor.kb.manifest import Manifest
    from advisor.settings import Settings

LOG = logging.getLogger(__name__)
T = TypeVar("T")
Texts = Mapping[str, tuple[str, dict[str, Any]]]  # chunk id -> (text, metadata), as ChunkCollection.fetch gives
Vectors = Mapping[str, Any]  # chunk id -> its vector, as written to Chroma

APPLICATION_ID = 0x4144564C  # "ADVL" in the file header: our lexical index, not another SQLite file
SCHEMA_VERSION = 3  # 3: the vectors table (an older file is rebuilt once, vectors included)
SYNC_WAIT_S = 2.0  # how long a process waits for another's diff (one takes milliseconds; a full build, minutes)
RETRY_AFTER_S = 5.0  # a reader that gave up on a busy file tries again this much later, not on every question
REBUILD_WAIT_S = 120.0  # kb rebuild / verify --repair wait this long for a busy file before failing
FETCH_BATCH = 1000  # chunk texts fetched and tokenised per step of a build: memory stays bounded
SQL_VARS = 500  # values per "IN (...)", well under SQLite's limit on bound variables
PACK_AFTER = 1000  # chunks added or removed since the packed postings before a writer packs them again ...
# ... and this share of the index: a cold open reads the changes since the pack row by row (25% of 100k chunks:
# ~0.7 s), while a pack rewrites every chunk (~3 s at 100k), so a store growing by writes packs ~5x its size in
# all (at 5%: ~20x, a third of a 100k-chunk ingest's lexical index time).
PACK_SHARE = 0.25
SAME_VECTOR = 1e-5  # largest difference of unit vectors taken as the same (float32 rounding is ~1e-7; a change, >1e-3)
TRUNCATE_WAIT_MS = 200  # how long to wait for readers before the log is emptied (else: after a later write)
SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Ids are never reused (AUTOINCREMENT): a process's postings may still hold a removed term's old id.
    "CREATE TABLE terms (id INTEGER PRIMARY KEY AUTOINCREMENT, term TEXT NOT NULL UNIQUE, refs INTEGER NOT NULL)",
    "CREATE TABLE docs (doc_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)",
    "CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, length INTEGER NOT NULL, terms BLOB NOT NULL)",
    "CREATE INDEX chunks_by_doc ON chunks (doc_id)",
    # The postings of all chunks as Postings.pack() gives them, plus "docs" (JSON: [doc id, fingerprint, first
    # slot, end slot] each): a cold open maps these instead of sorting every row's terms.
    "CREATE TABLE packed (name TEXT PRIMARY KEY, data BLOB NOT NULL)",
    # Each live chunk's stored vector (float32 bytes) and what it was embedded under (embedded_key).
    "CREATE TABLE vectors (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, embedded TEXT NOT NULL, vector BLOB NOT NULL)",
    "CREATE INDEX vectors_by_doc ON vectors (doc_id)",
)


def index_path(settings: Settings) -> Path:
    """Where a knowledge base's lexical index lives: in the data dir, one file per collection prefix and schema
    version (processes of two advisor versions sharing a data dir each keep their own, rather than rebuilding
    each other's in turn)."""
    return settings.data_dir / f"lexical-{settings.collection_prefix}-v{SCHEMA_VERSION}.sqlite3"


def index_text(section: str, text: str) -> str:
    """What is tokenised for a chunk: its section path travels with its text."""
    return f"{section}\n{text}"


def fingerprint(chunk_ids: Sequence[str], embedded: str = "") -> str:
    """Of a document's chunk list and what its vectors were embedded under (:func:`embedded_key`): equal
    fingerprints, nothing to do for that document."""
    return hashlib.sha256("\n".join([embedded, *chunk_ids]).encode("utf-8")).hexdigest()[:16]


def embedded_key(collection: str, title: str) -> str:
    """What a document's stored vectors depend on besides their chunks: the collection (a rebuild embeds every
    chunk again, perhaps with another model) and the document's title (embedded with each chunk)."""
    return hashlib.sha256(f"{collection}\0{title}".encode()).hexdigest()[:16]


def _same_vector(blob: bytes, stored: Any) -> bool:
    """Whether a vector in the file is the one Chroma holds: Chroma keeps its own normalised copy of what was
    written (it differs in the last bit of some floats), so they are compared as directions."""
    ours, theirs = np.frombuffer(blob, dtype=np.float32), np.asarray(stored, dtype=np.float32)
    if ours.shape != theirs.shape:
        return False
    unit = [v / max(float(np.linalg.norm(v)), 1e-12) for v in (ours, theirs)]
    return float(np.max(np.abs(unit[0] - unit[1]), initial=0.0)) <= SAME_VECTOR


def _documents(manifest: Manifest) -> dict[str, tuple[str, list[str]]]:
    """doc id -> (:func:`embedded_key`, chunk ids), as the manifest lists them."""
    return {
        doc.doc_id: (embedded_key(manifest.collection, doc.title), list(doc.chunk_ids))
        for doc in list(manifest.documents.values())
    }


class ChunkSource(Protocol):
    """What the index reads from the knowledge base (:class:`~advisor.kb.store.KnowledgeBase` is one)."""

    collection: ChunkCollection

    @property
    def manifest(self) -> Manifest: ...
    def reload_manifest(self) -> bool: ...
    def live_ids(self) -> set[str]: ...


@dataclass
class LexicalCheck:
    """What :meth:`LexicalIndex.check` found: chunk ids by kind of problem, file-level problems, and rebuilds done."""

    missing: list[str] = field(default_factory=list)  # live chunks the file doesn't hold
    stray: list[str] = field(default_factory=list)  # chunks the file holds that no document lists
    mismatched: list[str] = field(default_factory=list)  # held, but not with the terms their text makes
    problems: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    vectors: VectorCheck | None = None  # the stored vectors, when checked


@dataclass
class VectorCheck:
    """The file's vectors against Chroma's: chunk ids by kind of problem."""

    missing: list[str] = field(default_factory=list)  # live chunks whose vector the file doesn't hold
    stray: list[str] = field(default_factory=list)  # vectors of chunks no document lists
    mismatched: list[str] = field(default_factory=list)  # not Chroma's vector, or embedded under another title


def _busy(exc: sqlite3.Error) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


class LexicalIndex:
    """The persisted lexical index of one knowledge base, and this process's postings loaded from it.

    Thread-safe: syncs are serialised; :meth:`top` reads an immutable snapshot and never waits for one.
    """

    def __init__(self, path: Path, source: ChunkSource, pack_after: int = PACK_AFTER) -> None:
        self.path = Path(path)
        self.source = source
        self.pack_after = pack_after
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._conn_at: tuple[int, int | None] = (0, None)  # (pid, inode) the connection was opened for
        self._inherited: list[sqlite3.Connection] = []  # a forked child never closes its parent's connection
        self._epoch = ""  # which build of the file the postings and terms come from
        self._view: tuple[Postings, dict[str, int]] = (Postings.empty(), {})  # postings, term -> id: swapped as one
        self._max_term = 0
        self._loaded: dict[str, tuple[str, list[str]]] = {}  # doc id -> (fingerprint if whole, else "", chunk ids held)
        self._follows: tuple[str, int, str] | None = None  # (collection, generation, tokenizer) followed in full
        self._retry: tuple[tuple[str, int, str], float] | None = None  # (key, not before): a busy file, for a while
        self._events: list[str] = []  # rebuilds done, for the next check() to report
        self._announced = False  # a rebuild was announced (damaged, another schema): no second message

    # -- reading -------------------------------------------------------------------------------------------
    @property
    def current(self) -> bool:
        """Whether this process's postings follow the current manifest (and tokenizer) in full."""
        return self._follows == self._key()

    def _key(self) -> tuple[str, int, str]:
        manifest = self.source.manifest
        return (manifest.collection, manifest.generation, tokenizer_signature())

    def top(self, query: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` best chunks for ``query`` by BM25 as (chunk id, score), best first; only chunks the manifest
        lists. From the postings as of the last :meth:`refresh`."""
        postings, terms = self._view
        ids = [terms[t] for t in dict.fromkeys(tokenize(query)) if t in terms]
        if not ids:
            return []
        live = self.source.live_ids()
        return [(cid, score) for cid, score in postings.top(ids, k) if cid in live]

    def within_documents(self, query: str, chunks: Mapping[str, str]) -> dict[str, float]:
        """BM25 for ``query`` of ``chunks`` (chunk id -> its document's ID) where a word the rest of the chunk's
        document repeats counts for being there rather than for how often: its credit moves from BM25's towards
        that of a single occurrence by the share of the document's other chunks (as the manifest lists them) that
        hold it. A summary that names everything its document compares, many times, gets no more for those names
        than a table row that names each once; a chunk that lacks the name asked about still gets less."""
        postings, terms = self._view
        ids = [terms[t] for t in dict.fromkeys(tokenize(query)) if t in terms]
        idf = {term: postings.idf(term) for term in ids}
        documents = self.source.manifest.documents
        weights: dict[str, dict[int, tuple[float, float]]] = {}
        out: dict[str, float] = {}
        for chunk_id, doc_id in chunks.items():
            slot = postings.slot_of.get(chunk_id)
            if slot is None:
                continue
            if doc_id not in weights:
                listed = documents[doc_id].chunk_ids if doc_id in documents else [chunk_id]
                slots = np.asarray([s for c in listed if (s := postings.slot_of.get(c)) is not None], dtype=np.int32)
                weights[doc_id] = {}
                for term in ids:
                    held = postings.held_by(term, slots) if idf[term] else 0
                    weights[doc_id][term] = (
                        idf[term],
                        (held - 1) / (len(slots) - 1) if held and len(slots) > 1 else 0.0,
                    )
            out[chunk_id] = postings.score(weights[doc_id], slot)
        return out

    def document_frequency(self, term: str) -> int:
        """How many live chunks hold ``term`` (a token as :func:`tokenize` makes it), as of the last :meth:`refresh`."""
        postings, terms = self._view
        term_id = terms.get(term)
        return 0 if term_id is None else postings.document_frequency(term_id)

    def __len__(self) -> int:
        """Chunks in this process's postings."""
        return self._view[0].live_count

    def disk_bytes(self) -> int:
        """The file's size on disk, with its write-ahead log."""
        return sum(p.stat().st_size for p in self._files() if p.exists())

    # -- following the manifest ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the file (unless another process is busy with it) and this process's postings up to the manifest."""
        with self._lock:
            key = self._key()
            if self._follows == key or (self._retry and self._retry[0] == key and time.monotonic() < self._retry[1]):
                return
            self._guarded(self._refresh, None)

    def _refresh(self) -> None:
        conn = self._db()
        filed = self._sync_file(conn, writer=False)
        self._follow(conn)
        self._retry = None if filed and self.current else (self._key(), time.monotonic() + RETRY_AFTER_S)

    def sync_file(self, writer: bool = False, texts: Texts | None = None, vectors: Vectors | None = None) -> bool:
        """Apply the manifest's diff to the file. False: another process was busy with it, so it was left for later.

        ``writer`` (a write's own diff): only when the file is built already, or on the knowledge base's first
        commit; building it whole (a store that never had one, a tokenizer change) is left to the first reader.
        ``texts`` (chunk id -> (text, metadata), as written to Chroma): the new chunks' texts the writer still
        holds, so they aren't fetched back; the others are. ``vectors`` (chunk id -> vector): the same for vectors.
        """
        with self._lock:
            return self._guarded(lambda: self._sync_file(self._db(), writer, texts, vectors), False)

    def _sync_file(
        self, conn: sqlite3.Connection, writer: bool, texts: Texts | None = None, vectors: Vectors | None = None
    ) -> bool:
        signature = tokenizer_signature()
        if self._file_follows(self._meta(conn), self.source.manifest, signature):
            return True
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            LOG.info("the lexical index %s is busy (another process is updating it): catching up later", self.path)
            return False
        truncate = False
        try:
            self.source.reload_manifest()  # the newest manifest, read while holding the file's write lock
            manifest, meta = self.source.manifest, self._meta(conn)
            if not self._file_follows(meta, manifest, signature):
                built = bool(meta.get("generation"))
                if meta.get("tokenizer") != signature:
                    if writer:
                        conn.execute("ROLLBACK")
                        return True
                    LOG.warning(
                        "the lexical index %s was built with another tokenizer (the vocabulary changed): rebuilding it",
                        self.path,
                    )
                    self._clear(conn, signature, keep_vectors=True)
                    self._note("rebuilt the lexical index: it was built with another tokenizer")
                elif writer and not built and manifest.generation != 1:
                    conn.execute("ROLLBACK")
                    return True
                elif not built and manifest.documents and not writer and not self._announced:
                    chunks = sum(len(d.chunk_ids) for d in list(manifest.documents.values()))
                    LOG.warning("building the lexical index %s from %d chunks in Chroma (once)", self.path, chunks)
                truncate = self._apply(conn, manifest, texts, vectors)
                self._announced = False
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if truncate:
            self._truncate_log(conn)
        return True

    @staticmethod
    def _file_follows(meta: dict[str, str], manifest: Manifest, signature: str) -> bool:
        return (meta.get("tokenizer"), meta.get("collection"), meta.get("generation")) == (
            signature,
            manifest.collection,
            str(manifest.generation),
        )

    def _apply(
        self, conn: sqlite3.Connection, manifest: Manifest, texts: Texts | None = None, vectors: Vectors | None = None
    ) -> bool:
        """Make the file hold exactly the manifest's chunks, document by document (inside a write transaction).
        True when its write-ahead log should be emptied after the commit: chunks left the file, or the postings
        were packed again (a log as big as the file)."""
        wanted = _documents(manifest)
        filed = dict(conn.execute("SELECT doc_id, fingerprint FROM docs").fetchall())
        changed = {d: (e, ids) for d, (e, ids) in wanted.items() if filed.get(d) != fingerprint(ids, e)}
        refs: Counter[int] = Counter()
        churn = gone = 0  # chunks' rows added or removed (the postings' churn); vectors removed
        for doc_id in [d for d in filed if d not in wanted]:
            churn += self._delete(conn, "DELETE FROM chunks WHERE doc_id = ? RETURNING terms", [doc_id], refs)
            gone += conn.execute("DELETE FROM vectors WHERE doc_id = ?", (doc_id,)).rowcount
            conn.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))
        held: dict[str, set[str]] = {}
        held_vectors: dict[str, set[str]] = {}
        for doc_id, (embedded, ids) in changed.items():
            keep = set(ids)
            rows = [c for (c,) in conn.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))]
            for chunk_id in rows:
                if chunk_id not in keep:
                    sql = "DELETE FROM chunks WHERE chunk_id = ? RETURNING terms"
                    churn += self._delete(conn, sql, [chunk_id], refs)
            held[doc_id] = keep.intersection(rows)
            # A vector leaves with its chunk, and when it was embedded again (a new title, a rebuilt collection).
            sql = "SELECT chunk_id, embedded FROM vectors WHERE doc_id = ?"
            filed_vectors = conn.execute(sql, (doc_id,)).fetchall()
            stale = [c for c, key in filed_vectors if c not in keep or key != embedded]
            for part in _chunked(stale, SQL_VARS):
                gone += conn.execute(f"DELETE FROM vectors WHERE chunk_id IN ({_marks(len(part))})", part).rowcount
            held_vectors[doc_id] = keep.intersection(c for c, _ in filed_vectors).difference(stale)
        owner = {c: d for d, (_, ids) in changed.items() for c in ids if c not in held[d]}
        added = self._insert(conn, list(owner), owner, refs, texts)
        keyed = {c: (d, e) for d, (e, ids) in changed.items() for c in ids if c not in held_vectors[d]}
        added_vectors = self._insert_vectors(conn, keyed, vectors)
        for doc_id, (embedded, ids) in changed.items():
            lexical = [c for c in ids if c in held[doc_id] or c in added]
            dense = {c for c in ids if c in held_vectors[doc_id] or c in added_vectors}
            stored = [c for c in lexical if c in dense]  # a chunk missing either is asked for again next time
            conn.execute("INSERT OR REPLACE INTO docs VALUES (?, ?)", (doc_id, fingerprint(stored, embedded)))
        conn.executemany("UPDATE terms SET refs = refs + ? WHERE id = ?", [(n, t) for t, n in refs.items() if n])
        conn.execute("DELETE FROM terms WHERE refs <= 0")
        truncate = churn + gone > 0  # rows left: their pages are zeroed, their images leave the log too
        churn += len(added) + int(self._meta(conn).get("churn", "0"))
        if churn >= self.pack_after and churn >= PACK_SHARE * conn.execute("SELECT count(*) FROM chunks").fetchone()[0]:
            self._pack(conn)
            churn, truncate = 0, True
        self._set_meta(conn, collection=manifest.collection, generation=str(manifest.generation), churn=str(churn))
        return truncate

    @staticmethod
    def _pack(conn: sqlite3.Connection) -> None:
        """Store the postings of every chunk in the file, packed (inside a write transaction). Reads the rows twice,
        a batch at a time: memory stays at the packed arrays' size (a write at 100k chunks peaked 200 MB higher
        holding every row and sorting all postings at once)."""

        def rows() -> Iterator[list[Row]]:
            cursor = conn.execute("SELECT chunk_id, length, terms FROM chunks ORDER BY doc_id, rowid")
            while batch := cursor.fetchmany(FETCH_BATCH):
                yield [Row(c, n, terms) for c, n, terms in batch]

        packed = pack_rows(rows)
        fingerprints = dict(conn.execute("SELECT doc_id, fingerprint FROM docs").fetchall())
        docs, slot = [], 0
        for doc_id, count in conn.execute("SELECT doc_id, count(*) FROM chunks GROUP BY doc_id ORDER BY doc_id"):
            docs.append([doc_id, fingerprints.get(doc_id, ""), slot, slot + count])
            slot += count
        packed["docs"] = json.dumps(docs).encode("utf-8")
        conn.execute("DELETE FROM packed")
        conn.executemany("INSERT INTO packed VALUES (?, ?)", list(packed.items()))

    @staticmethod
    def _unpack(conn: sqlite3.Connection) -> tuple[Postings, dict[str, tuple[str, list[str]]]]:
        """The packed postings and, per document, (fingerprint, chunk ids) as :meth:`_follow` keeps them."""
        packed = dict(conn.execute("SELECT name, data FROM packed").fetchall())
        if not packed:
            return Postings.empty(), {}
        postings = Postings.unpack(packed)
        ids = postings.chunk_ids
        docs = json.loads(packed["docs"])
        return postings, {doc_id: (fp, ids[start:end]) for doc_id, fp, start, end in docs}

    @staticmethod
    def _truncate_log(conn: sqlite3.Connection) -> None:
        """Move the write-ahead log into the file and empty it, unless a reader still needs it (then a later write
        does): removed words leave the log too (secure delete zeroed their pages), and a big write's log its space."""
        conn.execute(f"PRAGMA busy_timeout = {TRUNCATE_WAIT_MS}")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(SYNC_WAIT_S * 1000)}")

    def _insert(
        self, conn: sqlite3.Connection, ids: list[str], owner: dict[str, str], refs: Counter[int], texts: Texts | None
    ) -> set[str]:
        """Tokenise and store the chunks ``ids`` (texts from ``texts``, the others from Chroma); returns the ones
        stored."""
        stored: set[str] = set()
        texts = texts or {}
        for part in _chunked(ids, FETCH_BATCH):
            got = {c: texts[c] for c in part if c in texts}
            if len(got) < len(part):
                got.update(self.source.collection.fetch([c for c in part if c not in got]))
            tokens = {c: tokenize(index_text(str(meta.get("section", "")), text)) for c, (text, meta) in got.items()}
            term_ids = self._term_ids(conn, {t for words in tokens.values() for t in words})
            placed = list(tokens)
            for batch in _chunked(placed, SQL_VARS):  # a chunk filed under another document moves
                sql = f"DELETE FROM chunks WHERE chunk_id IN ({_marks(len(batch))}) RETURNING terms"
                self._delete(conn, sql, batch, refs)
            rows = []
            for chunk_id, words in tokens.items():
                counts = Counter(term_ids[t] for t in words)
                refs.update(counts.keys())
                rows.append((chunk_id, owner[chunk_id], len(words), encode(counts.items())))
            conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", rows)
            stored.update(placed)
        return stored

    def _insert_vectors(
        self, conn: sqlite3.Connection, keyed: dict[str, tuple[str, str]], vectors: Vectors | None
    ) -> set[str]:
        """Store the vectors of chunks ``keyed`` (chunk id -> (doc id, :func:`embedded_key`)): from ``vectors``,
        the others from Chroma; returns the ones stored."""
        stored: set[str] = set()
        vectors = vectors or {}
        for part in _chunked(list(keyed), FETCH_BATCH):
            got = {c: vectors[c] for c in part if c in vectors}
            if len(got) < len(part):
                ids, rows = self.source.collection.vector_rows([c for c in part if c not in got])
                got.update(zip(ids, rows, strict=True))
            conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)",
                [(c, *keyed[c], np.asarray(v, dtype=np.float32).tobytes()) for c, v in got.items()],
            )
            stored.update(got)
        return stored

    def vector_rows(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray] | None:
        """The vectors the file holds of chunks ``ids`` as (their IDs, a float32 matrix with one row each), after
        bringing the file up to the manifest as a reader would. None when it couldn't be (another process was busy
        with it): the caller asks Chroma instead."""
        with self._lock:
            return self._guarded(lambda: self._vector_rows(ids), None)

    def _vector_rows(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray] | None:
        conn = self._db()
        if not self._sync_file(conn, writer=False):
            return None
        dimension = self.source.manifest.dimension
        found: list[str] = []
        matrix = np.zeros((len(ids), dimension), dtype=np.float32)
        conn.execute("BEGIN")  # one snapshot
        try:
            if len(ids) > SQL_VARS * 4:  # many: one pass over the table, a batch at a time (memory: the matrix)
                wanted = set(ids)
                cursor = conn.execute("SELECT chunk_id, vector FROM vectors")
                batches: Iterable[list[tuple[str, bytes]]] = iter(lambda: cursor.fetchmany(FETCH_BATCH), [])
            else:
                batches = (
                    conn.execute(
                        f"SELECT chunk_id, vector FROM vectors WHERE chunk_id IN ({_marks(len(p))})", p
                    ).fetchall()
                    for p in _chunked(list(ids), SQL_VARS)
                )
                wanted = None
            for batch in batches:  # joined a batch at a time: a row at a time took 0.6 s of 1.2 s at 100k
                kept = [(c, b) for c, b in batch if (wanted is None or c in wanted) and len(b) == dimension * 4]
                if kept:
                    rows = np.frombuffer(b"".join(b for _, b in kept), dtype=np.float32).reshape(-1, dimension)
                    matrix[len(found) : len(found) + len(kept)] = rows
                    found.extend(c for c, _ in kept)
        finally:
            conn.execute("COMMIT")
        return found, matrix[: len(found)]

    @staticmethod
    def _delete(conn: sqlite3.Connection, sql: str, params: Sequence[str], refs: Counter[int]) -> int:
        """Run a ``DELETE ... RETURNING terms``, taking the deleted chunks' terms off ``refs``; how many went."""
        gone = conn.execute(sql, params).fetchall()
        for (terms,) in gone:
            refs.subtract(decode(terms).keys())
        return len(gone)

    @staticmethod
    def _term_ids(conn: sqlite3.Connection, terms: set[str]) -> dict[str, int]:
        """Ids of ``terms`` in the file, adding the new ones (inside a write transaction: the file is the authority)."""
        found: dict[str, int] = {}
        wanted = sorted(terms)
        for part in _chunked(wanted, SQL_VARS):
            found.update(conn.execute(f"SELECT term, id FROM terms WHERE term IN ({_marks(len(part))})", part))
        new = [t for t in wanted if t not in found]
        conn.executemany("INSERT INTO terms (term, refs) VALUES (?, 0)", [(t,) for t in new])
        for part in _chunked(new, SQL_VARS):
            found.update(conn.execute(f"SELECT term, id FROM terms WHERE term IN ({_marks(len(part))})", part))
        return found

    def _follow(self, conn: sqlite3.Connection) -> None:
        """This process's postings take the manifest's diff from the file, read in one snapshot."""
        manifest, signature = self.source.manifest, tokenizer_signature()
        documents = _documents(manifest)
        wanted = {d: ids for d, (_, ids) in documents.items()}
        conn.execute("BEGIN")
        try:
            meta = self._meta(conn)
            same = meta.get("epoch") == self._epoch  # else a new or rebuilt file: start from its packed postings
            postings, terms = self._view if same else (Postings.empty(), {})
            max_term, had = (self._max_term, self._loaded) if same else (0, {})
            if not same:
                postings, had = self._unpack(conn)
            new_terms = conn.execute("SELECT id, term FROM terms WHERE id > ?", (max_term,)).fetchall()
            changed = {d for d, (e, ids) in documents.items() if had.get(d, ("",))[0] != fingerprint(ids, e)}
            rows = self._rows(conn, [c for d in changed for c in wanted[d]])
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        for term_id, term in new_terms:  # in place is harmless: a new id has no postings in the old snapshot yet
            terms[term] = term_id  # a term removed and added again has a new id: the newest wins
            max_term = max(max_term, term_id)
        loaded = {d: v for d, v in had.items() if d in wanted}
        removed = [c for d, (_, held) in had.items() if d not in wanted or d in changed for c in held]
        added: list[Row] = []
        for doc_id in (d for d in wanted if d in changed):  # manifest order: slots alike in every process
            held = [c for c in wanted[doc_id] if c in rows]
            added.extend(rows[c] for c in held)
            whole = len(held) == len(wanted[doc_id])
            loaded[doc_id] = (fingerprint(wanted[doc_id], documents[doc_id][0]) if whole else "", held)
        self._view = (postings.apply(removed, added), terms)  # one assignment: a query sees both or neither
        self._epoch, self._max_term, self._loaded = meta.get("epoch", ""), max_term, loaded
        whole = meta.get("tokenizer") == signature and all(fp for fp, _ in loaded.values())
        self._follows = (manifest.collection, manifest.generation, signature) if whole else None

    def _rows(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, Row]:
        """The file's rows of chunks ``ids``: by id when they are few, in one pass over the file when many."""
        select = "SELECT chunk_id, length, terms FROM chunks"
        if len(ids) > SQL_VARS * 4:
            wanted = set(ids)
            found = conn.execute(select).fetchall()
            return {c: Row(c, n, terms) for c, n, terms in found if c in wanted}
        out: dict[str, Row] = {}
        for part in _chunked(ids, SQL_VARS):
            for c, n, terms in conn.execute(f"{select} WHERE chunk_id IN ({_marks(len(part))})", part):
                out[c] = Row(c, n, terms)
        return out

    # -- rebuilding and checking -----------------------------------------------------------------------------------
    def rebuild(self, texts: Texts | None = None) -> None:
        """Index every live chunk from scratch (``kb rebuild``, ``kb verify --repair``), in one transaction: from
        ``texts`` when given (chunk id -> (text, metadata)), the chunks it lacks from Chroma."""
        with self._lock:
            self._guarded(lambda: self._rebuild(texts), None)

    def _rebuild(self, texts: Texts | None) -> None:
        conn = self._db()
        conn.execute(f"PRAGMA busy_timeout = {int(REBUILD_WAIT_S * 1000)}")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreError(f"the lexical index {self.path} stayed busy (another process); try again") from None
            raise
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(SYNC_WAIT_S * 1000)}")
        try:
            self.source.reload_manifest()
            self._clear(conn, tokenizer_signature())
            self._apply(conn, self.source.manifest, texts)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._truncate_log(conn)
        self._follow(conn)

    def check(self, stored: Texts, vectors: Vectors | None = None) -> LexicalCheck:
        """Bring the file up to date as a reader would, then compare it with the manifest, with the terms the
        chunk texts ``stored`` (chunk id -> (text, metadata), from Chroma) make and with the vectors ``vectors``
        (chunk id -> vector, from Chroma). Slow: it tokenises them all."""
        with self._lock:
            busy = LexicalCheck(problems=[f"the lexical index {self.path} is busy (another process): check again"])
            result = self._guarded(lambda: self._check(stored), busy)
            if vectors is not None and not result.problems:
                result.vectors = self._guarded(lambda: self._check_vectors(vectors), VectorCheck())
            result.rebuilt, self._events = self._events, []
            return result

    def _check_vectors(self, stored: Vectors) -> VectorCheck:
        """The file's vectors against the manifest (each live chunk's, as embedded now) and ``stored``."""
        result = VectorCheck()
        keys = {c: e for e, ids in _documents(self.source.manifest).values() for c in ids}
        held: set[str] = set()
        for chunk_id, key, blob in self._db().execute("SELECT chunk_id, embedded, vector FROM vectors"):
            held.add(chunk_id)
            if chunk_id not in keys:
                result.stray.append(chunk_id)
            elif chunk_id in stored and (key != keys[chunk_id] or not _same_vector(blob, stored[chunk_id])):
                result.mismatched.append(chunk_id)
        result.missing = sorted(set(keys).intersection(stored) - held)  # chunks Chroma lost are verify's finding
        result.stray.sort()
        result.mismatched.sort()
        return result

    def _check(self, stored: Texts) -> LexicalCheck:
        conn = self._db()
        result = LexicalCheck()
        if not self._sync_file(conn, writer=False):
            result.problems.append(f"the lexical index {self.path} is busy (another process): check again")
            return result
        integrity = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if integrity != "ok":
            result.problems.append(f"the lexical index {self.path} is damaged ({integrity})")
            return result
        manifest = self.source.manifest
        terms = dict(conn.execute("SELECT id, term FROM terms").fetchall())
        refs = {t: n for t, n in conn.execute("SELECT id, refs FROM terms") if n}
        counted: Counter[int] = Counter()
        held: dict[str, tuple[int, int, float]] = {}  # chunk id -> (length, distinct terms, checksum of its terms)
        for chunk_id, length, blob in conn.execute("SELECT chunk_id, length, terms FROM chunks"):
            counts = decode(blob)
            held[chunk_id] = (length, len(counts), float(sum(t * 65_537 + n for t, n in counts.items())))
            counted.update(counts.keys())
            if chunk_id in stored:
                text, meta = stored[chunk_id]
                expected = Counter(tokenize(index_text(str(meta.get("section", "")), text)))
                got = {terms.get(t, f"#{t}"): n for t, n in counts.items()}
                if got != dict(expected) or length != sum(expected.values()):
                    result.mismatched.append(chunk_id)
        live = manifest.live_chunk_ids()
        result.missing = sorted((live & set(stored)) - set(held))  # chunks Chroma lost are verify's own finding
        result.stray = sorted(set(held) - live)
        result.mismatched.sort()
        if dict(counted) != refs:
            result.problems.append("the lexical index's term counts disagree with its chunks")
        if self._packed_disagrees(conn, held):
            result.problems.append("the lexical index's packed postings disagree with its chunks")
        return result

    def _packed_disagrees(self, conn: sqlite3.Connection, held: dict[str, tuple[int, int, float]]) -> bool:
        """Whether the packed postings of documents that haven't changed since differ from their chunks' rows."""
        postings, docs = self._unpack(conn)
        if not postings.segments:
            return False
        slots, terms, tfs = postings.segments[0].entries()
        n = len(postings.chunk_ids)
        distinct = np.bincount(slots, minlength=n)
        checksum = np.bincount(slots, weights=terms.astype(np.float64) * 65_537 + tfs, minlength=n)
        filed = dict(conn.execute("SELECT doc_id, fingerprint FROM docs").fetchall())
        for doc_id, (fp, ids) in docs.items():
            if not fp or filed.get(doc_id) != fp:
                continue  # changed since the pack: read from its rows, not from the pack
            for chunk_id in ids:
                slot = postings.slot_of[chunk_id]
                packed = (int(postings.lengths[slot]), int(distinct[slot]), float(checksum[slot]))
                if held.get(chunk_id) != packed:
                    return True
        return False

    # -- the file ----------------------------------------------------------------------------------------------
    def _files(self) -> list[Path]:
        return [self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")]

    def _note(self, event: str) -> None:
        self._events.append(event)

    def _guarded(self, action: Callable[[], T], busy: T) -> T:
        """Run ``action``. A busy file gives ``busy``; a damaged one is replaced by an empty file and ``action``
        runs again (filling it from Chroma), once, with a logged message. Failing again is a StoreError."""
        try:
            return action()
        except sqlite3.Error as exc:
            if _busy(exc):
                LOG.info("the lexical index %s is busy (%s): catching up later", self.path, exc)
                return busy
            LOG.warning("the lexical index %s is damaged (%s): rebuilding it from the knowledge base", self.path, exc)
            self._note(f"rebuilt the lexical index: it was damaged ({exc})")
            self._replace_file()
        try:
            return action()
        except sqlite3.Error as exc:
            raise StoreError(
                f"the lexical index {self.path} can't be rebuilt ({exc}); check the disk and permissions of the data dir"
            ) from None

    def _replace_file(self) -> None:
        """Delete the damaged file (unless another process replaced it meanwhile); the next connection makes a new one."""
        from filelock import FileLock

        damaged = self._conn_at[1]
        self._close()
        self._announced = True
        try:
            with FileLock(f"{self.path}.lock", timeout=REBUILD_WAIT_S):
                if _inode(self.path) == damaged:
                    for path in self._files():
                        path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"can't replace the damaged lexical index {self.path}: {exc}") from None

    def _close(self) -> None:
        if self._conn is not None:
            if self._conn_at[0] == os.getpid():
                self._conn.close()
            else:
                self._inherited.append(self._conn)
        self._conn = None

    def _db(self) -> sqlite3.Connection:
        """This process's connection, reopened when the file was replaced (another process rebuilt a damaged one)."""
        if self._conn is None or self._conn_at != (os.getpid(), _inode(self.path)):
            self._close()
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=SYNC_WAIT_S, isolation_level=None, check_same_thread=False)
        self._conn_at = (os.getpid(), _inode(self.path))
        try:
            if self._identity(conn) != (APPLICATION_ID, SCHEMA_VERSION):
                self._create(conn)
            conn.execute(
                "PRAGMA synchronous = NORMAL"
            )  # WAL: a power cut may lose the last diff (redone), never corrupt
            conn.execute("PRAGMA secure_delete = ON")  # a removed chunk's terms are overwritten, not left in free pages
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
        return conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]

    def _create(self, conn: sqlite3.Connection) -> None:
        """Lay out an empty index (replacing whatever another schema left at this path), once across processes."""
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id, version = self._identity(conn)
            if (app_id, version) != (APPLICATION_ID, SCHEMA_VERSION):
                names = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                tables = [name for (name,) in conn.execute(names).fetchall()]
                if tables:
                    LOG.warning("the lexical index %s has another schema (%s): rebuilding it", self.path, version)
                    self._note(f"rebuilt the lexical index: it had another schema ({version})")
                    self._announced = True
                for table in tables:
                    conn.execute(f'DROP TABLE "{table}"')
                for statement in SCHEMA:
                    conn.execute(statement)
                self._set_meta(conn, epoch=uuid.uuid4().hex, tokenizer=tokenizer_signature())
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _clear(self, conn: sqlite3.Connection, signature: str, keep_vectors: bool = False) -> None:
        """Empty the file for a rebuild (inside a write transaction); a new epoch makes every process reload.
        ``keep_vectors``: the tokenizer changed, not the vectors (the rebuild keeps those still listed as embedded)."""
        for table in ("chunks", "docs", "terms", "meta", "packed", *(() if keep_vectors else ("vectors",))):
            conn.execute(f"DELETE FROM {table}")
        self._set_meta(conn, epoch=uuid.uuid4().hex, tokenizer=signature)

    @staticmethod
    def _meta(conn: sqlite3.Connection) -> dict[str, str]:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, **values: str) -> None:
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
