"""Concurrent users on one Advisor: no errors, no cross-talk, while the knowledge base changes.

A small run of benchmarks/load_test.py (the figures at full size are in docs/RELIABILITY.md), and a
regression test for the race it found: a reader thread that saw this process's own manifest commit
before the writer recorded it took it for another process's write and reopened Chroma under the
writer and the other readers ("'RustBindingsAPI' object has no attribute 'bindings'").
"""

from __future__ import annotations

import shutil
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from advisor.core import Advisor
from advisor.kb import ingest
from advisor.kb.loaders import load_bytes
from advisor.settings import PROJECT_DIR
from tests.conftest import make_settings

sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))
import load_test

pytestmark = pytest.mark.slow


def test_concurrent_sessions_during_a_kb_update_see_no_errors_and_only_their_own_conversation(
    tmp_path: Path, advisor: Advisor
) -> None:
    shutil.copytree(advisor.settings.data_dir, tmp_path / "data")  # the article, already indexed
    figures = load_test.run_load(sessions=4, turns=3, max_seconds=240, provider="fake", update=True, workdir=tmp_path)
    assert figures["errors"] == 0, figures["error_details"]
    assert figures["cross_talk"] == 0, figures["cross_talk_details"]
    assert figures["turns_done"] == figures["turns_planned"] == 12
    assert figures["kb_updates"] == 3  # add, change, remove: all ran while the sessions were asking


def test_searches_and_writes_from_many_threads_on_one_knowledge_base_raise_nothing(tmp_path: Path) -> None:
    shared = Advisor(make_settings(tmp_path))
    shared.retriever.refresh()
    errors: Counter[str] = Counter()
    searches = [0]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                shared.retriever.search("What do ML engineers earn?")
                searches[0] += 1
            except Exception as exc:  # collected: the test fails on any
                errors[f"search: {type(exc).__name__}: {exc}"] += 1

    def writer() -> None:
        for i in range(12):
            try:
                doc = load_bytes(f"# Note {i}\n\nML engineers note {i} about pay.".encode(), f"note{i % 3}.md", 10**6)
                ingest.add_document(shared.kb, shared.embedder, doc)
                if i % 2:
                    ingest.remove_document(shared.kb, doc.doc_id)
            except Exception as exc:
                errors[f"write: {type(exc).__name__}: {exc}"] += 1

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    writing = threading.Thread(target=writer)
    writing.start()
    writing.join(timeout=300)
    stop.set()
    for thread in readers:
        thread.join(timeout=60)
    assert not errors, dict(errors)
    assert searches[0] > 0 and not writing.is_alive()
    live = shared.kb.manifest.live_chunk_ids()
    assert shared.kb.collection.existing_ids(sorted(live)) == live  # every chunk the manifest lists is in Chroma
