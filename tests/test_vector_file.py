"""The live chunks' vectors kept in the data dir (in the lexical index's file) and the exact scan that reads them.

Real Chroma, the real ingest, a deterministic stand-in embedder (hashed words of the embedded text, so the title
is part of every vector). The reference is always a numpy scan over the vectors Chroma holds.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from advisor import vocabulary
from advisor.kb import ingest
from advisor.kb import maintenance as kbm
from advisor.kb.batch import chunk_meta
from advisor.kb.chunking import chunk_document
from advisor.kb.exact import ExactVectors
from advisor.kb.loaders import load_path
from advisor.kb.store import KnowledgeBase
from advisor.retrieval.lexical_index import index_path
from advisor.settings import Settings
from tests.servers import chroma_server, store_env, store_settings  # noqa: F401  (fixtures)
from tests.test_lexical_index import EMBEDDER, add, counted, notes, open_kb

QUESTIONS = [
    "What does the otters team review on day 4?",
    "herons habitat survey",
    "Finding 3 about voles habitat 1",
    "Field notes",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from tests.conftest import make_settings

    return make_settings(tmp_path, knowledge_dir=tmp_path / "knowledge")


@pytest.fixture
def kb(settings: Settings, tmp_path: Path) -> KnowledgeBase:
    store = open_kb(settings)
    for animal in ("otters", "herons"):
        add(store, tmp_path / "docs", f"{animal}.md", notes(animal))
    return store


def unit(v: Any) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def file_vectors(settings: Settings) -> dict[str, np.ndarray]:
    db = sqlite3.connect(index_path(settings))
    try:
        return {c: np.frombuffer(b, dtype=np.float32) for c, b in db.execute("SELECT chunk_id, vector FROM vectors")}
    finally:
        db.close()


def chroma_vectors(kb: KnowledgeBase) -> dict[str, np.ndarray]:
    ids, rows = kb.collection.vector_rows(sorted(kb.collection.all_ids()))
    return dict(zip(ids, rows, strict=True))


def assert_file_follows_chroma(kb: KnowledgeBase) -> None:
    """The file holds exactly the live chunks, each with the vector Chroma holds (to float32 rounding)."""
    kb.reload_manifest()
    held, stored = file_vectors(kb.settings), chroma_vectors(kb)
    assert set(held) == kb.live_ids()
    for chunk_id, vector in held.items():
        assert np.allclose(unit(vector), unit(stored[chunk_id]), atol=1e-6), chunk_id


def exact(kb: KnowledgeBase, question: Any) -> dict[str, float]:
    """Every live chunk's cosine similarity to ``question`` by a numpy scan over Chroma's stored vectors."""
    stored = chroma_vectors(kb)
    q = unit(question)
    return {c: float(unit(stored[c]) @ q) for c in kb.live_ids() if c in stored}


def is_exact(got: list[tuple[str, float]], want: dict[str, float]) -> bool:
    """``got`` is every chunk of ``want``, best first, each with its similarity. To float32 rounding: the file
    holds the vector as written, Chroma a normalised copy of it (they differ in the last bit)."""
    sims = [s for _, s in got]
    return (
        len(got) == len(want)
        and {c for c, _ in got} == set(want)
        and all(abs(s - want[c]) < 1e-5 for c, s in got)
        and all(a >= b - 1e-6 for a, b in itertools.pairwise(sims))
    )


def question_vectors() -> np.ndarray:
    return np.asarray(EMBEDDER.embed(QUESTIONS), dtype=np.float32)


def scan_of(kb: KnowledgeBase) -> tuple[ExactVectors, list[str], list[str]]:
    """An exact scan over ``kb`` reading from its file, recording what it read from the file and from Chroma."""
    from_file: list[str] = []
    from_chroma: list[str] = []

    def stored(ids: list[str]) -> Any:
        from_file.extend(ids)
        return kb.lexical.vector_rows(ids)

    def fetch(ids: list[str]) -> Any:
        from_chroma.extend(ids)
        return kb.collection.vector_rows(ids)

    return ExactVectors(fetch, EMBEDDER.dimension, stored), from_file, from_chroma


# -- following the manifest -------------------------------------------------------------------------------------
def test_the_file_holds_every_live_chunk_s_vector_through_add_replace_retitle_and_remove(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    assert_file_follows_chroma(kb)

    old = set(kb.manifest.documents["herons"].chunk_ids)
    add(kb, tmp_path / "docs", "herons.md", notes("herons", version="two"))
    new = set(kb.manifest.documents["herons"].chunk_ids)
    assert old - new and not (old - new) & set(file_vectors(kb.settings))
    assert_file_follows_chroma(kb)

    before = file_vectors(kb.settings)
    ids = list(kb.manifest.documents["otters"].chunk_ids)
    add(kb, tmp_path / "docs", "otters.md", "---\ntitle: Field notes on otters\n---\n" + notes("otters"))
    assert kb.manifest.documents["otters"].chunk_ids == ids  # re-titled: the same chunks, embedded again
    after = file_vectors(kb.settings)
    assert all(not np.array_equal(before[c], after[c]) for c in ids)
    assert_file_follows_chroma(kb)

    ingest.remove_document(kb, "otters")
    assert not set(ids) & set(file_vectors(kb.settings))
    assert_file_follows_chroma(kb)
    assert kbm.check(kb).ok


def test_a_write_hands_its_vectors_over_and_a_reader_reads_only_the_diff_from_the_file(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    reader = open_kb(settings)
    scan, from_file, from_chroma = scan_of(reader)
    question = question_vectors()[2]
    assert is_exact(scan.nearest(reader.manifest, question, 1000), exact(reader, question))
    assert sorted(from_file) == sorted(reader.live_ids()) and from_chroma == []
    from_file.clear()

    writer, source = counted(settings)
    add(writer, tmp_path / "docs", "voles.md", notes("voles"))
    assert source.vectors_fetched == []  # the write handed its vectors to the file: none fetched back

    reader.reload_manifest()
    got = scan.nearest(reader.manifest, question, 1000)
    assert sorted(from_file) == sorted(writer.manifest.documents["voles"].chunk_ids) and from_chroma == []
    assert is_exact(got, exact(reader, question)) and got[0][0].startswith("voles:")


QUERY_WORKER = """
import json, sys
from advisor.kb.store import KnowledgeBase
from advisor.settings import load_settings

