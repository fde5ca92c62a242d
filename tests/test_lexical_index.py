"""The persisted lexical index: BM25 as before, kept on disk, following the manifest by its diff.

On a real embedded Chroma in ``tmp_path`` with a word-hashing stand-in embedder (the lexical side doesn't
care what the vectors say), plus the real article; the tests that start processes or a Chroma server are in
the slow tier. "Another process" in the fast tests is a second KnowledgeBase on the same data dir: its own
SQLite connection and manifest, as a process would have.
"""

from __future__ import annotations

import hashlib
import logging
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor import vocabulary
from advisor.errors import StoreError
from advisor.kb import ingest
from advisor.kb import maintenance as kbm
from advisor.kb.batch import chunk_meta
from advisor.kb.chunking import chunk_document
from advisor.kb.loaders import load_path
from advisor.kb.store import KnowledgeBase
from advisor.retrieval.lexical import BM25Index, tokenize
from advisor.retrieval.lexical_index import LexicalIndex, index_path, index_text
from advisor.retrieval.postings import Postings, Row, encode, pack_rows
from advisor.retrieval.retriever import RERANK_DEPTH, Retriever
from advisor.settings import PROJECT_DIR, Settings
from tests.conftest import make_settings
from tests.servers import chroma_server, store_env, store_settings  # noqa: F401  (fixtures)

ARTICLE = PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md"
QUESTIONS = [
    "Which role pays the most?",
    "What does an ML engineer do day to day?",
    "Do I need a PhD to become a data scientist?",
    "How do the interviews differ for AI engineers?",
    "What does the otter team review on day 4?",
    "lasagna recipe",
]


class HashEmbedder:
    """A stand-in embedding model (hashed words): deterministic and instant."""

    name = "hash-words-64"
    dimension = 64

    def embed(self, texts):  # type: ignore[no-untyped-def]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


EMBEDDER = HashEmbedder()


def notes(animal: str, version: str = "one", sections: int = 3) -> str:
    parts = [f"# Notes on {animal}\n"]
    for i in range(sections):
        parts.append(
            f"## Part {i} of the {animal} file\n\nThe {animal} team reviews fact {i} of version {version} on day "
            f"{i + 3}. "
            + " ".join(f"Finding {j} about {animal} habitat {i} is logged for the survey." for j in range(12))
        )
    return "\n\n".join(parts) + "\n"


def open_kb(settings: Settings, lexical: LexicalIndex | None = None) -> KnowledgeBase:
    return KnowledgeBase(settings, EMBEDDER.name, EMBEDDER.dimension, lexical=lexical)


def add(kb: KnowledgeBase, folder: Path, name: str, text: str) -> ingest.Change:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return ingest.add_document(kb, EMBEDDER, load_path(folder / name, 10**6))  # type: ignore[arg-type]


class Counting:
    """The knowledge base as the lexical index sees it, counting the chunk texts and vectors it fetches from Chroma."""

    def __init__(self, kb: KnowledgeBase | None = None) -> None:
        self.kb: Any = kb
        self.fetched: list[str] = []
        self.vectors_fetched: list[str] = []

    @property
    def manifest(self):  # type: ignore[no-untyped-def]
        return self.kb.manifest

    def reload_manifest(self) -> bool:
        return self.kb.reload_manifest()

    def live_ids(self) -> set[str]:
        return self.kb.live_ids()

    @property
    def collection(self) -> Any:
        counting = self

        class Fetching:
            def fetch(self, ids: list[str]) -> dict[str, Any]:
                counting.fetched.extend(ids)
                return counting.kb.collection.fetch(ids)

            def vector_rows(self, ids: list[str]) -> Any:
                counting.vectors_fetched.extend(ids)
                return counting.kb.collection.vector_rows(ids)

        return Fetching()


