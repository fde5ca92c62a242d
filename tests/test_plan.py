"""The answer plan classifies a question before any answer is written: its kind, its entities, the asker's
background, and the specifics the knowledge base never mentions.

Every kind is checked on both test documents' entities (evals/documents/), not only on the article's:
the plan reads English question grammar, and the domain words come from the catalog. ``knows`` is a fake
built from a document's own words, so "uncovered" means exactly "no word of the knowledge base".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from advisor.answering.plan import KINDS, background_phrase, make_plan, premise, uncovered_specifics
from advisor.kb.entities import EntityCatalog, learn
from advisor.retrieval.lexical import tokenize
from advisor.settings import PROJECT_DIR

TEXTS = {
    "article": (PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md").read_text("utf-8"),
    "data": (PROJECT_DIR / "evals/documents/data-engineer-vs-analytics-engineer-vs-data-analyst.md").read_text("utf-8"),
    "ops": (PROJECT_DIR / "evals/documents/sre-vs-devops-engineer-vs-platform-engineer.md").read_text("utf-8"),
}
CATALOGS = {name: EntityCatalog.merged([learn(text)]) for name, text in TEXTS.items()}
ALL = EntityCatalog.merged([learn(text) for text in TEXTS.values()])


def knows(*documents: str) -> Callable[[str], bool]:
    """Retriever.knows for a knowledge base holding these documents: whether any of them has the word."""
    words = {w for name in documents for w in tokenize(TEXTS[name])}
    return words.__contains__


NOTHING_UNCOVERED = knows("article", "data", "ops")


@pytest.mark.parametrize(
    ("document", "question", "kind", "entities"),
    [
        # yes/no: a tag question, "is it true that", or a question that opens with an auxiliary
        ("data", "Data engineers mainly build reliable pipelines, don't they?", "yes_no", ["Data Engineer"]),
        ("ops", "SREs carry the pager one week in four, right?", "yes_no", ["Site Reliability Engineer"]),
        (
            "ops",
            "Is it true that platform engineering is the fastest-growing of the three?",
            "yes_no",
            ["Platform Engineer"],
        ),
        ("ops", "Can a DevOps engineer become an SRE?", "yes_no", ["DevOps Engineer", "Site Reliability Engineer"]),
        ("data", "Do I need a degree for these jobs?", "yes_no", []),
        # the auxiliary after a fronted phrase still asks yes or no; a question word there doesn't
        (
            "ops",
            "At most companies, do SREs earn more than DevOps engineers?",
            "yes_no",
            ["Site Reliability Engineer", "DevOps Engineer"],
        ),
        (
            "ops",
            "At most companies, how far apart is pay for SREs and DevOps engineers?",
            "comparison",
            ["Site Reliability Engineer", "DevOps Engineer"],
        ),
        ("article", "ML engineers have the highest ceiling of the three, don't they?", "yes_no", ["ML Engineer"]),
        # comparison: two entities and a comparing word, or a choice between them
        (
            "data",
            "Which pays more, a data engineer or an analytics engineer?",
            "comparison",
            ["Data Engineer", "Analytics Engineer"],
        ),
        (
            "data",
            "How is a data analyst's main work different from an analytics engineer's?",
            "comparison",
            ["Data Analyst", "Analytics Engineer"],
        ),
        (
            "ops",
            "SRE vs platform engineer: which has the lighter on-call load?",
            "comparison",
            ["Site Reliability Engineer", "Platform Engineer"],
        ),
        (
            "ops",
            "Do platform engineers or SREs carry the heavier on-call load?",
            "comparison",
            ["Platform Engineer", "Site Reliability Engineer"],
        ),
        # decision: offers, "should I take", "choose between"
        (
            "data",
            "I have two offers, data engineer and analytics engineer, 8% apart. Which should I take?",
            "decision",
            ["Data Engineer", "Analytics Engineer"],
        ),
        (
            "ops",
            "If two offers are close, how should I choose between SRE and DevOps?",
            "decision",
            ["Site Reliability Engineer", "DevOps Engineer"],
        ),
        ("article", "Offer A pays 10% more but is mostly dashboards; should I take it?", "decision", []),
        ("data", "How do I decide which of these jobs to go for?", "decision", []),
        ("ops", "How should one pick among these careers?", "decision", []),
        # recommendation: the asker's background and a "which role" question
        ("article", "I'm a backend developer, which role fits me?", "recommendation", []),
        ("data", "As an analyst who enjoys SQL, which role should I go for?", "recommendation", []),
        ("ops", "I'm a backend developer. Which of these jobs suits me?", "recommendation", []),
        # list
        ("data", "List the core tools of an analytics engineer", "list", ["Analytics Engineer"]),
        ("ops", "What are all the steps to become an SRE?", "list", ["Site Reliability Engineer"]),
        # fact: one entity, or a "why" that names two (it asks for a reason, not a side-by-side)
        ("data", "What does a data engineer earn?", "fact", ["Data Engineer"]),
        ("ops", "What does a platform engineer do?", "fact", ["Platform Engineer"]),
        (
            "ops",
            "Why do SREs earn more than DevOps engineers?",
            "fact",
            ["Site Reliability Engineer", "DevOps Engineer"],
        ),
        ("ops", "Is DevOps a job or a culture?", "fact", ["DevOps Engineer"]),  # "X or Y" asks which
    ],
)
def test_each_class_of_question_gets_its_kind_on_any_documents_entities(
    document: str, question: str, kind: str, entities: list[str]
) -> None:
    for catalog in (CATALOGS[document], ALL):  # alone, and with the other documents in the knowledge base
        plan = make_plan(question, catalog, NOTHING_UNCOVERED)
        assert (plan.kind, plan.entities) == (kind, entities), question
        assert plan.kind in KINDS and plan.uncovered == []


def test_a_leading_question_is_marked_leading_and_a_plain_one_is_not() -> None:
    assert make_plan("SREs own the SLOs, right?", ALL, NOTHING_UNCOVERED).leading
    assert make_plan("Isn't it true that DevOps engineers own the SLOs?", ALL, NOTHING_UNCOVERED).leading
    assert not make_plan("Do SREs own the SLOs?", ALL, NOTHING_UNCOVERED).leading


def test_the_askers_background_is_the_knowledge_bases_background_they_named() -> None:
    plan = make_plan("I'm a backend developer, which role fits me?", CATALOGS["article"], NOTHING_UNCOVERED)
    assert plan.background_phrase == "backend developer"
    assert plan.background is not None and plan.background.label == "software engineer"
    plan = make_plan("I'm a business analyst, which role should I aim for?", CATALOGS["data"], NOTHING_UNCOVERED)
    assert plan.background is not None and plan.background.label == "business analyst or live in Excel"
    plan = make_plan("I'm a nurse, which role fits me?", CATALOGS["data"], NOTHING_UNCOVERED)
    assert plan.background_phrase == "nurse" and plan.background is None  # said, but not one the KB advises


def test_a_weak_background_hint_counts_only_when_the_knowledge_base_advises_it() -> None:
    assert background_phrase("Which role fits a software engineer?", CATALOGS["article"]) == "software engineer"
    assert background_phrase("Which role fits a software engineer?", CATALOGS["ops"]) == ""  # no such section
    assert background_phrase("Which role fits a software engineer?") == ""  # no catalog: no hints at all
    assert background_phrase("As a data analyst, what next?") == "data analyst"


def test_work_done_for_the_business_is_not_the_askers_background() -> None:
    question = "Data engineers mainly build dashboards for the business, don't they?"
    plan = make_plan(question, CATALOGS["data"], NOTHING_UNCOVERED)
    assert plan.background is None and plan.background_phrase == ""


def test_should_i_with_a_background_clause_asks_for_a_path() -> None:
    plan = make_plan("Should I, as a data analyst, go for ML?", CATALOGS["article"], NOTHING_UNCOVERED)
    assert plan.kind == "recommendation"


@pytest.mark.parametrize(
    ("document", "question", "uncovered"),
    [
        ("ops", "What does an SRE earn in London, in pounds?", ["London", "pounds"]),
        ("data", "What do data analysts earn at Netflix?", ["Netflix"]),
        ("ops", "What's the median pay for a staff platform engineer?", ["staff"]),
        ("data", "What will data engineers earn in 2031?", ["2031"]),
        ("article", "What's the pay for an AI engineer in Berlin in euros?", ["Berlin", "euros"]),
        ("data", "Is a data analyst paid £60K?", ["£"]),  # a symbol has no word that could show it is covered
        ("data", "Do remote contract analytics engineers earn more?", ["contract", "remote"]),
    ],
)
def test_specifics_no_document_mentions_are_uncovered(document: str, question: str, uncovered: list[str]) -> None:
    plan = make_plan(question, CATALOGS[document], knows(document))
    assert sorted(plan.uncovered) == sorted(uncovered)


def test_a_specific_the_knowledge_base_mentions_is_covered() -> None:
    assert uncovered_specifics("What do SREs earn at Google?", CATALOGS["ops"], knows("ops")) == []
    # Without the SRE document, even "SREs" is a specific the knowledge base doesn't cover.
    assert uncovered_specifics("What do SREs earn at Google?", CATALOGS["data"], knows("data")) == ["SREs", "Google"]
    assert uncovered_specifics("Are there junior data analyst roles?", CATALOGS["data"], knows("data")) == []
    assert uncovered_specifics("Are there junior SRE roles?", CATALOGS["ops"], knows("ops")) == ["junior"]
    assert uncovered_specifics("When was SRE coined, 2003?", CATALOGS["ops"], knows("ops")) == []


def test_entity_names_and_the_first_word_are_not_specifics() -> None:
    # "Site Reliability Engineer" is capitalised but it is the catalog's; "What" opens the sentence.
    question = "What does a Site Reliability Engineer or a DevOps Engineer earn?"
    assert uncovered_specifics(question, CATALOGS["ops"], lambda term: False) == []
    assert uncovered_specifics("I'm new. What does a Data Analyst do?", CATALOGS["data"], lambda term: False) == []


@pytest.mark.parametrize(
    ("question", "claim"),
    [
        ("Data engineers mainly build dashboards, don't they?", "Data engineers mainly build dashboards"),
        ("SREs carry the pager one week in four, right?", "SREs carry the pager one week in four"),
        ("Isn't it true that DevOps engineers own the SLOs?", "DevOps engineers own the SLOs"),
        ("Is it really true that analysts earn the least?", "analysts earn the least"),
        (
            "Would you agree that platform engineering is the youngest title, correct?",
            "platform engineering is the youngest title",
        ),
        ("Analytics engineers earn $120K–$160K, isn’t it?", "Analytics engineers earn $120K–$160K"),
        ("Platform engineers are on call less, aren't they", "Platform engineers are on call less"),
        ("Do SREs write code?", "Do SREs write code"),
    ],
)
def test_premise_is_the_claim_without_its_tag_or_lead_in(question: str, claim: str) -> None:
    assert premise(question) == claim


def test_the_plan_logs_what_it_decided() -> None:
    plan = make_plan("I'm a backend developer, what do SREs earn in Dublin?", ALL, NOTHING_UNCOVERED)
    assert plan.to_log() == {
        "kind": "fact",
        "entities": ["Site Reliability Engineer"],
        "background": "software engineer",
        "uncovered": ["Dublin"],
        "leading": False,
    }
    plan.verdict = "table_cell"
    assert plan.to_log()["verdict"] == "table_cell"


def test_a_background_several_documents_advise_comes_from_the_questions_document() -> None:
    """Both the article and the data-roles document advise software engineers: the advice that applies is the
    document's whose entities the question names, else the document its best passages come from."""
    catalog = EntityCatalog.merged([learn(text) for text in TEXTS.values()], list(TEXTS))
    named = make_plan(
        "How long does it take a software engineer to switch into data engineering?", catalog, NOTHING_UNCOVERED
    )
    assert named.background is not None and named.background.doc_id == "data"
    unnamed = "I'm a software engineer. Which of these three roles should I go for?"
    for best_first in (["data", "article"], ["article", "data"]):
        plan = make_plan(unnamed, catalog, NOTHING_UNCOVERED, best_first)
        assert plan.background is not None and plan.background.doc_id == best_first[0]


def test_a_question_word_mid_sentence_is_not_an_uncovered_name() -> None:
    """A rewritten follow-up may read "As a sysadmin, What would I need ...": "What" names no place or company."""
    question = "As a sysadmin, What would I need to add for DevOps engineers?"
    assert uncovered_specifics(question, ALL, NOTHING_UNCOVERED) == []


@pytest.mark.parametrize(
    ("question", "who"),
    [
        ("How much does a plumber earn?", "plumber"),
        ("What do electricians make?", "electricians"),
        ("Should I become a pharmacist?", "pharmacist"),
        ("Between two offers, should I take the one with the higher base pay?", ""),  # a comparative, not a person
        ("What does a platform engineer do?", ""),  # an entity of the knowledge base
        ("What does a recruiter look for?", ""),  # a person the knowledge base talks about
        ("I'm a nurse, which role fits me?", ""),  # the asker's own background: advice they want, not declined
    ],
)
def test_a_person_the_knowledge_base_never_mentions_is_a_stranger(question: str, who: str) -> None:
    assert make_plan(question, ALL, NOTHING_UNCOVERED).stranger == who
