"""Ingest streams: bounded batches, few manifest commits, progress in chunks, and a rerun resumes after a failure.

A real Chroma in ``tmp_path`` and the real chunker; the vectors come from a small deterministic stand-in
(one per text), since what is tested here is the write path, not the model.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from advisor.errors import ProviderError
from advisor.kb import ingest
from advisor.kb.batch import EMBED_BATCH, Batch, chunk_meta, embed_text
from advisor.kb.chunking import chunk_document
from advisor.kb.loaders import load_path
from advisor.kb.store import KnowledgeBase
from advisor.settings import Settings
from tests.conftest import make_settings


class HashVectors:
    """A vector per text from its hash; counts what it embedded and can fail after a number of texts."""

    name = "hash-vectors"
    dimension = 16

    def __init__(self, fail_after: int | None = None) -> None:
        self.texts = 0
        self.calls = 0
        self.fail_after = fail_after

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after is not None and self.texts + len(texts) > self.fail_after:
            raise ProviderError("the embedding model went away (test)")
        self.calls += 1
        self.texts += len(texts)
        rows = [
            np.random.default_rng(int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest())).standard_normal(
                self.dimension
            )
            for t in texts
        ]
        out = np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dimension), np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def note(topic: str, paragraphs: int = 6) -> str:
    body = "\n\n".join(
        f"## Part {p}\n\n" + " ".join(f"The {topic} fact {p}.{s} is written down here." for s in range(30))
        for p in range(paragraphs)
    )
    return f"# Notes on {topic}\n\n{body}\n"


def folder(root: Path, count: int, paragraphs: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (root / f"note-{n:03d}.md").write_text(note(f"topic{n}", paragraphs), encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path: Path) -> tuple[Settings, KnowledgeBase]:
    settings = make_settings(tmp_path, knowledge_dir=tmp_path / "knowledge")
    return settings, KnowledgeBase(settings, HashVectors.name, HashVectors.dimension)


def whole(kb: KnowledgeBase) -> bool:
    """Every document the manifest lists has all its chunks in Chroma."""
    present = kb.collection.all_ids()
    return all(set(d.chunk_ids) <= present for d in kb.manifest.documents.values())


def test_small_documents_share_embedding_batches_and_one_manifest_commit(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, kb = store
    files = sorted(folder(tmp_path / "docs", 30).iterdir())
    embedder = HashVectors()
    before = kb.manifest.generation

    with kb.write_lock(), Batch(kb, embedder, commit_every=3600) as batch:
        for path in files:
            batch.add(load_path(path, settings.max_document_bytes), "upload")

    assert kb.manifest.generation == before + 1  # one commit, not one per document
    chunks = len(kb.live_ids())
    assert len(kb.manifest.documents) == 30 and embedder.texts == chunks == kb.collection.count()
    assert embedder.calls == -(-chunks // EMBED_BATCH)  # full batches across documents
    assert whole(kb)


def test_adding_a_folder_commits_far_fewer_times_than_it_has_documents(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, kb = store
    before = kb.manifest.generation
    report = ingest.add_paths(kb, HashVectors(), [folder(tmp_path / "docs", 30)])
    assert report.count("added") == 30 and not report.errors
    assert kb.manifest.generation - before < 30 / 3  # one commit per COMMIT_INTERVAL_S of work at most, plus the last
    assert whole(kb)


def test_progress_counts_chunks_and_ends_at_the_total(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, kb = store
    docs = folder(tmp_path / "docs", 12)
    seen: list[tuple[int, int]] = []

    ingest.add_paths(kb, HashVectors(), [docs], progress=lambda done, total: seen.append((done, total)))

    chunks = len(kb.live_ids())
    assert seen[-1] == (chunks, chunks)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))  # done never goes back
    assert all(done <= total for done, total in seen)
    assert len(seen) > 3  # it moved while the work ran, not only at the end


def test_a_document_larger_than_a_write_batch_is_written_in_parts_and_committed_whole(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, kb = store
    path = folder(tmp_path / "docs", 1, paragraphs=40) / "note-000.md"
    doc = load_path(path, settings.max_document_bytes)
    embedder = HashVectors()

    with kb.write_lock(), Batch(kb, embedder, write_batch=50) as batch:
        change = batch.add(doc, "upload")
        written = kb.collection.count()  # in Chroma already, in the manifest not yet
        assert doc.doc_id not in kb.manifest.documents

    assert change.chunks > 50
    assert 0 < written < change.chunks and written % 50 == 0  # whole write batches; the rest at the commit
    assert kb.manifest.documents[doc.doc_id].chunks == change.chunks == kb.collection.count()
    assert whole(kb)


def test_a_failure_keeps_what_was_committed_and_the_rerun_embeds_only_the_rest(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings, kb = store
    docs = folder(tmp_path / "docs", 10)
    files = sorted(docs.iterdir())
    sizes = [
        len(chunk_document(d.doc_id, d.text, settings.chunk_tokens, settings.chunk_overlap))
        for d in (load_path(f, settings.max_document_bytes) for f in files)
    ]
    failing = HashVectors(fail_after=sum(sizes[:6]) + 3)  # the model fails inside the seventh document

    with pytest.raises(ProviderError), kb.write_lock(), Batch(kb, failing, commit_every=0) as batch:
        for f in files:
            batch.add(load_path(f, settings.max_document_bytes), "upload")

    reopened = KnowledgeBase(settings, HashVectors.name, HashVectors.dimension)
    assert sorted(reopened.manifest.documents) == [f.stem for f in files[:6]]
    assert whole(reopened)

    again = HashVectors()
    report = ingest.add_paths(reopened, again, [docs])
    assert report.count("unchanged") == 6 and report.count("added") == 4
    assert again.texts == sum(sizes[6:])  # nothing committed before the failure is embedded twice
    assert whole(reopened) and reopened.collection.count() == sum(sizes)


def test_a_chunk_left_in_chroma_under_another_title_is_overwritten_and_the_others_are_added(
    store, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    settings, kb = store
    doc = load_path(folder(tmp_path / "docs", 1) / "note-000.md", settings.max_document_bytes)
    chunks = chunk_document(doc.doc_id, doc.text, settings.chunk_tokens, settings.chunk_overlap)
    embedder = HashVectors()
    # As a killed write of the document under its former title leaves it: in Chroma, not in the manifest. Chroma's
    # add would keep a stored ID as it is (no error), so a write that added new chunks must overwrite this one.
    former = replace(doc, title="Its former title")
    first = chunks[0]
    kb.collection.upsert([first.chunk_id], embedder.embed(["stale"]), [first.text], [chunk_meta(former, first)])

    with kb.write_lock(), Batch(kb, embedder) as batch:
        batch.add(doc, "upload")

    ids = [c.chunk_id for c in chunks]
    stored = kb.collection.fetch(ids)
    assert len(stored) == len(chunks) == kb.collection.count() and len(chunks) > 1
    assert {meta["title"] for _, meta in stored.values()} == {doc.title}
    expected = embedder.embed([embed_text(doc.title, c.section, c.text) for c in chunks])
    vectors = kb.collection.vectors(ids)
    assert np.allclose([vectors[i] for i in ids], expected, atol=1e-6)
    assert whole(kb)