def counted(settings: Settings, path: Path | None = None, **options: Any) -> tuple[KnowledgeBase, Counting]:
    """A knowledge base on ``settings`` (another process's, in effect) whose lexical index (the data dir's, or
    ``path``) counts the chunk texts it fetches."""
    source = Counting()
    source.kb = open_kb(settings, LexicalIndex(path or index_path(settings), source, **options))
    return source.kb, source


def reference(kb: KnowledgeBase) -> BM25Index:
    """The former in-memory BM25: every live chunk's text fetched from Chroma and tokenised."""
    live = sorted(kb.live_ids())
    texts = kb.collection.fetch(live)
    return BM25Index(live, [index_text(str(texts[c][1].get("section", "")), texts[c][0]) for c in live])


def same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> bool:
    """The same scores (to float32 precision) for the same chunks, best first; ties may come in either order,
    and the tie at the cut may hold other chunks."""

    def groups(ranking: list[tuple[str, float]]) -> list[tuple[float, frozenset[str]]]:
        out: dict[float, set[str]] = {}
        for cid, score in ranking:
            out.setdefault(round(score, 3), set()).add(cid)
        return [(score, frozenset(ids)) for score, ids in out.items()]

    if not got or not want:
        return got == want
    same_scores = [round(s, 3) for _, s in got] == [round(s, 3) for _, s in want]
    return same_scores and groups(got)[:-1] == groups(want)[:-1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, knowledge_dir=tmp_path / "knowledge")


@pytest.fixture
def kb(settings: Settings, tmp_path: Path) -> KnowledgeBase:
    store = open_kb(settings)
    ingest.add_document(store, EMBEDDER, load_path(ARTICLE, 10**6))  # type: ignore[arg-type]
    for animal in ("otters", "herons"):
        add(store, tmp_path / "docs", f"{animal}.md", notes(animal))
    return store


# -- the postings ------------------------------------------------------------------------------------------
def test_postings_changed_by_diffs_score_exactly_like_postings_loaded_afresh() -> None:
    rng = random.Random(13)
    vocab = [f"w{i}" for i in range(300)]

    def row(cid: str) -> Row:
        words = rng.choices(vocab, weights=[1 / (i + 1) for i in range(len(vocab))], k=rng.randint(0, 60))
        counts: dict[int, int] = {}
        for w in words:
            counts[vocab.index(w) + 1] = counts.get(vocab.index(w) + 1, 0) + 1
        return Row(cid, len(words), encode(counts.items()))

    live: dict[str, Row] = {}
    postings = Postings.empty()
    for step in range(60):  # enough steps to merge segments and to compact
        gone = rng.sample(sorted(live), k=min(len(live), rng.randint(0, 12)))
        new = [row(f"c{step}-{i}") for i in range(rng.randint(1, 15))]
        again = [row(cid) for cid in rng.sample(sorted(set(live) - set(gone)), k=min(2, len(live) - len(gone)))]
        postings = postings.apply(gone, new + again)
        for cid in gone:
            del live[cid]
        live.update({r.chunk_id: r for r in new + again})
        fresh = Postings.load(list(live.values()))
        assert postings.live_count == len(live) == fresh.live_count
        query = [rng.randint(1, 40) for _ in range(3)]
        assert postings.top(query, 20) == fresh.top(query, 20)
        assert [postings.document_frequency(t) for t in query] == [fresh.document_frequency(t) for t in query]
    assert len(postings.segments) <= 9


def test_rows_packed_a_batch_at_a_time_give_the_bytes_of_postings_packed_at_once() -> None:
    rng = random.Random(7)
    rows = [
        Row(
            f"c{i}",
            rng.randint(0, 90),
            encode({rng.randint(1, 500): rng.randint(1, 9) for _ in range(rng.randint(0, 40))}.items()),
        )
        for i in range(700)
    ]
    for size in (1, 64, 1000):
        batches = [rows[start : start + size] for start in range(0, len(rows), size)]
        assert pack_rows(lambda batches=batches: iter(batches)) == Postings.load(rows).pack()
    assert pack_rows(lambda: iter([])) == Postings.empty().pack()


