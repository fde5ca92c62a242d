"""Each kind of answer has its shape (issue 10), on a knowledge base holding the article and both test
documents (evals/documents/, which the engine was not tuned on), with the real embedded models.

Grounded mode (the default): a trap opens with "No", a supported premise with "Yes", an unknown one says
the knowledge base doesn't say; an uncovered city or currency is named; a comparison quotes both sides,
across documents too; a decision opens with the guidance on deciding; a follow-up about a background
quotes only that background's section; a quote whose subject is only in its heading carries it; at most
three quotes unless the question asks for a list; and every figure is in a cited source. Every answer is
streamed, and the stream is the stored answer.

Generative mode, with a scripted chat model (the model's exact words are the edge case): for each kind
the guard drops a sentence that gives one entity another's figure or facts, and stops reading a looping
stream.
Most questions are cases of the eval suites (evals/suites/*.yaml, evals/positions.yaml) that pass today; the
others (a cross-document comparison, a list, a premise no document touches) follow their pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from advisor import prompts
from advisor.answering.answer import Answer, Answerer
from advisor.answering.evidence import EvidenceSelector
from advisor.answering.guard import ungrounded_figures
from advisor.core import Advisor
from advisor.providers.chat_models import Message, Usage
from advisor.settings import PROJECT_DIR
from tests.conftest import make_settings

DATA_DOC = "data-engineer-vs-analytics-engineer-vs-data-analyst"
OPS_DOC = "sre-vs-devops-engineer-vs-platform-engineer"
ARTICLE_DOC = "ai-engineer-vs-ml-engineer-vs-data-scientist"


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory, advisor: Advisor) -> Advisor:
    """An advisor on the article plus both test documents, added the way a user adds them."""
    adv = Advisor(make_settings(tmp_path_factory.mktemp("answer-kinds")), embedder=advisor.embedder, chat=advisor.chat)
    adv.warm_up()
    report = adv.add_paths([PROJECT_DIR / "evals" / "documents"])
    assert not report.errors and report.count("added") == 2
    assert {d.doc_id for d in adv.documents()} == {ARTICLE_DOC, DATA_DOC, OPS_DOC}
    return adv


Ask = Callable[..., Answer]


@pytest.fixture(scope="module")
def ask(three: Advisor) -> Ask:
    """Ask ``three`` (each question once per module); every answer is streamed and checked against its stored text."""
    answers: dict[tuple[str, tuple[tuple[str, str], ...]], Answer] = {}

    def run(question: str, *history: tuple[str, str]) -> Answer:
        key = (question, history)
        if key not in answers:
            turns = [{"role": role, "content": content} for role, content in history]
            stream = three.stream(question, turns)
            deltas = list(stream)
            assert stream.answer is not None
            assert "".join(deltas) == stream.answer.text  # the stream is the stored answer, byte for byte
            assert not stream.answer.refused, stream.answer.text
            answers[key] = stream.answer
        return answers[key]

    return run


def quotes(answer: Answer) -> list[str]:
    """The supporting quotes: the answer's "> ..." paragraphs."""
    return [line[2:] for line in answer.text.splitlines() if line.startswith("> ")]


def opening(answer: Answer) -> str:
    return answer.text.split("\n\n> ", 1)[0]


def cited(answer: Answer) -> str:
    return "\n".join(s.text for s in answer.sources)


# -- yes/no and leading questions --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "refuted_by"),
    [
        ("Data analysts mostly build and run data pipelines, right?", "Main work for Data Analyst: Answer business"),
        ("SREs make a median base of about $120K, right?", "median US base of $170K"),
        ("SREs spend about 90% of their time on toil, don't they?", "at 50% of an SRE's time"),
        # the whole passage, not only its first ranking clause: it says who has the highest ceiling
        (
            "ML engineers have the highest pay ceiling of the three, right?",
            "the highest variance and the highest ceiling",
        ),
    ],
)
def test_a_trap_opens_with_no_and_the_passage_that_refutes_it(ask: Ask, question: str, refuted_by: str) -> None:
    answer = ask(question)
    assert answer.text.startswith("No: "), answer.text
    assert refuted_by in opening(answer)
    assert answer.trace.plan["kind"] == "yes_no" and answer.trace.plan["verdict"] not in ("", "none")


