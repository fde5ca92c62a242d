"""Crash safety: a writer killed with SIGKILL at random points leaves every document fully present or fully absent.

A child process adds one of two versions of a set of documents (each add replaces the other version)
or rebuilds the collection; the parent kills it at a random moment of its work, then checks the
store from a fresh client: each document in the manifest has all its chunks and is exactly one of
its two versions, the only disagreements are leftovers (stray chunks, a half-built collection), and
the next write (or ``kb verify --repair``) clears them. A streaming ingest of many documents killed midway keeps
the documents it committed, whole, and the rerun embeds only the others. The lexical index is checked the same way: a fresh
reader brings it up to date by the diff and finds it whole, holding exactly the manifest's chunks with the
terms their texts make (``kbm.check``), whatever moment the kill hit. Runs on the embedded store and on a server.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advisor.kb import ingest
from advisor.kb import maintenance as kbm
from advisor.kb.chunking import chunk_document
from advisor.kb.loaders import load_path
from advisor.kb.store import KnowledgeBase
from tests.servers import chroma_server, store_env, store_settings, store_url  # noqa: F401  (fixtures)
from tests.test_kb import doc_text, write

pytestmark = pytest.mark.slow

KILLS = 10  # per store mode; each costs a child start-up (~2-5 s on 2 busy cores)
TOPICS = ("otters", "herons", "voles", "newts")

WORKER = """
import sys
from pathlib import Path
from advisor.kb import ingest
from advisor.kb import maintenance as kb
from advisor.providers.embeddings import make_embedder
from advisor.settings import load_settings
from advisor.kb.store import KnowledgeBase

settings = load_settings()
embedder = make_embedder(settings)
embedder.embed(["warm up"])
store = KnowledgeBase(settings, embedder.name, embedder.dimension, check_model=False)
print("ready", flush=True)
if sys.argv[1] == "add":
    report = ingest.add_paths(store, embedder, [Path(sys.argv[2])])
    assert not report.errors, report.errors
else:
    kb.rebuild(store, embedder)
print("done", flush=True)
"""

HARMLESS = ("stray chunk", "leftover collection")  # what a kill may leave; invisible to readers


def start(settings, *args: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        env=store_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
    return proc


def finish(proc: subprocess.Popen[str]) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


def check_consistent(settings, embedder, versions: dict[str, set[str]]) -> list[str]:  # type: ignore[no-untyped-def]
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    try:
        present = kb.collection.all_ids()
        for doc_id, record in kb.manifest.documents.items():
            assert record.content_hash in versions[doc_id], f"{doc_id} is neither version"
            assert set(record.chunk_ids) <= present, f"{doc_id} is only partly present"
        report = kbm.check(kb)
        assert all(any(h in p for h in HARMLESS) for p in report.problems), report.problems
        assert report.lexical_ok and not report.repaired  # the index followed by its diff: nothing to rebuild
        kb.lexical.refresh()
        assert kb.lexical.current and len(kb.lexical) == len(kb.manifest.live_chunk_ids())
        return report.problems
    finally:
        kb.client.close()


def test_a_writer_killed_at_random_points_leaves_documents_whole_and_the_store_repairable(
    tmp_path: Path,
    store_url: str | None,  # noqa: F811
    embedder,  # type: ignore[no-untyped-def]
) -> None:
    # No other machine writes here, so leftovers may be repaired at once on a server too.
    settings = store_settings(tmp_path, store_url, knowledge_dir=tmp_path / "knowledge", leftover_grace=0.0)
    folders = {v: tmp_path / v for v in ("one", "two")}
    versions: dict[str, set[str]] = {t: set() for t in TOPICS}
    for version, folder in folders.items():
        for topic in TOPICS:
            path = write(folder, f"{topic}.md", doc_text(topic, sections=6, version=version))
            versions[topic].add(load_path(path, settings.max_document_bytes).content_hash)

    # One uninterrupted add tells how long the work takes after start-up.
    proc = start(settings, "add", str(folders["one"]))
    began = time.monotonic()
    finish(proc)
    work = max(time.monotonic() - began, 0.5)

    rng = random.Random(20261125)
    left_something = 0
    for round_ in range(KILLS):
        if round_ % 3 == 2:
            proc = start(settings, "rebuild")
        else:
            proc = start(settings, "add", str(folders["two" if round_ % 2 else "one"]))
        time.sleep(rng.uniform(0.0, work))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        problems = check_consistent(settings, embedder, versions)
        left_something += bool(problems)
        if round_ == KILLS // 2 and problems:  # `kb verify --repair` clears what a kill left
            kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
            assert kbm.verify(kb, embedder, repair_problems=True).ok
            kb.client.close()

    # The next command repairs whatever the last kill left, and completes.
    finish(start(settings, "add", str(folders["two"])))
    assert check_consistent(settings, embedder, versions) == []
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    assert sorted(kb.manifest.documents) == sorted(TOPICS)
    assert all(kb.manifest.documents[t].source.startswith(str(folders["two"])) for t in TOPICS)
    assert ingest.add_paths(kb, embedder, [folders["two"]]).changed == []
    print(f"{KILLS} kills, {left_something} left leftovers for the next write to repair")


STREAM_WORKER = """
import sys
from pathlib import Path
from advisor.kb.batch import Batch
from advisor.kb.loaders import load_path
from advisor.kb.store import KnowledgeBase
from advisor.settings import load_settings
from tests.test_ingest_stream import HashVectors

