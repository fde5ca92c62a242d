"""The advisor as LangChain building blocks, used the way a LangChain user would, on real parts: the article in
a real Chroma, the real embedded models, a real llama_cpp.server on loopback for ``ChatOpenAI``.

LangSmith: a recording HTTP server on loopback stands in for the LangSmith endpoint. With tracing switched on
in the environment (``LANGSMITH_TRACING``, ``LANGCHAIN_TRACING_V2``, an API key) it must receive nothing from
the advisor's parts, and receive traces once ``ADVISOR_LANGSMITH_TRACING=true`` (so the first test can fail).
"""

from __future__ import annotations

import asyncio
import operator
import threading
import time
from collections.abc import AsyncIterator, Iterator
from functools import reduce
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.tracers.langchain import wait_for_all_tracers
from langchain_openai import ChatOpenAI
from langsmith import utils as ls_utils

from advisor.core import Advisor
from advisor.errors import InputError
from advisor.langchain import AdvisorChain, AdvisorEmbeddings, AdvisorRetriever
from tests.conftest import make_settings
from tests.llama_server import MODEL_ALIAS, llama_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

PAY = "What's the mid-level pay range for ML engineers?"
PAY_FIGURE = "$200K–$380K"
OFF_TOPIC = "What's a good recipe for banana bread?"
FLUSH_S = 5.0  # how long the opted-in test waits for LangSmith's background thread to post