@pytest.mark.parametrize(
    ("question", "backed_by"),
    [
        ("Data engineers get paid the most of the three at mid level, right?", "Data engineers are the best paid"),
        ("Platform engineers carry the lightest on-call load, don't they?", "on-call load is the lightest"),
    ],
)
def test_a_supported_premise_opens_with_yes(ask: Ask, question: str, backed_by: str) -> None:
    answer = ask(question)
    assert answer.text.startswith("Yes: ") and backed_by in opening(answer)


def test_a_premise_the_knowledge_base_does_not_touch_says_so_before_its_quotes(ask: Ask) -> None:
    answer = ask("Platform engineers mostly work remotely, right?")
    assert answer.text.startswith(f"{prompts.NO_VERDICT}\n\n> ")
    assert answer.trace.plan["verdict"] == "none" and not answer.text.lower().startswith(("yes", "no:"))


# -- coverage ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "missing", "figure"),
    [
        ("What's a data engineer's salary in London, in pounds?", "London or pounds", "$135K–$175K"),
        ("What does an SRE earn in Berlin, in euros?", "Berlin or euros", "$170K"),
        ("What do ML engineers earn in London, in pounds?", "London or pounds", "$200K–$380K"),
    ],
)
def test_the_coverage_line_names_an_uncovered_city_and_currency_then_answers(
    ask: Ask, question: str, missing: str, figure: str
) -> None:
    answer = ask(question)
    assert answer.text.startswith(prompts.UNCOVERED.substitute(specifics=missing))
    assert figure in opening(answer)  # ... then what the knowledge base does say: the US figure
    assert answer.trace.plan["uncovered"] == missing.split(" or ")


# -- comparisons ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "sides", "documents"),
    [
        ("Which pays more, data engineer or analytics engineer?", ["$135K–$175K", "$120K–$160K"], {DATA_DOC}),
        (
            "How is a data analyst's main work different from an analytics engineer's?",
            ["Turn raw tables into clean, tested data models", "Answer business questions with data"],
            {DATA_DOC},
        ),
        ("Which pays more, SRE or DevOps engineer?", ["$170K", "$145K"], {OPS_DOC}),
        # across documents: each side is retrieved from its own document
        ("Which pays more, an SRE or a data analyst?", ["median US base of $170K", "$80K–$115K"], {OPS_DOC, DATA_DOC}),
        (
            "Which pays more, an AI engineer or a data engineer?",
            ["AI Engineer has the highest variance", "Data engineers are the best paid"],
            {ARTICLE_DOC, DATA_DOC},
        ),
    ],
)
def test_a_comparison_quotes_both_sides(ask: Ask, question: str, sides: list[str], documents: set[str]) -> None:
    answer = ask(question)
    assert answer.trace.plan["kind"] == "comparison" and len(answer.trace.plan["entities"]) == 2
    for side in sides:
        assert side in answer.text, (side, answer.text)
    assert {s.doc_id for s in answer.sources} >= documents


def test_a_comparison_opens_on_the_question_topic(ask: Ask) -> None:
    """The sides' table rows come along whatever the search ranks, and the column on the question's topic answers
    (the search alone found only a pay sentence naming both)."""
    answer = ask("Who does more on-call, SREs or platform engineers?")
    assert "one week in four" in answer.text and "$10K" not in opening(answer)


# -- decisions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "guidance"),
    [
        (
            "Offer A pays a little more but it's all dashboards; offer B is closer to the work I enjoy. "
            "Which one should I take?",
            "If you're weighing two offers, don't let a base-pay gap under 10% decide it.",
        ),
        (
            "I got an analytics engineer offer with a great salary, but the team has no version control or tests. "
            "Should I take it?",
            "A team without version control or tests will make an analytics engineer's life hard",
        ),
        (
            "Two SRE offers pay about the same, but one has me on call every other week. Which should I take?",
            "If two offers are close, ask how often you would be on call",
        ),
    ],
)
def test_a_decision_gets_the_guidance_on_how_to_decide(ask: Ask, question: str, guidance: str) -> None:
    answer = ask(question)
    assert answer.trace.plan["kind"] == "decision"
    assert guidance in answer.text
    assert not answer.text.startswith(">")  # an opening sentence, not a bare block of quotes


