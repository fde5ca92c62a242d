"""A stream and its stored answer are the same text, byte for byte, whatever shape the model's output has.

Real parts except the chat model: a real knowledge base in ``tmp_path`` holding a short document the answer
code was never tuned on, the real embedded model, the real retriever, evidence selector and answerer. The
chat model is a scripted fake, because the model's exact output *is* the edge case: a table row followed
by a space and a blank line, trailing spaces, sentences split across chunks, a dropped sentence between
kept ones, a last sentence without end punctuation, a stream cut mid-sentence. With a real model these
shapes come and go with machine load; here each one is played every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor import prompts
from advisor.answering.answer import Answer, Answerer
from advisor.answering.evidence import EvidenceSelector
from advisor.errors import StreamInterruptedError
from advisor.kb import ingest
from advisor.kb.store import KnowledgeBase
from advisor.providers.chat_models import Message, Usage
from advisor.providers.embeddings import make_embedder
from advisor.retrieval.retriever import Retriever
from advisor.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.slow  # loads the real embedding model

DOCUMENT = """# Analytics engineering as a career

## Pay and daily work

Analytics engineers model warehouse data with SQL and dbt so analysts can trust the same tables.
Mid-level analytics engineers earn $140K–$190K in base pay.
Most of the week goes to data modeling, testing pipelines and reviewing pull requests.
"""
QUESTION = "What do analytics engineers earn?"
MODELS = "Analytics engineers model warehouse data with SQL and dbt [1]."
PAY = "Mid-level analytics engineers earn $140K–$190K in base pay [1]"  # no end punctuation
INVENTED = "They earn $999K at every company [1]."  # a figure no source has: dropped
TABLE = "| Level | Focus |\n|---|---|\n| Mid-level | Data modeling and testing pipelines |"  # no citation
LEAD = "Analytics engineers model warehouse data with SQL and dbt so analysts can trust the same tables."


class ScriptedChat:
    """A chat model that streams the chunks it is given, then its usage; or, with ``cut``, breaks off
    after them the way the OpenAI path reports a dropped connection."""

    name = "scripted"

    def __init__(self, chunks: list[str], cut: bool = False) -> None:
        self.chunks = chunks
        self.cut = cut
        self.calls = 0

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str | Usage]:
        self.calls += 1
        yield from self.chunks
        if self.cut:
            raise StreamInterruptedError("the model's answer was interrupted", partial="".join(self.chunks))
        yield Usage(prompt_tokens=100, completion_tokens=len(self.chunks))


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Retriever, EvidenceSelector]:
    root = tmp_path_factory.mktemp("stream-equals-answer")
    knowledge = root / "knowledge"
    knowledge.mkdir()
    (knowledge / "analytics-engineer.md").write_text(DOCUMENT, encoding="utf-8")
    settings = make_settings(root, knowledge_dir=knowledge, answer_mode="generative")
    embedder = make_embedder(settings)
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    report = ingest.sync_folder(kb, embedder, knowledge)
    assert not report.errors and report.count("added") == 1
    retriever = Retriever(kb, embedder, settings)
    retriever.refresh()
    return settings, retriever, EvidenceSelector(embedder)


def run(
    parts: tuple[Settings, Retriever, EvidenceSelector],
    chat: ScriptedChat,
    mode: str = "generative",
    question: str = QUESTION,
) -> tuple[list[str], Answer]:
    settings, retriever, selector = parts
    stream = Answerer(settings.with_(answer_mode=mode), retriever, selector, chat).stream(question)
    deltas = list(stream)
    assert stream.answer is not None
    return deltas, stream.answer


GROUNDED = "<grounded>"  # in an expected text: the grounded answer to the same question (opening, then quotes)


@pytest.mark.parametrize(
    ("chunks", "cut", "expected"),
    [
        pytest.param(
            [
                "Analytics engi",
                "neers model warehouse data with SQL and dbt [1].  ",
                f"{INVENTED} Mid-level analy",
                "tics engineers earn $140K–",
                "$190K in base pay [1]",
            ],
            False,
            f"{MODELS} {PAY}",
            id="split-across-chunks-a-dropped-sentence-between-kept-ones-no-end-punctuation",
        ),
        pytest.param(
            [f"{MODELS}  \n\n{PAY}  \n\n", INVENTED],
            False,
            f"{MODELS} {PAY}",
            id="trailing-spaces-then-a-dropped-last-sentence",
        ),
        pytest.param(
            ["| Level | Focus |\n|---|---|\n| Mid-level | Data mod", "eling and testing pipelines |", " \n\n"],
            False,
            f"{TABLE}\n\n{prompts.EVIDENCE_HEADER}\n{GROUNDED}",
            id="an-uncited-table-row-then-a-space-and-a-blank-line",
        ),
        pytest.param(
            [f"{MODELS} ", "Most of the week goes to"],
            True,
            f"{MODELS}\n\n{prompts.INTERRUPTED}",
            id="cut-mid-sentence-after-a-kept-one",
        ),
        pytest.param(
            ["Analytics engineers model"],
            True,
            f"{prompts.NO_SUPPORT}\n{GROUNDED}\n\n{prompts.INTERRUPTED}",
            id="cut-before-any-sentence-is-whole",
        ),
        pytest.param(
            [INVENTED, " Read more at https://example.com/pay [1]."],
            False,
            f"{prompts.NO_SUPPORT}\n{GROUNDED}",
            id="nothing-the-model-wrote-survives",
        ),
    ],
)
def test_the_generative_stream_adds_up_to_exactly_the_stored_answer(
    parts: tuple[Settings, Retriever, EvidenceSelector], chunks: list[str], cut: bool, expected: str
) -> None:
    chat = ScriptedChat(chunks, cut=cut)
    deltas, answer = run(parts, chat)
    assert chat.calls == 1 and not answer.refused and answer.mode == "generative"
    assert "".join(deltas) == answer.text
    # ... and the shape was really played: the guard kept and dropped what it should have, and when nothing
    # cited survived, the plan-shaped grounded answer was shown instead.
    _, grounded = run(parts, ScriptedChat([]), mode="grounded")
    assert grounded.text.startswith("Mid-level analytics engineers earn") and "\n\n> " in grounded.text
    assert answer.text == expected.replace(GROUNDED, grounded.text)
    assert answer.interrupted is cut


def test_the_stored_answer_does_not_depend_on_how_the_model_chunks_its_output(
    parts: tuple[Settings, Retriever, EvidenceSelector],
) -> None:
    output = f"{MODELS}  {INVENTED}\n\n{TABLE} \n\n{PAY}"
    _, whole = run(parts, ScriptedChat([output]))
    deltas, by_char = run(parts, ScriptedChat(list(output)))
    assert "".join(deltas) == by_char.text == whole.text
    assert whole.text == f"{MODELS} {TABLE} {PAY}"


@pytest.mark.parametrize(
    ("question", "kind", "opens"),
    [
        (QUESTION, "fact", "Mid-level analytics engineers earn $140K–$190K in base pay. [1]\n\n> "),
        ("Analytics engineers earn $140K–$190K in base pay, right?", "yes_no", "Yes: Mid-level analytics engineers"),
        ("Analytics engineers mostly write poetry, don't they?", "yes_no", f"{prompts.NO_VERDICT}\n\n> "),
        (
            "What do analytics engineers earn in London, in pounds?",
            "fact",
            "The knowledge base says nothing about London",
        ),
        ("List the steps of an analytics engineer's week", "list", "> "),  # a list is its quotes
        ("I have two offers as an analytics engineer; which should I take?", "decision", "Mid-level analytics"),
        ("I'm a data analyst, which role fits me?", "recommendation", "Analytics engineers model warehouse data"),
    ],
)
def test_the_grounded_stream_adds_up_to_exactly_the_stored_answer_for_each_kind(
    parts: tuple[Settings, Retriever, EvidenceSelector], question: str, kind: str, opens: str
) -> None:
    chat = ScriptedChat([LEAD])
    deltas, answer = run(parts, chat, mode="grounded", question=question)
    assert not answer.refused and answer.mode == "grounded" and answer.trace.plan["kind"] == kind
    assert "".join(deltas) == answer.text
    assert all(deltas)  # no empty piece
    assert answer.text.startswith(opens) and answer.text == answer.text.strip()
    assert chat.calls == 0  # composed from the evidence: the model is never asked
    assert answer.usage.prompt_tokens == answer.usage.completion_tokens == 0


@pytest.mark.parametrize("mode", ["grounded", "generative"])
def test_a_declined_question_streams_exactly_the_stored_refusal(
    parts: tuple[Settings, Retriever, EvidenceSelector], mode: str
) -> None:
    chat = ScriptedChat([MODELS])
    deltas, answer = run(parts, chat, mode=mode, question="What's a good lasagna recipe?")
    assert answer.refused and answer.reason == "out_of_scope"
    settings, retriever, selector = parts
    decline = prompts.REFUSAL.substitute(scope=Answerer(settings, retriever, selector, chat).scope())
    assert "(Analytics engineering as a career)" in decline  # no entity learned: the scope is the document's title
    assert "".join(deltas) == answer.text == decline
    assert chat.calls == 0


def test_an_empty_knowledge_base_streams_exactly_the_stored_notice(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, knowledge_dir=tmp_path / "no-knowledge", answer_mode="generative")
    embedder = make_embedder(settings)
    kb = KnowledgeBase(settings, embedder.name, embedder.dimension)
    retriever = Retriever(kb, embedder, settings)
    stream = Answerer(settings, retriever, EvidenceSelector(embedder), ScriptedChat([MODELS])).stream(QUESTION)
    assert "".join(stream) == prompts.EMPTY_KB
    assert stream.answer is not None and stream.answer.text == prompts.EMPTY_KB and stream.answer.reason == "empty_kb"