kb = KnowledgeBase(load_settings(), "hash-words-64", 64)
print(json.dumps([kb.query(v, 1000) for v in json.loads(sys.stdin.read())]))
"""


def ask_in_a_new_process(settings: Settings, vectors: np.ndarray) -> list[list[tuple[str, float]]]:
    proc = subprocess.run(
        [sys.executable, "-c", QUERY_WORKER],
        input=json.dumps(vectors.tolist()),
        env=store_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [[(c, s) for c, s in pairs] for pairs in json.loads(proc.stdout)]


def test_query_results_equal_a_numpy_scan_over_chroma_s_vectors_the_same_in_every_process(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    add(kb, tmp_path / "docs", "otters.md", "---\ntitle: Field notes on otters\n---\n" + notes("otters"))
    vectors = question_vectors()
    first, second = ask_in_a_new_process(settings, vectors), ask_in_a_new_process(settings, vectors)
    assert first == second  # the same chunks, order and scores
    for question, got in zip(vectors, first, strict=True):
        assert is_exact(got, exact(kb, question))
        assert [c for c, _ in open_kb(settings).query(question.tolist(), 1000)] == [c for c, _ in got]


# -- damage and staleness ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["garbage", "another schema", "behind"])
def test_a_damaged_or_stale_file_is_caught_up_once_and_never_returns_unlisted_chunks(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = index_path(settings)
    removed = list(kb.manifest.documents["herons"].chunk_ids)
    on_removed = chroma_vectors(kb)[removed[0]]  # a question right on a chunk about to be removed
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.copy(path, tmp_path / "aside.sqlite3")
    ingest.remove_document(kb, "herons")
    add(kb, tmp_path / "docs", "voles.md", notes("voles"))
    if damage == "garbage":
        for p in path.parent.glob(path.name + "-*"):
            p.unlink()
        path.write_bytes(b"this is not a database, it was overwritten\n" * 100)
    elif damage == "another schema":
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 2")
        db.commit()
        db.close()
    else:  # the file as it was before the last two writes: it lists herons' vectors and lacks voles'
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
        shutil.copy(tmp_path / "aside.sqlite3", path)

    reader = open_kb(settings)
    with caplog.at_level(logging.WARNING, logger="advisor.retrieval.lexical_index"):
        got = reader.query(on_removed.tolist(), 1000)
        for question in question_vectors():
            assert is_exact(reader.query(question.tolist(), 1000), exact(reader, question))

    assert {c for c, _ in got} == reader.live_ids() and not set(removed) & {c for c, _ in got}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == (0 if damage == "behind" else 1), messages
    assert all(str(path) in m and ("damaged" in m or "another schema" in m) for m in messages)
    assert_file_follows_chroma(reader)
    assert kbm.check(open_kb(settings)).ok


def test_a_tokenizer_change_rebuilds_the_terms_and_keeps_the_vectors(kb: KnowledgeBase, settings: Settings) -> None:
    bundled = vocabulary.active()
    try:
        vocabulary.use(vocabulary.parse({"synonyms": {"biotope": ["habitat"]}}, "test vocabulary"))
        reader, source = counted(settings)
        question = question_vectors()[1]
        assert is_exact(reader.query(question.tolist(), 1000), exact(reader, question))
        assert sorted(source.fetched) == sorted(reader.live_ids())  # every text tokenised again ...
        assert source.vectors_fetched == []  # ... and no vector fetched again: they don't depend on the tokenizer
        assert kbm.check(reader).ok
    finally:
        vocabulary.use(bundled)


def test_a_vector_in_the_file_that_no_document_lists_is_never_returned_and_verify_names_it(
    kb: KnowledgeBase,
) -> None:
    question = question_vectors()[0]
    db = sqlite3.connect(index_path(kb.settings))
    db.execute("INSERT INTO vectors VALUES ('ghost:0', 'ghost', 'x', ?)", (question.tobytes(),))
    db.commit()
    db.close()

    got = open_kb(kb.settings).query(question.tolist(), 1000)
    assert "ghost:0" not in {c for c, _ in got} and is_exact(got, exact(kb, question))
    report = kbm.check(kb)
    assert "1 vector(s) in the lexical index's copy that no document lists: ghost:0" in report.problems


def test_verify_names_vectors_that_are_missing_or_differ_from_chroma_s_and_repair_rewrites_them(
    kb: KnowledgeBase,
) -> None:
    victim, other = kb.manifest.documents["otters"].chunk_ids[:2]
    db = sqlite3.connect(index_path(kb.settings))
    db.execute("DELETE FROM vectors WHERE chunk_id = ?", (victim,))
    db.execute("UPDATE vectors SET vector = ? WHERE chunk_id = ?", (np.ones(64, np.float32).tobytes(), other))
    db.commit()
    db.close()

    report = kbm.check(kb)
    text = "\n".join(report.problems)
    assert not report.ok and not report.lexical_ok
    assert f"1 live chunk(s) have no vector in the lexical index's copy: {victim}" in text
    assert f"1 vector(s) in the lexical index's copy differ from Chroma's: {other}" in text

    fixed = kbm.verify(kb, EMBEDDER, repair_problems=True)  # type: ignore[arg-type]
    assert fixed.ok, fixed.problems
    assert "rebuilt the lexical index" in fixed.repaired
    assert_file_follows_chroma(kb)


def test_kb_rebuild_rebuilds_the_vectors_from_the_new_collection(kb: KnowledgeBase, settings: Settings) -> None:
    kbm.rebuild(kbm.open_for_rebuild(settings, EMBEDDER), EMBEDDER)  # type: ignore[arg-type]
    reader = open_kb(settings)
    assert_file_follows_chroma(reader)
    question = question_vectors()[1]
    assert is_exact(reader.query(question.tolist(), 1000), exact(reader, question))


# -- crashes ---------------------------------------------------------------------------------------------------
def test_a_writer_killed_between_its_chroma_write_and_its_commit_leaves_nothing_unlisted_returned(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    (tmp_path / "voles.md").write_text(notes("voles"), encoding="utf-8")
    doc = load_path(tmp_path / "voles.md", 10**6)
    left = chunk_document(doc.doc_id, doc.text, kb.settings.chunk_tokens, kb.settings.chunk_overlap)
    texts = [c.text for c in left]
    vectors = EMBEDDER.embed(texts)
    # What the kill leaves: the chunks in Chroma, the manifest (and so the file) without them.
    kb.collection.upsert([c.chunk_id for c in left], vectors, texts, [chunk_meta(doc, c) for c in left])

    reader = open_kb(kb.settings)
    got = reader.query(vectors[0].tolist(), 1000)
    assert {c for c, _ in got} == reader.live_ids() and not {c.chunk_id for c in left} & {c for c, _ in got}
    assert_file_follows_chroma(reader)
    report = kbm.check(reader)
    assert report.lexical_ok and all("stray chunk" in p for p in report.problems)


def test_a_writer_killed_between_its_commit_and_the_file_s_diff_leaves_the_reader_to_apply_it(
    kb: KnowledgeBase, settings: Settings, tmp_path: Path
) -> None:
    # A writer whose file is elsewhere: it commits the manifest and never applies the diff to the data dir's file.
    elsewhere, _ = counted(settings, tmp_path / "elsewhere.sqlite3")
    add(elsewhere, tmp_path / "docs", "voles.md", notes("voles"))
    ingest.remove_document(elsewhere, "otters")
    voles = set(elsewhere.manifest.documents["voles"].chunk_ids)

    reader, source = counted(settings)
    question = question_vectors()[2]
    got = reader.query(question.tolist(), 1000)
    assert is_exact(got, exact(reader, question)) and voles <= {c for c, _ in got}
    assert not any(c.startswith("otters:") for c, _ in got)
    assert sorted(source.vectors_fetched) == sorted(voles)  # the file caught up by the diff, from Chroma, once
    assert_file_follows_chroma(reader)


# -- server mode -----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_in_server_mode_each_instance_keeps_its_own_vectors_brought_up_to_date_by_the_diff(
    chroma_server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    first = store_settings(tmp_path / "machine-a", chroma_server)
    second = first.with_(data_dir=tmp_path / "machine-b" / "data")
    writer = open_kb(first)
    for animal in ("otters", "herons"):
        add(writer, tmp_path / "docs", f"{animal}.md", notes(animal))
    reader, source = counted(second)
    question = question_vectors()[2]
    assert is_exact(reader.query(question.tolist(), 1000), exact(writer, question))
    assert sorted(source.vectors_fetched) == sorted(writer.live_ids())  # its first build: everything, once
    source.vectors_fetched.clear()

    add(writer, tmp_path / "docs", "voles.md", notes("voles"))
    reader.reload_manifest()  # as the retriever does before each question
    got = reader.query(question.tolist(), 1000)
    assert is_exact(got, exact(writer, question)) and got[0][0].startswith("voles:")
    assert sorted(source.vectors_fetched) == sorted(writer.manifest.documents["voles"].chunk_ids)  # only the diff
    assert_file_follows_chroma(open_kb(second))
    assert kbm.check(open_kb(second)).ok


def test_the_scan_keeps_unchanged_documents_rows_and_reads_a_partly_held_one_again_after_the_next_write(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    otters = list(kb.manifest.documents["otters"].chunk_ids)
    lost = otters[0]
    read: list[str] = []
    repaired: list[bool] = []

    def fetch(ids: list[str]) -> Any:  # Chroma as it was after losing one chunk, until a repair wrote it back
        read.extend(ids)
        return kb.collection.vector_rows([c for c in ids if c != lost or repaired])

    scan = ExactVectors(fetch, EMBEDDER.dimension)
    question = chroma_vectors(kb)[lost]
    first = scan.nearest(kb.manifest, question, 1000)
    assert lost not in {c for c, _ in first} and len(first) == len(kb.live_ids()) - 1
    read.clear()
    repaired.append(True)

    add(kb, tmp_path / "docs", "voles.md", notes("voles"))
    after = scan.nearest(kb.manifest, question, 1000)
    assert sorted(read) == sorted(otters + kb.manifest.documents["voles"].chunk_ids)  # herons' rows were kept
    assert lost in {c for c, _ in after} and is_exact(after, exact(kb, question))


def test_similarities_to_given_chunks_come_from_the_scan_and_agree_with_chroma_s(kb: KnowledgeBase) -> None:
    live = sorted(kb.live_ids())
    ids = [*live, "ghost:0"]  # a chunk no document lists is left out
    question = question_vectors()[0].tolist()
    want = kb.collection.similarities(question, ids)
    for exact_below in (10**6, 0):  # scanned / asked of Chroma
        store = KnowledgeBase(kb.settings, EMBEDDER.name, EMBEDDER.dimension, exact_below=exact_below)
        got = store.similarities(question, ids)
        assert set(got) == set(want) == set(live)
        assert all(abs(got[c] - want[c]) < 1e-5 for c in want)