def test_postings_break_ties_by_chunk_id_whatever_the_load_order() -> None:
    rows = [Row(f"chunk-{i}", 3, encode([(1, 1), (2, 2)])) for i in range(30)]
    forward, backward = Postings.load(rows), Postings.load(rows[::-1])
    assert forward.top([1], 5) == backward.top([1], 5)
    assert [cid for cid, _ in forward.top([1], 5)] == [f"chunk-{i}" for i in (0, 1, 10, 11, 12)]


# -- scoring as before -----------------------------------------------------------------------------------------
def test_the_index_ranks_and_scores_exactly_as_the_in_memory_bm25_did(kb: KnowledgeBase, settings: Settings) -> None:
    retriever = Retriever(kb, EMBEDDER, settings)  # type: ignore[arg-type]
    retriever.refresh()
    old = reference(kb)
    for question in QUESTIONS:
        got, want = retriever.lexical.top(question, 20), old.top(question, 20)
        assert same_ranking(got, want), question
    assert retriever.lexical.top("What does the otter team review on day 4?", 1)[0][0].startswith("otters:")
    assert retriever.chunk_count == len(kb.live_ids())


def test_knows_says_whether_any_live_chunk_holds_a_word(kb: KnowledgeBase, settings: Settings) -> None:
    retriever = Retriever(kb, EMBEDDER, settings)  # type: ignore[arg-type]
    habitat = tokenize("habitat")[0]
    assert retriever.knows(habitat) and retriever.knows("pay") and not retriever.knows("lasagna")
    assert retriever.lexical.document_frequency(habitat) == len(kb.manifest.documents["otters"].chunk_ids) + len(
        kb.manifest.documents["herons"].chunk_ids
    )


# -- cold open and the diff ------------------------------------------------------------------------------------
def test_opening_a_store_reads_no_chunk_text_and_a_question_fetches_only_its_hits(
    kb: KnowledgeBase, settings: Settings
) -> None:
    fresh, source = counted(settings)
    retriever = Retriever(fresh, EMBEDDER, settings)  # type: ignore[arg-type]
    fetches: list[list[str]] = []
    chroma = fresh.collection.fetch
    fresh.collection.fetch = lambda ids: fetches.append(list(ids)) or chroma(ids)  # type: ignore[method-assign]

    retriever.refresh()
    assert source.fetched == [] and fetches == []
    assert len(retriever.lexical) == len(fresh.live_ids())
    hits = retriever.search("Which role pays the most?", k=3).hits
    assert len(hits) == 3 and all(h.text for h in hits)
    # The first RERANK_DEPTH candidates' texts (a document's chunks among them are reordered by their sentences).
    assert source.fetched == [] and sum(map(len, fetches)) == max(3, RERANK_DEPTH)
    retriever.search("Which role pays the most?", k=3)  # the same hits again come from the cache
    assert sum(map(len, fetches)) == max(3, RERANK_DEPTH)


def test_a_cold_open_maps_the_packed_postings_and_reads_only_what_changed_since(
    settings: Settings, tmp_path: Path
) -> None:
    packing, _ = counted(settings, pack_after=1)  # this writer packs the postings on every write
    ingest.add_document(packing, EMBEDDER, load_path(ARTICLE, 10**6))  # type: ignore[arg-type]
    for animal in ("otters", "herons"):
        add(packing, tmp_path / "docs", f"{animal}.md", notes(animal))
    later, _ = counted(settings)  # these writes stay below the threshold: a cold open reads them row by row
    add(later, tmp_path / "docs", "voles.md", notes("voles"))
    ingest.remove_document(later, "herons")
    db = sqlite3.connect(index_path(settings))
    assert {name for (name,) in db.execute("SELECT name FROM packed")} >= {"chunk_ids", "slots", "tfs", "docs"}

    reader, source = counted(settings)
    retriever = Retriever(reader, EMBEDDER, settings)  # type: ignore[arg-type]
    retriever.refresh()

    assert source.fetched == [] and retriever.lexical.current and len(retriever.lexical) == len(reader.live_ids())
    old = reference(reader)
    for question in [*QUESTIONS, "What does the voles team review on day 4?", "herons habitat"]:
        assert same_ranking(retriever.lexical.top(question, 20), old.top(question, 20)), question
    assert kbm.check(reader).ok

    tfs = db.execute("SELECT data FROM packed WHERE name = 'tfs'").fetchone()[0]
    db.execute("UPDATE packed SET data = ? WHERE name = 'tfs'", (bytes(len(tfs)),))
    db.commit()
    db.close()
    report = kbm.check(reader)
    assert "the lexical index's packed postings disagree with its chunks" in report.problems
    assert kbm.verify(reader, EMBEDDER, repair_problems=True).ok  # type: ignore[arg-type]


