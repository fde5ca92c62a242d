"""The advisor as LangChain building blocks, and the guard that keeps LangSmith tracing off unless opted in.

- :class:`AdvisorRetriever`: the hybrid retrieval (dense + BM25, fused) as a ``BaseRetriever``. Each
  ``Document`` is one chunk: metadata ``doc_id``, ``title``, ``section``, ``chunk_id``, ``score`` (the fused
  rank score), ``similarity`` (dense cosine) and ``bm25`` (only when BM25 ranked the chunk). It returns the
  top k whatever the question; declining off-topic questions is the answer path's job, not its.
- :class:`AdvisorEmbeddings`: the advisor's embedder (all-MiniLM-L6-v2 by default) as ``Embeddings``.
- :class:`AdvisorChain`: the answer path as a ``Runnable``. Input ``{"question": str, "history": [...]}``
  (or just the question); history items are the advisor's ``{"role", "content"}`` dicts or LangChain
  human/AI messages. Output: ``Answer.to_dict()`` (``answer``, ``sources``, ``refused``, ...). ``stream``
  yields ``AddableDict`` chunks: ``{"answer": delta}`` for each text delta the advisor streams, then one
  chunk with every other key (``sources``, ``refused``, ``usage``, ...); added up they are the whole output.
  Callbacks see the chain run, a retriever run for the search the answer makes, and on the openai provider
  the chat model's runs. Async methods run the sync ones in a thread.

LangSmith: every LangChain run made here, and the openai provider's ``ChatOpenAI`` calls, start inside
``langsmith.tracing_context(enabled=False)`` unless ``ADVISOR_LANGSMITH_TRACING=true``, whatever
``LANGSMITH_TRACING`` / ``LANGCHAIN_TRACING_V2`` say: knowledge-base text never leaves the machine by
accident. Even a tracer passed in explicitly drops runs started inside that context. Opting in lets
LangSmith's own variables decide. It deliberately doesn't reach into a chain of yours around these
parts: your own steps are traced as your environment says, and their inputs and outputs hold what these
return.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import ensure_config, get_callback_manager_for_config, run_in_executor
from langchain_core.runnables.utils import AddableDict
from langsmith import tracing_context
from pydantic import ConfigDict, PrivateAttr

from advisor.answering.answer import Answerer
from advisor.core import Advisor
from advisor.errors import InputError
from advisor.providers.embeddings import Embedder
from advisor.retrieval.retriever import Hit, Retrieval, Retriever
from advisor.settings import Settings

T = TypeVar("T")
ROLES = {"human": "user", "ai": "assistant"}  # LangChain message type -> the advisor's history role


# -- the tracing guard ---------------------------------------------------------------------------------
@contextmanager
def tracing_guard(settings: Settings) -> Iterator[None]:
    """LangSmith tracing off for LangChain runs started in the block, unless ``settings.langsmith_tracing``."""
    if settings.langsmith_tracing:
        yield
        return
    with tracing_context(enabled=False):
        yield


def untraced(items: Iterator[T], settings: Settings) -> Iterator[T]:
    """``items``, each step taken inside :func:`tracing_guard`. A generator must not hold the context across
    its ``yield``: the caller's own code would run untraced, and closing it from another context fails."""
    while True:
        with tracing_guard(settings):
            try:
                item = next(items)
            except StopIteration:
                return
        yield item


# -- retrieval -------------------------------------------------------------------------------------------
def to_documents(hits: Sequence[Hit]) -> list[Document]:
    """One ``Document`` per retrieved chunk, with where it comes from and how it scored."""
    docs = []
    for hit in hits:
        meta: dict[str, Any] = {
            "doc_id": hit.doc_id,
            "title": hit.title,
            "section": hit.section,
            "chunk_id": hit.chunk_id,
            "score": hit.score,
            "similarity": hit.dense,
        }
        if hit.lexical > 0:  # 0 means BM25 didn't rank it: left out rather than stored as a score
            meta["bm25"] = hit.lexical
        docs.append(Document(page_content=hit.text, metadata=meta, id=hit.chunk_id))
    return docs


