"""``Advisor``: the one object the CLI, the Streamlit app, the evals and the benchmarks talk to.

It wires settings -> embedder, chat model, knowledge base, retriever, answerer, loading each on first
use (a CLI ``kb list`` never loads the chat model). It knows nothing about Streamlit or the CLI.
On first use, an empty data dir is filled from the knowledge folder.

Every answer goes through :meth:`Advisor.stream` (``ask`` included), which writes its one record to the
answer log (:mod:`advisor.answer_log`) when the stream ends, fails or is abandoned.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from advisor import vocabulary
from advisor.answer_log import AnswerLog
from advisor.answering.answer import Answer, Answerer, AnswerStream
from advisor.answering.evidence import EvidenceSelector
from advisor.errors import AdvisorError
from advisor.kb import ingest
from advisor.kb import maintenance as kb_maintenance
from advisor.kb.entities import EntityCatalog
from advisor.kb.loaders import load_bytes
from advisor.kb.manifest import DocumentRecord
from advisor.kb.store import KnowledgeBase
from advisor.providers.chat_models import ChatModel, make_chat_model
from advisor.providers.embeddings import Embedder, make_embedder
from advisor.retrieval.retriever import Retriever
from advisor.settings import Settings, load_settings

T = TypeVar("T")


class Advisor:
    """The advisor's parts, wired from settings. Each part may be passed in (tests pass a shared embedder, a
    fake chat model or a knowledge base of their own); the ones not passed are built on first use."""

    def __init__(
        self,
        settings: Settings | None = None,
        auto_build: bool = True,
        *,
        embedder: Embedder | None = None,
        chat: ChatModel | None = None,
        kb: KnowledgeBase | None = None,
        retriever: Retriever | None = None,
        answerer: Answerer | None = None,
        answer_log: AnswerLog | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        vocabulary.use(self.settings.vocabulary)  # the domain's words: tokenising and entity names read it
        self.auto_build = auto_build
        # A part is built once even when several sessions' threads ask for it at the same time.
        self._init_lock = threading.RLock()
        self._parts: dict[str, Any] = {
            name: part
            for name, part in (
                ("embedder", embedder),
                ("chat", chat),
                ("kb", kb),
                ("retriever", retriever),
                ("answerer", answerer),
                ("answer_log", answer_log),
            )
            if part is not None
        }

    def _part(self, name: str, build: Callable[[], T]) -> T:
        part = self._parts.get(name)
        if part is None:
            with self._init_lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = build()
        return cast(T, part)

    # -- parts, built on first use ---------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        return self._part("embedder", lambda: make_embedder(self.settings))

    @property
    def chat(self) -> ChatModel:
        return self._part("chat", lambda: make_chat_model(self.settings))

    @property
    def kb(self) -> KnowledgeBase:
        return self._part("kb", self._open_kb)

    def _open_kb(self) -> KnowledgeBase:
        kb = KnowledgeBase(self.settings, self.embedder.name, self.embedder.dimension)
        if kb.is_new and self.auto_build and self.settings.knowledge_dir.is_dir():
            ingest.sync_folder(kb, self.embedder, self.settings.knowledge_dir)
        return kb

    @property
    def retriever(self) -> Retriever:
        return self._part("retriever", lambda: Retriever(self.kb, self.embedder, self.settings))

    @property
    def answerer(self) -> Answerer:
        return self._part(
            "answerer",
            lambda: Answerer(
                self.settings, self.retriever, EvidenceSelector(self.embedder, vectors=self.retriever.units), self.chat
            ),
        )

    @property
    def answer_log(self) -> AnswerLog:
        return self._part("answer_log", lambda: AnswerLog(self.settings))

    def warm_up(self) -> None:
        """Load everything now (the UI does this once per process, so the first question is fast)."""
        self.retriever.refresh()
        _ = self.answerer

    # -- what the knowledge base is about ----------------------------------------------------------
    def catalog(self) -> EntityCatalog:
        """The entities (roles) the knowledge base's documents compare and the backgrounds they advise."""
        self.retriever.refresh()
        return self.answerer.catalog()

    def entity_profile(self, entity: str) -> list[str]:
        """What the knowledge base says about one entity: its table cells and the sentences about it."""
        self.retriever.refresh()
        return self.answerer.entity_profile(entity)

    # -- chat ------------------------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        return self.stream(question, history).consume()

    def stream(self, question: str, history: Sequence[Any] | None = None) -> AnswerStream:
        """The answer as a stream; its answer-log record is written when the stream ends (see :meth:`_logged`)."""
        inner = self.answerer.stream(question, history)
        return AnswerStream(self._logged(inner), inner.trace)

    def _logged(self, inner: AnswerStream) -> Generator[str, None, Answer]:
        """``inner``'s pieces, then its answer; one answer-log record however the stream ends: ``ok``,
        ``failed`` (an error, named in the record) or ``abandoned`` (the reader stopped, or was interrupted)."""
        pieces: list[str] = []
        status, error = "abandoned", ""
        deltas = iter(inner)
        try:
            for piece in deltas:
                pieces.append(piece)
                yield piece
            status = "ok"
        except AdvisorError as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        except Exception as exc:
            status, error = "failed", type(exc).__name__  # a bug: its message stays with its traceback
            raise
        finally:
            deltas.close()  # a reader that stops stops the model too, before the record is taken
            self.answer_log.record(inner.trace, inner.answer, status=status, error=error, text="".join(pieces))
        assert inner.answer is not None
        return inner.answer

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