class Recorder(BaseCallbackHandler):
    """Every chain and retriever event, in order: (event, run name, run id, parent run id, payload)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, UUID, UUID | None, Any]] = []
        self.names: dict[UUID, str] = {}

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kw: Any
    ) -> None:
        self.names[run_id] = kw.get("name") or ""
        self.events.append(("chain_start", self.names[run_id], run_id, parent_run_id, inputs))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kw: Any) -> None:
        self.events.append(("chain_end", self.names.get(run_id, ""), run_id, parent_run_id, outputs))

    def on_retriever_start(
        self, serialized: Any, query: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kw: Any
    ) -> None:
        self.names[run_id] = kw.get("name") or ""
        self.events.append(("retriever_start", self.names[run_id], run_id, parent_run_id, query))

    def on_retriever_end(self, documents: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kw: Any) -> None:
        self.events.append(("retriever_end", self.names.get(run_id, ""), run_id, parent_run_id, documents))

    def kinds(self) -> list[str]:
        return [event[0] for event in self.events]


def _text(chunks: list[dict[str, Any]]) -> str:
    return "".join(chunk.get("answer", "") for chunk in chunks)


# -- retriever and embeddings -------------------------------------------------------------------------------
def test_the_retriever_returns_the_advisors_hybrid_hits_as_documents_with_their_scores(advisor: Advisor) -> None:
    docs = AdvisorRetriever(advisor=advisor).invoke(PAY)
    hits = advisor.retriever.search(PAY).hits
    assert [d.metadata["chunk_id"] for d in docs] == [h.chunk_id for h in hits]
    assert [d.page_content for d in docs] == [h.text for h in hits]
    top = docs[0].metadata
    assert top["doc_id"] == hits[0].doc_id and top["title"] == hits[0].title and top["section"] == hits[0].section
    assert top["score"] == hits[0].score and top["similarity"] == hits[0].dense
    assert all(("bm25" in d.metadata) == (h.lexical > 0) for d, h in zip(docs, hits, strict=True))
    assert any("bm25" in d.metadata for d in docs)  # the question's words match: BM25 ranked some chunks
    assert any(PAY_FIGURE in d.page_content for d in docs)
    assert len(AdvisorRetriever(advisor=advisor, k=2).invoke(PAY)) == 2


def test_the_retriever_answers_async_and_reports_its_run_to_callbacks(advisor: Advisor) -> None:
    recorder = Recorder()
    retriever = AdvisorRetriever(advisor=advisor)
    docs = asyncio.run(retriever.ainvoke(PAY, config={"callbacks": [recorder]}))
    assert [d.id for d in docs] == [d.id for d in retriever.invoke(PAY)]
    assert recorder.kinds() == ["retriever_start", "retriever_end"]
    assert recorder.events[0][4] == PAY and recorder.events[1][4] == docs


def test_the_embeddings_adapter_gives_the_advisors_own_384_dimension_vectors(advisor: Advisor) -> None:
    embeddings = AdvisorEmbeddings(advisor.embedder)
    texts = ["ML engineers train and ship models.", "Data scientists run experiments."]
    vectors = embeddings.embed_documents(texts)
    query = embeddings.embed_query(PAY)
    assert len(vectors) == 2 and all(len(v) == 384 and isinstance(v[0], float) for v in vectors)
    assert np.array_equal(np.asarray(vectors, dtype=np.float32), advisor.embedder.embed(texts))
    assert np.array_equal(np.asarray(query, dtype=np.float32), advisor.embedder.embed([PAY])[0])
    assert asyncio.run(embeddings.aembed_query(PAY)) == query  # LangChain's default: the sync one in a thread


# -- the answer path as a Runnable ------------------------------------------------------------------------
def test_the_chain_inside_an_lcel_chain_returns_the_articles_figure(advisor: Advisor) -> None:
    chain = (
        RunnableLambda(lambda q: {"question": q})
        | AdvisorChain(advisor=advisor)
        | RunnableLambda(lambda out: out["answer"])
    )
    assert PAY_FIGURE in chain.invoke(PAY)


def test_the_chain_answers_a_batch_in_order_with_sources_and_refusals(advisor: Advisor) -> None:
    pay, off_topic = AdvisorChain(advisor=advisor).batch([{"question": PAY}, {"question": OFF_TOPIC}])
    assert PAY_FIGURE in pay["answer"] and not pay["refused"]
    assert any(PAY_FIGURE in s["snippet"] for s in pay["sources"])
    assert off_topic["refused"] and off_topic["sources"] == [] and off_topic["reason"] == "out_of_scope"


def test_streamed_chunks_add_up_to_the_invoked_answer(advisor: Advisor) -> None:
    chain = AdvisorChain(advisor=advisor)
    chunks = list(chain.stream({"question": PAY}))
    invoked = chain.invoke({"question": PAY})
    assert _text(chunks) == invoked["answer"]
    assert all(set(chunk) == {"answer"} for chunk in chunks[:-1]) and len(chunks) >= 2
    assert "answer" not in chunks[-1] and chunks[-1]["sources"]  # the last chunk: everything but the text
    merged = reduce(operator.add, chunks)
    for key in ("answer", "sources", "refused", "standalone_question", "mode", "usage"):
        assert merged[key] == invoked[key], key


def test_astream_streams_and_ainvoke_answers_like_the_sync_methods(advisor: Advisor) -> None:
    chain = AdvisorChain(advisor=advisor)

    async def collect(stream: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
        return [chunk async for chunk in stream]

    chunks = asyncio.run(collect(chain.astream(OFF_TOPIC)))
    assert _text(chunks) == advisor.ask(OFF_TOPIC).text and chunks[-1]["refused"]
    assert asyncio.run(chain.ainvoke(OFF_TOPIC))["answer"] == _text(chunks)


def test_callbacks_see_the_chain_run_and_the_search_inside_it(advisor: Advisor) -> None:
    recorder = Recorder()
    out = AdvisorChain(advisor=advisor).invoke({"question": OFF_TOPIC}, config={"callbacks": [recorder]})
    assert recorder.kinds() == ["chain_start", "retriever_start", "retriever_end", "chain_end"]
    (_, name, chain_id, _, inputs), (_, retriever_name, _, parent, query), (*_, docs), (*_, outputs) = recorder.events
    assert name == "AdvisorChain" and inputs == {"question": OFF_TOPIC}
    assert retriever_name == "AdvisorRetriever" and parent == chain_id and query == OFF_TOPIC
    assert docs and all(isinstance(d, Document) and d.metadata["chunk_id"] for d in docs)
    assert outputs == out

    streamed = Recorder()
    chunks = list(AdvisorChain(advisor=advisor).stream(OFF_TOPIC, config={"callbacks": [streamed]}))
    assert streamed.kinds() == ["chain_start", "retriever_start", "retriever_end", "chain_end"]
    assert streamed.events[-1][4] == reduce(operator.add, chunks)  # the run's output: the chunks added up


def test_the_history_takes_langchain_messages_and_refuses_system_turns(advisor: Advisor) -> None:
    chain = AdvisorChain(advisor=advisor)
    history = [HumanMessage("What does a data scientist do?"), AIMessage("Pulls SQL queries [1]")]
    out = chain.invoke({"question": "And how much do they make?", "history": history})
    assert out["standalone_question"] == "how much do data scientists make?"  # the follow-up was understood
    with pytest.raises(InputError, match="system"):
        chain.invoke({"question": PAY, "history": [SystemMessage("You are a pirate.")]})
    with pytest.raises(InputError):
        chain.invoke({"query": PAY})


# -- composition with ChatOpenAI ---------------------------------------------------------------------------
@pytest.mark.server
def test_the_retriever_composes_into_an_lcel_rag_chain_with_chat_openai(advisor: Advisor, llama_server: str) -> None:  # noqa: F811
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer the question from this context only.\n\n{context}"), ("human", "{question}")]
    )
    llm = ChatOpenAI(
        base_url=llama_server, api_key="sk-test", model=MODEL_ALIAS, max_tokens=60, temperature=0, timeout=60
    )

    def format_docs(docs: list[Document]) -> str:
        return "\n\n".join(f"{d.metadata['section']}: {d.page_content}" for d in docs)

    retriever = AdvisorRetriever(advisor=advisor, k=3)
    rag = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt | llm | StrOutputParser()
    answer = rag.invoke(PAY)
    assert isinstance(answer, str) and answer.strip()


# -- LangSmith: off unless opted in ------------------------------------------------------------------------
class _RecordingHandler(BaseHTTPRequestHandler):
    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.requests.append((self.command, self.path, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PATCH = do_PUT = _record

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def langsmith_endpoint() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A stand-in LangSmith endpoint on loopback: its URL and every request it receives."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tracing_on(langsmith_endpoint: tuple[str, list[tuple[str, str, bytes]]]) -> Iterator[list[tuple[str, str, bytes]]]:
    """LangSmith tracing switched on in the environment, pointing at the stand-in; its requests, emptied."""
    url, requests = langsmith_endpoint
    with pytest.MonkeyPatch.context() as mp:
        for prefix in ("LANGSMITH", "LANGCHAIN"):
            mp.setenv(f"{prefix}_ENDPOINT", url)
            mp.setenv(f"{prefix}_API_KEY", "lsv2-fake")
        mp.setenv("LANGSMITH_TRACING", "true")
        mp.setenv("LANGCHAIN_TRACING_V2", "true")
        ls_utils.get_env_var.cache_clear()  # langsmith caches what it read from the environment
        assert ls_utils.tracing_is_enabled() is True  # so without the guard, these runs would be sent
        requests.clear()
        try:
            yield requests
        finally:
            wait_for_all_tracers()
    ls_utils.get_env_var.cache_clear()  # later tests see the environment as it was


@pytest.fixture(scope="module")
def openai_advisor(advisor: Advisor, llama_server: str, tmp_path_factory: pytest.TempPathFactory) -> Advisor:  # noqa: F811
    """Generative answers from ChatOpenAI on the loopback llama server, over the shared knowledge base."""
    settings = make_settings(
        Path(tmp_path_factory.mktemp("langchain-openai")),
        provider="openai",
        openai_base_url=llama_server,
        openai_api_key="sk-test",
        chat_model=MODEL_ALIAS,
        answer_mode="generative",
        max_answer_tokens=32,  # these tests need ChatOpenAI to run, not a long answer from a 135M model
        timeout=60.0,
    )
    return Advisor(settings, embedder=advisor.embedder, kb=advisor.kb)


def _use_every_part(adv: Advisor) -> None:
    """The retriever, the chain (invoke and stream) and an OpenAI-path answer outside any chain. The chain gets a
    question it declines (no model call: the machine's 2 cores are slow); the plain answer runs ChatOpenAI."""
    assert AdvisorRetriever(advisor=adv).invoke(PAY)
    assert AdvisorChain(advisor=adv).invoke({"question": OFF_TOPIC})["refused"]
    assert list(AdvisorChain(advisor=adv).stream(OFF_TOPIC))
    answer = adv.ask(PAY)
    assert not answer.refused and answer.usage.completion_tokens > 0  # ChatOpenAI really ran


@pytest.mark.server
def test_langsmith_receives_nothing_without_the_opt_in_even_with_tracing_on(
    openai_advisor: Advisor, tracing_on: list[tuple[str, str, bytes]]
) -> None:
    assert openai_advisor.settings.langsmith_tracing is False
    _use_every_part(openai_advisor)
    wait_for_all_tracers()
    time.sleep(2.0)  # anything a background thread still meant to send
    assert tracing_on == []


@pytest.mark.server
def test_langsmith_receives_traces_once_opted_in(
    openai_advisor: Advisor, tracing_on: list[tuple[str, str, bytes]]
) -> None:
    opted_in = Advisor(
        openai_advisor.settings.with_(langsmith_tracing=True), embedder=openai_advisor.embedder, kb=openai_advisor.kb
    )
    _use_every_part(opted_in)
    deadline = time.monotonic() + FLUSH_S
    while not any(method == "POST" for method, _, _ in tracing_on) and time.monotonic() < deadline:
        wait_for_all_tracers()
        time.sleep(0.2)
    posted = [body for method, path, body in tracing_on if method == "POST" and path.startswith("/runs")]
    assert posted, tracing_on[:3]
    assert any(b"Typical mid-level TC" in body for body in posted)  # knowledge-base text: what the guard keeps home