# -- follow-ups about a background ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("history", "question", "label", "section"),
    [
        (
            (
                "I'm a software engineer. Which of these three data roles should I go for?",
                "Head for data engineering. [1]",
            ),
            "What about a business analyst?",
            "business analyst or live in Excel",
            "If you're a business analyst or live in Excel",
        ),
        (
            ("I'm a software engineer, which role should I go for?", "Go AI Engineer. [1]"),
            "What about data scientists?",
            "data scientist or analyst",
            "You're a data scientist or analyst",
        ),
    ],
)
def test_a_follow_up_about_a_background_quotes_only_that_backgrounds_section(
    ask: Ask, history: tuple[str, str], question: str, label: str, section: str
) -> None:
    answer = ask(question, ("user", history[0]), ("assistant", history[1]))
    assert answer.standalone_question != question and answer.trace.plan["background"] == label
    assert answer.text.startswith(f"For a {label}: ")
    assert answer.sources and all(s.section.endswith(section) for s in answer.sources), [
        s.section for s in answer.sources
    ]


# -- someone else's career ---------------------------------------------------------------------------------------
def test_a_question_about_a_job_no_document_mentions_is_declined(three: Advisor) -> None:
    """Three documents full of pay figures: "How much does a plumber earn?" must not be answered with an SRE's pay."""
    answer = three.ask("How much does a plumber earn?")
    assert answer.refused and answer.reason == "out_of_scope" and not answer.sources
    assert "$" not in answer.text


# -- a fact that is a table cell --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "opening"),
    [
        # a table with the entities as columns, one row per chunk: the row is found whatever the search ranks
        ("Which tools does an analytics engineer use?", "Core tools for Analytics Engineer: SQL, dbt, Git"),
        # a table with one row per entity: the cell that answers, not the whole row
        ("What is a platform engineer's usual background?", "Typical background for Platform Engineer: Backend"),
    ],
)
def test_a_fact_about_one_entity_opens_with_its_own_table_cell(ask: Ask, question: str, opening: str) -> None:
    answer = ask(question)
    assert answer.text.startswith(opening), answer.text
    assert "Median US base pay" not in answer.text.split("\n")[0]  # only the cell that answers


# -- quotes that stand alone ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "carried"),
    [
        ("What does an analytics engineer's week look like?", "[Inside the analytics engineer's week] "),
        ("Who are platform engineers' customers?", "[The platform engineer] Their customers are the company's own"),
        ("Platform engineers carry the lightest on-call load, don't they?", "[The platform engineer] Because platform"),
    ],
)
def test_a_quote_whose_subject_is_only_in_its_heading_carries_the_heading(
    ask: Ask, question: str, carried: str
) -> None:
    answer = ask(question)
    assert carried in answer.text
    heading = re.match(r"\[([^\]]+)\]", carried)
    assert heading and any(s.section.endswith(heading[1]) for s in answer.sources)


@pytest.mark.parametrize(
    ("question", "narrative"),
    [
        ("whats a day in the life of a data analyst like?", r"At 9:30|Before lunch|spreadsheet model"),
        ("What does a DevOps engineer do on a normal day?", r"A normal day might mean"),
        ("Walk me through an ML engineer's typical day.", r"Reviews experiment logs|Spends the afternoon"),
    ],
)
def test_a_question_about_an_entitys_day_quotes_the_narrative_of_its_day(
    ask: Ask, question: str, narrative: str
) -> None:
    """The narrative of a day says when things happen (at 9:30, after lunch), not "day": it still answers."""
    assert re.search(narrative, ask(question).text), ask(question).text


@pytest.mark.parametrize(
    ("question", "sizing", "others"),
    [
        (
            "How far apart is pay for SREs and DevOps engineers?",
            r"DevOps engineers about \$25K less",
            "analytics engineer",
        ),
        (
            "In Germany, how big is the pay gap between AI engineers and data scientists?",
            "within 20%",
            "analytics engineer",
        ),
    ],
)
def test_a_gap_question_opens_with_the_sentence_that_sizes_the_gap_between_its_own_entities(
    ask: Ask, question: str, sizing: str, others: str
) -> None:
    """Another document's sentence sizing a gap between other entities neither opens nor crowds out the one that
    answers, however far its wording is from the question's."""
    answer = ask(question)
    assert re.search(sizing, opening(answer)), answer.text
    assert others not in answer.text.lower(), answer.text


