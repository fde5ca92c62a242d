"""``Advisor``: the one object the CLI, the Streamlit app, the evals and the benchmarks talk to.

It wires settings -> embedder, chat model, knowledge base, retriever, answerer, loading each on first
use (a CLI ``kb list`` never loads the chat model). It knows nothing about Streamlit or the CLI.
On first use, an empty data dir is filled from the knowledge folder.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from advisor.kb import ingest
from advisor.kb import maintenance as kb_maintenance
from advisor.answering.answer import Answer, Answerer, AnswerStream
from advisor.providers.chat_models import ChatModel, make_chat_model
from advisor.providers.embeddings import Embedder, make_embedder
from advisor.answering.evidence import EvidenceSelector
from advisor.kb.loaders import load_bytes
from advisor.retrieval.retriever import Retriever
from advisor.settings import Settings, load_settings
from advisor.kb.manifest import DocumentRecord
from advisor.kb.store import KnowledgeBase


class Advisor:
    def __init__(self, settings: Settings | None = None, auto_build: bool = True) -> None:
        self.settings = settings or load_settings()
        self.auto_build = auto_build
        # Python 3.12+ cached_property has no lock of its own: this one makes each part load once even
        # when several sessions' threads ask for it at the same time.
        self._init_lock = threading.RLock()

    # -- parts, loaded on first use ----------------------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        with self._init_lock:
            if "embedder" in self.__dict__:  # built by another thread while this one waited
                return self.__dict__["embedder"]  # type: ignore[no-any-return]
            return make_embedder(self.settings)

    @cached_property
    def chat(self) -> ChatModel:
        with self._init_lock:
            if "chat" in self.__dict__:  # built by another thread while this one waited
                return self.__dict__["chat"]  # type: ignore[no-any-return]
            return make_chat_model(self.settings)

    @cached_property
    def kb(self) -> KnowledgeBase:
        with self._init_lock:
            if "kb" in self.__dict__:  # built by another thread while this one waited
                return self.__dict__["kb"]  # type: ignore[no-any-return]
            kb = KnowledgeBase(self.settings, self.embedder.name, self.embedder.dimension)
            if kb.is_new and self.auto_build and self.settings.knowledge_dir.is_dir():
                ingest.sync_folder(kb, self.embedder, self.settings.knowledge_dir)
            return kb

    @cached_property
    def retriever(self) -> Retriever:
        with self._init_lock:
            if "retriever" in self.__dict__:  # built by another thread while this one waited
                return self.__dict__["retriever"]  # type: ignore[no-any-return]
            return Retriever(self.kb, self.embedder, self.settings)

    @cached_property
    def answerer(self) -> Answerer:
        with self._init_lock:
            if "answerer" in self.__dict__:  # built by another thread while this one waited
                return self.__dict__["answerer"]  # type: ignore[no-any-return]
            return Answerer(self.settings, self.retriever, EvidenceSelector(self.embedder), self.chat)

    def warm_up(self) -> None:
        """Load everything now (the UI does this once per process, so the first question is fast)."""
        self.retriever.refresh()
        _ = self.answerer

    # -- chat ------------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        return self.answerer.ask(question, history)

    def stream(self, question: str, history: Sequence[Any] | None = None) -> AnswerStream:
        return self.answerer.stream(question, history)

    # -- knowledge base ----------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        self.kb.reload_manifest()
        return sorted(self.kb.manifest.documents.values(), key=lambda d: d.doc_id)

    def add_paths(self, paths: Sequence[Path], progress: ingest.Progress | None = None) -> ingest.SyncReport:
        return ingest.add_paths(self.kb, self.embedder, paths, progress)

    def add_upload(self, data: bytes, name: str) -> ingest.Change:
        """Add (or replace) one uploaded document; raises DocumentError and changes nothing if it is bad."""
        doc = load_bytes(data, name, self.settings.max_document_bytes, source=f"upload:{name}")
        return ingest.add_document(self.kb, self.embedder, doc)

    def remove(self, doc_id: str) -> ingest.Change:
        return ingest.remove_document(self.kb, doc_id, embedder=self.embedder)

    def update(self, progress: ingest.Progress | None = None) -> ingest.SyncReport:
        return ingest.sync_folder(self.kb, self.embedder, self.settings.knowledge_dir, progress)

    def verify(self, repair: bool = False) -> kb_maintenance.VerifyReport:
        """Check that manifest, Chroma and BM25 agree; with ``repair``, fix leftovers and check again."""
        return kb_maintenance.verify(self.kb, self.embedder, repair_problems=repair)

    def rebuild(self, progress: ingest.Progress | None = None) -> kb_maintenance.RebuildReport:
        """Re-embed everything with the configured model into a new collection, then switch to it."""
        store = kb_maintenance.open_for_rebuild(self.settings, self.embedder)
        return kb_maintenance.rebuild(store, self.embedder, progress)