class AdvisorRetriever(BaseRetriever):
    """The advisor's hybrid retrieval as a LangChain retriever: ``AdvisorRetriever(advisor=Advisor())``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    advisor: Advisor
    k: int | None = None  # None: the advisor's ADVISOR_TOP_K

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return to_documents(self.advisor.retriever.search(query, self.k).hits)

    def invoke(self, input: str, config: RunnableConfig | None = None, **kwargs: Any) -> list[Document]:
        with tracing_guard(self.advisor.settings):
            return super().invoke(input, config, **kwargs)

    async def ainvoke(self, input: str, config: RunnableConfig | None = None, **kwargs: Any) -> list[Document]:
        with tracing_guard(self.advisor.settings):  # the sync search runs in a thread (BaseRetriever's default)
            return await super().ainvoke(input, config, **kwargs)


class _ReportingRetriever:
    """The advisor's retriever; each search is reported as a retriever run of the LangChain run it happens in
    (found the way LangChain's own components find it: the current config)."""

    def __init__(self, inner: Retriever) -> None:
        self._inner = inner

    def search(self, query: str, k: int | None = None, also: str = "") -> Retrieval:
        callbacks = get_callback_manager_for_config(ensure_config())
        run = callbacks.on_retriever_start(None, query, name=AdvisorRetriever.__name__)
        try:
            retrieval = self._inner.search(query, k, also)
        except BaseException as exc:
            run.on_retriever_error(exc)
            raise
        run.on_retriever_end(to_documents(retrieval.hits))
        return retrieval

    def __getattr__(self, name: str) -> Any:  # everything else the answerer uses (chunk_count, refresh, ...)
        return getattr(self._inner, name)


# -- embeddings ------------------------------------------------------------------------------------------
class AdvisorEmbeddings(Embeddings):
    """The advisor's embedder as LangChain ``Embeddings``: ``AdvisorEmbeddings(advisor.embedder)``."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return cast(list[list[float]], self.embedder.embed(texts).tolist())

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


# -- the answer path -------------------------------------------------------------------------------------
def _message_text(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    return "".join(
        b if isinstance(b, str) else str(b.get("text", "")) for b in message.content if isinstance(b, str | dict)
    )


def _history_item(item: Any) -> Any:
    if not isinstance(item, BaseMessage):
        return item  # the advisor's own {"role", "content"}: it checks them
    if item.type not in ROLES:
        raise InputError(f"the history holds user and assistant turns only, not a {item.type} message")
    return {"role": ROLES[item.type], "content": _message_text(item)}


def parse_input(value: Any) -> tuple[str, list[Any]]:
    """(question, history) from the chain's input: a question, or ``{"question": ..., "history": [...]}``."""
    if isinstance(value, str):
        return value, []
    if not isinstance(value, Mapping) or "question" not in value:
        raise InputError('the input must be a question or {"question": ..., "history": [...]}')
    history = value.get("history") or []
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise InputError("the history must be a list of turns")
    return value["question"], [_history_item(item) for item in history]


class AdvisorChain(RunnableSerializable[dict[str, Any] | str, dict[str, Any]]):
    """The advisor's answer path as a LangChain ``Runnable``: ``AdvisorChain(advisor=Advisor())``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    advisor: Advisor

    _rewired: Advisor | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def _answering(self) -> Advisor:
        """The advisor, its parts shared, rewired once so that its searches report to the current run.
        Answers still go through :meth:`Advisor.stream`, like every other edge's."""
        with self._lock:
            if self._rewired is None:
                adv, base = self.advisor, self.advisor.answerer
                retriever = cast(Retriever, _ReportingRetriever(base.retriever))
                self._rewired = Advisor(
                    adv.settings,
                    embedder=adv.embedder,
                    kb=adv.kb,
                    chat=base.chat,
                    retriever=retriever,
                    answerer=Answerer(base.settings, retriever, base.selector, base.chat),
                )
            return self._rewired

    def _invoke(self, value: dict[str, Any] | str) -> dict[str, Any]:
        question, history = parse_input(value)
        return self._answering().ask(question, history).to_dict()

    def _stream(self, values: Iterator[dict[str, Any] | str]) -> Iterator[dict[str, Any]]:
        question, history = parse_input(next(values))
        stream = self._answering().stream(question, history)
        for delta in stream:
            yield AddableDict(answer=delta)
        assert stream.answer is not None
        yield AddableDict({k: v for k, v in stream.answer.to_dict().items() if k != "answer"})

    def invoke(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        with tracing_guard(self.advisor.settings):
            return self._call_with_config(self._invoke, input, config, run_type="chain")

    def stream(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> Iterator[dict[str, Any]]:
        steps = self._transform_stream_with_config(iter([input]), self._stream, config, run_type="chain")
        yield from untraced(steps, self.advisor.settings)

    async def astream(
        self, input: dict[str, Any] | str, config: RunnableConfig | None = None, **kwargs: Any | None
    ) -> AsyncIterator[dict[str, Any]]:
        steps = self.stream(input, config, **kwargs)
        done: dict[str, Any] = {}  # a sentinel: every chunk is a new dict
        while (chunk := await run_in_executor(config, next, steps, done)) is not done:
            yield chunk