@pytest.mark.parametrize(
    ("question", "ranking"),
    [
        ("Which is best paid among data engineers, analytics engineers and data analysts?", "best paid of the three"),
        (
            "Of SREs, DevOps engineers and platform engineers, whose job is growing fastest?",
            "fastest-growing of the three",
        ),
        # a comparison ("X, Y or Z?") whose superlative asks for a ranking, not the side-by-side row
        ("Who makes the most: SREs, DevOps engineers or platform engineers?", "best paid of the three"),
    ],
)
def test_a_superlative_over_several_entities_opens_with_the_sentence_that_ranks_them(
    ask: Ask, question: str, ranking: str
) -> None:
    """Not a fact about the first entity named, and not a table row whose header has the word ("Best background")."""
    assert ranking in opening(ask(question)), ask(question).text


def test_a_comparison_of_two_opens_with_their_own_cells_before_a_sentence_measuring_them_against_a_third(
    ask: Ask,
) -> None:
    """ "X earn $10K less than Z, and Y $25K less" answers by way of Z; the table column gives X and Y their own."""
    answer = ask("Which earns more: a DevOps engineer or a platform engineer?")
    assert "$145K" in opening(answer) and "$160K" in opening(answer), answer.text


def test_a_passage_that_calls_the_entity_by_its_abbreviation_is_found(ask: Ask) -> None:
    """The question says "site reliability", the only passage on its point says "SRE interviews"."""
    answer = ask("is there a coding round in site reliability interviews?")
    assert "SRE interviews usually include a coding round" in answer.text, answer.text


def test_a_ranking_that_names_no_entity_gets_each_documents_ranking(ask: Ask) -> None:
    """ "Which of the three is paid best?" in a knowledge base of three comparisons: each one's answer, cited."""
    lead = opening(ask("Of the three jobs, which one is paid the best?"))
    for ranking in ("Data engineers are the best paid", "SREs are the best paid", "AI Engineer has the highest"):
        assert ranking in lead, lead


def test_a_decision_that_names_no_entity_gets_each_documents_advice(ask: Ask) -> None:
    """ "How should one pick among these careers?" in a knowledge base of three comparisons: each one's advice on
    choosing, cited, however far one document's wording is from the question's."""
    answer = ask("How should one pick among these careers?")
    assert answer.trace.plan["kind"] == "decision"
    lead = opening(answer)
    for advice in ("Choose data engineering if you like building systems", "Pick by the kind of pressure you want"):
        assert advice in lead, lead
    assert re.search(r"Pick the role whose day-to-day|Bet on building skill|Look for what the team", lead), lead
    assert len(set(re.findall(r"\[\d+\]", lead))) >= 3


def test_a_faq_that_asks_the_reverse_of_the_premise_answers_it_no(ask: Ask) -> None:
    """ "... you're stuck with it, right?" against the FAQ "Can I switch ...?" "Yes. ...": a "No", without the
    FAQ's own "Yes" after it."""
    answer = ask("Once you start in one of these jobs you're stuck with it, right?")
    assert answer.text.startswith("No: "), answer.text
    assert not re.match(r"No: (Yes|No)\b", answer.text), answer.text
    assert answer.trace.plan["verdict"] == "source_says"


def test_a_quote_that_leans_on_the_sentence_before_is_quoted_with_it(ask: Ask) -> None:
    answer = ask("What do ML engineers earn in London, in pounds?")
    leaning = "ML Engineers can match this at the same companies."
    assert leaning not in answer.text or "Top AI labs pay AI engineers $400K–$800K" in answer.text