def test_a_write_applies_only_its_own_diff_and_leaves_other_documents_rows_alone(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = index_path(kb.settings)

    def rows() -> dict[str, int]:
        return dict(sqlite3.connect(path).execute("SELECT chunk_id, rowid FROM chunks").fetchall())

    before = rows()
    old_herons = set(kb.manifest.documents["herons"].chunk_ids)
    writer, source = counted(kb.settings)

    add(writer, tmp_path / "docs", "herons.md", notes("herons", version="two"))
    kb.reload_manifest()

    after = rows()
    new_herons = set(kb.manifest.documents["herons"].chunk_ids)
    assert set(after) == set(kb.live_ids())
    assert not old_herons - new_herons & set(after)
    assert {c: r for c, r in after.items() if not c.startswith("herons:")} == {
        c: r for c, r in before.items() if not c.startswith("herons:")
    }
    assert set(after) - set(before) == new_herons - old_herons
    assert source.fetched == []  # the new chunks' texts came with the write, not back from Chroma


def test_a_write_that_reuses_chunks_already_in_chroma_indexes_them_from_chroma(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    (tmp_path / "voles.md").write_text(notes("voles"), encoding="utf-8")
    doc = load_path(tmp_path / "voles.md", 10**6)
    left = chunk_document(doc.doc_id, doc.text, kb.settings.chunk_tokens, kb.settings.chunk_overlap)
    # What an interrupted write leaves (on a server, for leftover_grace): its chunks in Chroma, not committed.
    texts = [c.text for c in left]
    kb.collection.upsert([c.chunk_id for c in left], EMBEDDER.embed(texts), texts, [chunk_meta(doc, c) for c in left])
    writer, source = counted(kb.settings)

    with writer.write_lock():
        ingest.add_document(writer, EMBEDDER, doc, lock=False)  # type: ignore[arg-type]

    assert sorted(source.fetched) == sorted(c.chunk_id for c in left)  # kept, not rewritten: their texts from Chroma
    assert kbm.check(writer).ok
    assert Retriever(writer, EMBEDDER, kb.settings).search("voles habitat survey").hits[0].doc_id == "voles"  # type: ignore[arg-type]


def test_a_running_reader_applies_the_diff_and_refetches_nothing_the_writer_indexed(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    store, source = counted(settings)
    reader = Retriever(store, EMBEDDER, settings)  # type: ignore[arg-type]
    reader.refresh()
    assert not reader.knows(tokenize("voles")[0])

    add(kb, tmp_path / "docs", "voles.md", notes("voles"))  # the writer: another handle on the same data dir

    hit = reader.search("What does the voles team review on day 4?").hits[0]
    assert hit.doc_id == "voles" and reader.knows(tokenize("voles")[0])
    assert source.fetched == []  # the writer had indexed it; the reader only read its rows
    assert reader.lexical.current and len(reader.lexical) == len(kb.live_ids())


def test_a_reader_that_finds_the_file_behind_fetches_only_the_changed_chunks(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    store, source = counted(settings)
    reader = Retriever(store, EMBEDDER, settings)  # type: ignore[arg-type]
    reader.refresh()
    # A writer whose index is elsewhere (a killed writer, or another machine): the shared file is now behind.
    elsewhere, _ = counted(settings, tmp_path / "elsewhere.sqlite3")
    add(elsewhere, tmp_path / "docs", "herons.md", notes("herons", version="three"))
    ingest.remove_document(elsewhere, "otters")

    hits = reader.search("What does the herons team review on day 4?").hits
    assert hits[0].doc_id == "herons"
    assert sorted(source.fetched) == sorted(
        set(elsewhere.manifest.documents["herons"].chunk_ids) - set(kb.manifest.documents["herons"].chunk_ids)
    )
    assert all(h.doc_id != "otters" for h in reader.search("What does the otters team review on day 4?").hits)
    assert kbm.check(reader.kb).ok


def test_queries_never_return_chunks_the_manifest_no_longer_lists(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    reader = open_kb(settings)
    reader.lexical.refresh()
    elsewhere, _ = counted(settings, tmp_path / "elsewhere.sqlite3")
    ingest.remove_document(elsewhere, "otters")
    reader.reload_manifest()  # the manifest moved on; the postings have not been refreshed yet

    found = reader.lexical.top("What does the otters team review on day 4?", 20)
    assert found and not any(cid.startswith("otters:") for cid, _ in found)


def test_removed_means_gone_from_the_index_its_file_and_its_words(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    reader = Retriever(open_kb(settings), EMBEDDER, settings)  # type: ignore[arg-type]
    add(kb, tmp_path / "docs", "zanzibar.md", notes("zanzibarites"))
    word = tokenize("zanzibarites")[0]
    assert reader.knows(word)

    ingest.remove_document(kb, "zanzibar")

    assert not reader.knows(word) and reader.lexical.document_frequency(word) == 0
    assert all(h.doc_id != "zanzibar" for h in reader.search("zanzibarites habitat survey").hits)
    path = index_path(settings)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM chunks WHERE doc_id = 'zanzibar'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM terms WHERE term = ?", (word,)).fetchone() == (0,)
    db.close()
    on_disk = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    assert word.encode() not in on_disk and b"zanzibar" not in on_disk  # nor its document's id (its chunk ids)


# -- damage, staleness, mismatch -------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted", "foreign"])
def test_a_damaged_or_missing_index_is_rebuilt_once_with_a_message(
    kb: KnowledgeBase, settings: Settings, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    question = "What does the herons team review on day 4?"
    want = Retriever(kb, EMBEDDER, settings).search(question)  # type: ignore[arg-type]
    path = index_path(settings)
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    if damage == "garbage":
        path.write_bytes(b"this is not a database, it was overwritten\n" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:6000])
    elif damage == "deleted":
        path.unlink()
    else:
        path.unlink()
        other = sqlite3.connect(path)
        other.execute("CREATE TABLE notes (body TEXT)")
        other.commit()
        other.close()

    with caplog.at_level(logging.WARNING, logger="advisor.retrieval.lexical_index"):
        got = Retriever(open_kb(settings), EMBEDDER, settings).search(question)  # type: ignore[arg-type]

    assert [(h.chunk_id, round(h.lexical, 4)) for h in got.hits] == [
        (h.chunk_id, round(h.lexical, 4)) for h in want.hits
    ]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and str(path) in messages[0]
    assert any(w in messages[0] for w in ("damaged", "building", "another schema"))
    assert kbm.check(open_kb(settings)).ok


def test_an_index_that_cannot_be_rebuilt_is_one_clear_error(kb: KnowledgeBase, settings: Settings) -> None:
    path = index_path(settings)
    for p in path.parent.glob(path.name + "*"):
        p.unlink()
    path.mkdir()  # a folder where the file should be
    with pytest.raises(StoreError, match=r"lexical index .* can't be"):
        Retriever(open_kb(settings), EMBEDDER, settings).search("Which role pays the most?")  # type: ignore[arg-type]


def test_a_tokenizer_change_rebuilds_the_index_once_and_readers_follow(
    kb: KnowledgeBase, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    reader = Retriever(open_kb(settings), EMBEDDER, settings)  # type: ignore[arg-type]
    assert reader.knows("habitat")
    bundled = vocabulary.active()
    changed = vocabulary.parse({"synonyms": {"biotope": ["habitat"]}}, "test vocabulary")
    try:
        vocabulary.use(changed)
        with caplog.at_level(logging.WARNING, logger="advisor.retrieval.lexical_index"):
            assert reader.knows("biotope") and not reader.knows("habitat")
            reader.search("otters biotope")
            assert Retriever(open_kb(settings), EMBEDDER, settings).knows("biotope")  # type: ignore[arg-type]
        assert [r.getMessage() for r in caplog.records if "another tokenizer" in r.getMessage()] == [
            f"the lexical index {index_path(settings)} was built with another tokenizer (the vocabulary changed): "
            "rebuilding it"
        ]
        assert same_ranking(
            reader.lexical.top("otters biotope survey", 20), reference(kb).top("otters biotope survey", 20)
        )
    finally:
        vocabulary.use(bundled)


# -- maintenance -------------------------------------------------------------------------------------------------
def test_verify_names_a_lexical_index_that_disagrees_and_repair_rebuilds_it(kb: KnowledgeBase) -> None:
    db = sqlite3.connect(index_path(kb.settings))
    victim = kb.manifest.documents["otters"].chunk_ids[0]
    other = kb.manifest.documents["herons"].chunk_ids[0]
    db.execute(
        "UPDATE chunks SET terms = (SELECT terms FROM chunks WHERE chunk_id = ?) WHERE chunk_id = ?", (victim, other)
    )
    db.execute("DELETE FROM chunks WHERE chunk_id = ?", (victim,))
    db.execute("INSERT INTO chunks VALUES ('ghost:0', 'ghost', 1, x'')")
    db.commit()
    db.close()

    report = kbm.check(kb)
    text = "\n".join(report.problems)
    assert not report.ok and not report.lexical_ok
    assert "1 live chunk(s) are missing from the lexical index" in text and victim in text
    assert "1 chunk(s) in the lexical index that no document lists: ghost:0" in text
    assert f"1 chunk(s) in the lexical index don't match their text in Chroma: {other}" in text

    fixed = kbm.verify(kb, EMBEDDER, repair_problems=True)  # type: ignore[arg-type]
    assert fixed.ok, fixed.problems
    assert "rebuilt the lexical index" in fixed.repaired


def test_kb_rebuild_rebuilds_the_lexical_index_too(kb: KnowledgeBase, settings: Settings) -> None:
    def epoch() -> tuple[str]:
        return sqlite3.connect(index_path(settings)).execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()

    before = epoch()
    reader = Retriever(open_kb(settings), EMBEDDER, settings)  # type: ignore[arg-type]
    reader.refresh()

    kbm.rebuild(kbm.open_for_rebuild(settings, EMBEDDER), EMBEDDER)  # type: ignore[arg-type]

    assert epoch() != before
    assert reader.search("What does the herons team review on day 4?").hits[0].doc_id == "herons"
    assert reader.lexical.current and kbm.check(open_kb(settings)).ok


# -- several processes -------------------------------------------------------------------------------------------
def test_readers_refreshing_while_a_writer_writes_see_only_whole_diffs(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    failures: list[str] = []
    done = threading.Event()

    def read(n: int) -> None:
        store = open_kb(settings)
        while not done.is_set():
            try:
                store.reload_manifest()
                store.lexical.refresh()
                live = store.live_ids()
                found = store.lexical.top("habitat survey team review", 50)
                if any(cid not in live for cid, _ in found):
                    failures.append(f"reader {n}: a chunk the manifest doesn't list")
                if store.lexical.current and len(store.lexical) != len(live):
                    failures.append(f"reader {n}: postings of {len(store.lexical)} chunks for {len(live)} live")
            except Exception as exc:  # any failure in a reader thread fails the test
                failures.append(f"reader {n}: {type(exc).__name__}: {exc}")

    readers = [threading.Thread(target=read, args=(n,)) for n in range(2)]
    for thread in readers:
        thread.start()
    try:
        for version in range(6):
            add(kb, tmp_path / "docs", "herons.md", notes("herons", version=f"v{version}", sections=2 + version % 3))
            add(kb, tmp_path / "docs", f"extra{version}.md", notes(f"extra{version}"))
            if version:
                ingest.remove_document(kb, f"extra{version - 1}")
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=60)
    assert failures == []
    final = open_kb(settings)
    final.lexical.refresh()
    assert final.lexical.current and len(final.lexical) == len(final.live_ids())
    assert kbm.check(final).ok


SLOW_SYNC = """
import sys, time
from pathlib import Path
from advisor.kb.store import KnowledgeBase
from advisor.retrieval.lexical_index import LexicalIndex, index_path
from advisor.settings import load_settings

settings = load_settings()
kb = KnowledgeBase(settings, "hash-words-64", 64)

class Slow:
    collection = None
    manifest = property(lambda self: kb.manifest)
    reload_manifest = staticmethod(kb.reload_manifest)
    live_ids = staticmethod(kb.live_ids)

class SlowFetch:
    def fetch(self, ids):
        print("fetching", flush=True)
        time.sleep(30)
        return kb.collection.fetch(ids)

source = Slow()
source.collection = SlowFetch()
LexicalIndex(index_path(settings), source).rebuild()
"""


@pytest.mark.slow
def test_a_process_killed_mid_rebuild_leaves_the_index_as_it_was(kb: KnowledgeBase, settings: Settings) -> None:
    path = index_path(settings)
    before = sqlite3.connect(path).execute("SELECT chunk_id, terms FROM chunks ORDER BY chunk_id").fetchall()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_SYNC],
        env=store_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "fetching", proc.stderr.read() if proc.stderr else ""
    time.sleep(0.5)  # the transaction has deleted every row by now
    reader = open_kb(settings)
    reader.lexical.refresh()
    assert len(reader.lexical) == len(reader.live_ids())  # a reader meanwhile still sees the whole index
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)

    after = sqlite3.connect(path).execute("SELECT chunk_id, terms FROM chunks ORDER BY chunk_id").fetchall()
    assert after == before
    assert kbm.check(open_kb(settings)).ok


@pytest.mark.slow
def test_in_server_mode_each_instance_keeps_its_own_index_brought_up_to_date_by_the_diff(
    chroma_server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    first = store_settings(tmp_path / "machine-a", chroma_server)
    second = first.with_(data_dir=tmp_path / "machine-b" / "data")
    writer = open_kb(first)
    for animal in ("otters", "herons"):
        add(writer, tmp_path / "docs", f"{animal}.md", notes(animal))
    store, source = counted(second)
    reader = Retriever(store, EMBEDDER, second)  # type: ignore[arg-type]
    assert reader.search("What does the herons team review on day 4?").hits[0].doc_id == "herons"
    assert index_path(second).exists() and index_path(second).parent == second.data_dir
    assert sorted(source.fetched) == sorted(writer.live_ids())  # its first build: everything, once
    source.fetched.clear()

    add(writer, tmp_path / "docs", "voles.md", notes("voles"))
    assert reader.search("What does the voles team review on day 4?").hits[0].doc_id == "voles"
    assert sorted(source.fetched) == sorted(writer.manifest.documents["voles"].chunk_ids)  # only the diff

    opened_again = Retriever(open_kb(second), EMBEDDER, second)  # type: ignore[arg-type]
    assert opened_again.search("What does the voles team review on day 4?").hits[0].doc_id == "voles"
    assert kbm.check(open_kb(second)).ok