class Paced(HashVectors):
    def embed(self, texts):
        import time
        time.sleep(0.002 * len(texts))  # a model's pace, so the kill lands in the middle of the stream
        return super().embed(texts)

settings = load_settings()
kb = KnowledgeBase(settings, HashVectors.name, HashVectors.dimension)
print("ready", flush=True)
with kb.write_lock(), Batch(kb, Paced(), commit_every=float(sys.argv[2])) as batch:
    for path in sorted(Path(sys.argv[1]).iterdir()):
        batch.add(load_path(path, settings.max_document_bytes), "upload")
print("done", flush=True)
"""


def test_a_streaming_ingest_killed_midway_keeps_whole_documents_and_a_rerun_embeds_only_the_rest(
    tmp_path: Path,
    store_url: str | None,  # noqa: F811
) -> None:
    from tests.test_ingest_stream import HashVectors, folder

    settings = store_settings(tmp_path, store_url, knowledge_dir=tmp_path / "knowledge", leftover_grace=0.0)
    docs = folder(tmp_path / "docs", 40, paragraphs=4)
    files = sorted(docs.iterdir())
    chunks = {
        f.stem: len(chunk_document(d.doc_id, d.text, settings.chunk_tokens, settings.chunk_overlap))
        for f in files
        for d in [load_path(f, settings.max_document_bytes)]
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", STREAM_WORKER, str(docs), "0.2"],
        env=store_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    kb = KnowledgeBase(settings, HashVectors.name, HashVectors.dimension)
    deadline = time.monotonic() + 120
    while not kb.manifest.documents and time.monotonic() < deadline:  # wait for the first commit
        time.sleep(0.05)
        kb.reload_manifest()
    time.sleep(random.Random(13).uniform(0.0, 0.5))
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)

    kb = KnowledgeBase(settings, HashVectors.name, HashVectors.dimension)
    committed = sorted(kb.manifest.documents)
    present = kb.collection.all_ids()
    assert 0 < len(committed) < len(files), "the kill should land between the first and the last commit"
    assert committed == [f.stem for f in files[: len(committed)]]  # documents are committed in order
    assert all(set(d.chunk_ids) <= present for d in kb.manifest.documents.values())

    again = HashVectors()
    report = ingest.add_paths(kb, again, [docs])
    assert report.count("unchanged") == len(committed) and report.count("added") == len(files) - len(committed)
    assert again.texts == sum(n for stem, n in chunks.items() if stem not in committed)
    assert kbm.check(kb).ok