# -- length and grounding over every answer above ----------------------------------------------------------
LIST_QUESTIONS = ["List the reasons platform engineering is growing"]
OTHER_QUESTIONS = [
    "Data analysts mostly build and run data pipelines, right?",
    "SREs make a median base of about $120K, right?",
    "Data engineers get paid the most of the three at mid level, right?",
    "Platform engineers mostly work remotely, right?",
    "What's a data engineer's salary in London, in pounds?",
    "What does an SRE earn in Berlin, in euros?",
    "Which pays more, data engineer or analytics engineer?",
    "Which pays more, SRE or DevOps engineer?",
    "Who makes more, a platform engineer or a DevOps engineer?",  # a column drawn from two rows: both cited
    "Who does more on-call, SREs or platform engineers?",
    "Which pays more, an SRE or a data analyst?",
    "Which pays more, an AI engineer or a data engineer?",
    "What does an analytics engineer's week look like?",
    "Two SRE offers pay about the same, but one has me on call every other week. Which should I take?",
]


@pytest.mark.parametrize("question", OTHER_QUESTIONS)
def test_at_most_three_quotes_unless_the_question_asks_for_a_list(ask: Ask, question: str) -> None:
    assert len(quotes(ask(question))) <= 3


@pytest.mark.parametrize("question", LIST_QUESTIONS)
def test_a_list_question_gets_more_quotes_but_not_unbounded(ask: Ask, question: str) -> None:
    answer = ask(question)
    assert answer.trace.plan["kind"] == "list" and 3 < len(quotes(answer)) <= 5


@pytest.mark.parametrize("question", LIST_QUESTIONS + OTHER_QUESTIONS)
def test_every_figure_in_an_answer_is_in_a_cited_source(ask: Ask, question: str) -> None:
    answer = ask(question)
    assert not ungrounded_figures(answer.text, cited(answer)), answer.text
    assert all(f"[{s.n}]" in answer.text for s in answer.sources)  # every listed source is cited


# -- the generative path with a scripted model ----------------------------------------------------------------
class ScriptedChat:
    """A chat model that writes what ``script`` makes of the prompt (so it can cite the right source number),
    in small chunks, and records how much of it was read."""

    name = "scripted"

    def __init__(self, script: Callable[[str], list[str]]) -> None:
        self.script = script
        self.prompts: list[str] = []
        self.read = 0
        self.written = 0

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str | Usage]:
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        chunks = self.script(prompt)
        self.written = len(chunks)
        for self.read, chunk in enumerate(chunks, 1):
            yield chunk
        yield Usage(prompt_tokens=100, completion_tokens=len(chunks))


def source_with(prompt: str, text: str) -> int:
    """The number of the prompt's source that holds ``text``."""
    for match in re.finditer(r"^\[(\d+)\] .*?(?=^\[\d+\] |\Z)", prompt, re.M | re.S):
        if text in match.group(0):
            return int(match[1])
    raise AssertionError(f"no source in the prompt holds {text!r}")


LOOP = "The AI Engineer vs. " * 12


@pytest.mark.parametrize(
    ("question", "kind", "true", "swapped"),
    [
        # (question, its plan's kind, (text in the cited source, a true sentence), (same, a swapped one))
        pytest.param(
            "What is the median US base pay of a DevOps engineer?",
            "fact",
            ("| DevOps Engineer |", "DevOps engineers have a median US base pay of $145K"),
            ("SREs are the best paid", "DevOps engineers have a median US base pay of $170K"),
            id="fact",
        ),
        pytest.param(
            "Which pays more, data engineer or analytics engineer?",
            "comparison",
            ("$135K–$175K", "Data engineers earn $135K–$175K at mid level"),
            ("$135K–$175K", "Analytics engineers earn $135K–$175K at mid level"),
            id="comparison",
        ),
        pytest.param(
            "Data analysts earn about the same as data engineers, right?",
            "yes_no",
            ("$80K–$115K", "No: data analysts earn $80K–$115K in mid-level base pay"),
            ("$135K–$175K", "Data analysts earn $135K–$175K in mid-level base pay"),
            id="yes_no",
        ),
        pytest.param(
            "I have two offers, one as a platform engineer and one as an SRE. Which should I take?",
            "decision",
            ("If two offers are close", "If two offers are close, ask how often you would be on call"),
            ("SREs are the best paid", "Platform engineers have a median US base pay of $170K"),
            id="decision",
        ),
        pytest.param(
            "List what an analytics engineer delivers and the tools they use",
            "list",
            ("Trusted data models", "Analytics engineers deliver trusted data models and shared metric definitions"),
            ("Python, Spark, Airflow, Kafka", "Analytics engineers work in Python, Spark, Airflow and Kafka"),
            id="list",
        ),
    ],
)
def test_the_generative_guard_drops_another_entitys_facts_and_stops_a_looping_stream(
    three: Advisor,
    question: str,
    kind: str,
    true: tuple[str, str],
    swapped: tuple[str, str],
) -> None:
    def script(prompt: str) -> list[str]:
        good = f"{true[1]} [{source_with(prompt, true[0])}]. "
        bad = f"{swapped[1]} [{source_with(prompt, swapped[0])}]. "
        after = f"{true[1]} again, said after the loop [{source_with(prompt, true[0])}]."
        return [good, bad, *re.findall(r".{1,9}", LOOP, re.S), after]

    chat = ScriptedChat(script)
    settings = three.settings.with_(answer_mode="generative")
    answerer = Answerer(settings, three.retriever, EvidenceSelector(three.embedder), chat)
    stream = answerer.stream(question)
    deltas = list(stream)
    answer = stream.answer
    assert answer is not None and "".join(deltas) == answer.text and answer.mode == "generative"
    assert answer.trace.plan["kind"] == kind
    # The plan's shape for this kind is in the prompt.
    assert prompts.PLAN_GUIDANCE[kind].split("$")[0][:30] in chat.prompts[-1]
    assert answer.text.startswith(true[1])  # the true sentence is kept ...
    assert swapped[1] not in answer.text  # ... the one giving this entity another's figure is dropped
    assert answer.text.count("The AI Engineer vs.") <= 1  # the loop is not shown ...
    assert "said after the loop" not in answer.text and chat.read < chat.written  # ... and the stream was cut
    assert not ungrounded_figures(answer.text, cited(answer))


def test_a_looping_sentence_without_end_punctuation_is_dropped_whole(three: Advisor) -> None:
    chat = ScriptedChat(lambda prompt: ["The AI Engineer vs the AI Engineer vs the AI Engineer vs the AI Engineer"])
    settings = three.settings.with_(answer_mode="generative")
    answer = Answerer(settings, three.retriever, EvidenceSelector(three.embedder), chat).ask(
        "ML engineers have the highest pay ceiling of the three, right?"
    )
    assert "vs the AI Engineer" not in answer.text
    assert answer.text.startswith(prompts.NO_SUPPORT)  # nothing the model wrote survived: the grounded answer instead
    assert "highest ceiling" in answer.text


def test_the_generative_prompt_names_the_uncovered_specifics_and_the_entities_to_keep_apart(three: Advisor) -> None:
    chat = ScriptedChat(lambda prompt: ["Median US base pay for an SRE is $170K [1]."])
    settings = three.settings.with_(answer_mode="generative")
    Answerer(settings, three.retriever, EvidenceSelector(three.embedder), chat).ask(
        "What does an SRE earn in Berlin, in euros?"
    )
    prompt = chat.prompts[-1]
    assert prompts.UNCOVERED_GUIDANCE.substitute(specifics="Berlin or euros") in prompt
    assert prompts.ENTITY_GUIDANCE.substitute(entities="Site Reliability Engineer") in prompt


def test_a_swapped_figure_citing_the_other_entitys_own_row_is_dropped(three: Advisor) -> None:
    def script(prompt: str) -> list[str]:
        return [
            f"DevOps engineers have a median US base pay of $145K [{source_with(prompt, '| DevOps Engineer |')}]. ",
            f"DevOps engineers have a median US base pay of $170K [{source_with(prompt, '| Site Reliability')}].",
        ]

    chat = ScriptedChat(script)
    settings = three.settings.with_(answer_mode="generative")
    answer = Answerer(settings, three.retriever, EvidenceSelector(three.embedder), chat).ask(
        "What is the median US base pay of a DevOps engineer?"
    )
    assert answer.text.startswith("DevOps engineers have a median US base pay of $145K")
    assert "$170K" not in answer.text
