"""Follow-up questions become standalone questions before retrieval, on the entities and backgrounds the
knowledge base learned: the article's, and those of the two test documents in evals/documents/ (which the
rewriting rules were not tuned on)."""

from __future__ import annotations

import pytest

from advisor.answering.conversation import Turn, is_follow_up, rewrite_follow_up, singular
from advisor.answering.plan import background_phrase
from advisor.kb.entities import EntityCatalog, learn
from advisor.settings import PROJECT_DIR

ARTICLE = EntityCatalog.merged(
    [learn((PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md").read_text("utf-8"))]
)
DATA = EntityCatalog.merged(
    [learn((PROJECT_DIR / "evals/documents/data-engineer-vs-analytics-engineer-vs-data-analyst.md").read_text("utf-8"))]
)
OPS = EntityCatalog.merged(
    [learn((PROJECT_DIR / "evals/documents/sre-vs-devops-engineer-vs-platform-engineer.md").read_text("utf-8"))]
)

PAY = [Turn("user", "What's the mid-level pay range for ML engineers?"), Turn("assistant", "$200K–$380K [1]")]


def ask(question: str, previous: str, answer: str = "[1]", catalog: EntityCatalog = ARTICLE) -> str:
    return rewrite_follow_up(question, [Turn("user", previous), Turn("assistant", answer)], catalog)


# -- the article ----------------------------------------------------------------------------------------------
def test_roles_are_recognised_in_their_common_spellings() -> None:
    assert ARTICLE.find("machine learning engineers and data science") == ["ML Engineer", "Data Scientist"]
    assert ARTICLE.find("an AI engineer") == ["AI Engineer"]
    assert ARTICLE.find("a nurse") == []


def test_what_about_swaps_the_role_in_the_previous_question() -> None:
    assert (
        rewrite_follow_up("What about data scientists?", PAY, ARTICLE)
        == "What's the mid-level pay range for data scientists?"
    )


def test_a_pronoun_gets_the_role_the_conversation_is_about() -> None:
    history = [Turn("user", "What does a data scientist do?"), Turn("assistant", "Pulls SQL queries [1]")]
    assert rewrite_follow_up("And how much do they make?", history, ARTICLE) == "how much do data scientists make?"


def test_the_role_can_come_from_the_assistants_answer_and_the_asker_keeps_their_background() -> None:
    history = [Turn("user", "I'm a software engineer. Which role fits?"), Turn("assistant", "Go AI Engineer. [1]")]
    assert rewrite_follow_up("How much do they make?", history, ARTICLE) == (
        "As a software engineer, how much do AI engineers make?"
    )


def test_a_standalone_question_is_left_alone() -> None:
    question = "What do data science interviews emphasize?"
    assert not is_follow_up(question, PAY, ARTICLE)
    assert rewrite_follow_up(question, PAY, ARTICLE) == question
    assert rewrite_follow_up("What about data scientists?", [], ARTICLE) == "What about data scientists?"


def test_an_answer_quoting_all_three_roles_does_not_hijack_the_topic() -> None:
    answer = "> Typical mid-level TC: AI Engineer $220K–$400K; ML Engineer $200K–$380K; Data Scientist $160K–$280K. [1]"
    assert ask("What do their interviews emphasize?", PAY[0].content, answer) == (
        "What do ML engineers interviews emphasize?"
    )


def test_what_about_a_background_asks_the_same_for_that_reader() -> None:
    assert ask("What about ML grads?", "I'm a software engineer. Which role fits?", "Go AI Engineer. [1]") == (
        "I'm an ML grad. Which role fits?"
    )


def test_without_a_catalog_nothing_is_an_entity_and_what_about_appends() -> None:
    assert rewrite_follow_up("What about data scientists?", PAY, EntityCatalog()) == (
        "What's the mid-level pay range for ML engineers? data scientists?"
    )


# -- the other documents' entities ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("catalog", "previous", "question", "standalone"),
    [
        (
            OPS,
            "What is the median US base pay of a platform engineer?",
            "And SREs?",
            "What is the median US base pay of a site reliability engineer?",
        ),
        (
            OPS,
            "How heavy is the on-call load for a DevOps engineer?",
            "What about site reliability engineers?",
            "How heavy is the on-call load for a site reliability engineer?",
        ),
        (OPS, "Do I need to code as an SRE?", "What about DevOps?", "Do I need to code as a DevOps engineer?"),
        (
            DATA,
            "What does a data engineer deliver?",
            "And an analytics engineer?",
            "What does an analytics engineer deliver?",
        ),
        (
            DATA,
            "What is the main job of a data engineer?",
            "And data analysts?",
            "What is the main job of a data analyst?",
        ),
        (
            DATA,
            "What's the typical base pay for data analysts?",
            "Same for analytics engineering?",
            "What's the typical base pay for analytics engineers?",
        ),
    ],
)
def test_a_bare_follow_up_swaps_in_another_documents_entity(
    catalog: EntityCatalog, previous: str, question: str, standalone: str
) -> None:
    assert ask(question, previous, catalog=catalog) == standalone


def test_a_pronoun_gets_another_documents_entity() -> None:
    previous = "What does a platform engineer do?"
    assert ask("How much do they earn?", previous, "Platform engineers build the platform [1]", OPS) == (
        "How much do platform engineers earn?"
    )
    assert ask("What do they deliver?", "What does an analytics engineer do all day?", catalog=DATA) == (
        "What do analytics engineers deliver?"
    )


def test_what_about_analysts_after_a_background_question_asks_for_the_analyst() -> None:
    previous = "I'm a business analyst, which role should I aim for?"
    assert ask("What about analysts?", previous, "Start as a data analyst. [1]", DATA) == (
        "I'm an analyst, which role should I aim for?"
    )


def test_the_data_documents_backgrounds_swap_whatever_their_heading_shape() -> None:
    # "Coming from software" and "Changing careers with no data experience" are sub-headings, not "You're a ..."
    previous = "I'm a software developer, which of the three should I pick?"
    standalone = ask("What about someone with no data experience?", previous, catalog=DATA)
    assert "no data experience" in standalone and "software" not in standalone
    assert standalone.endswith(", which of the three should I pick?")


def test_what_about_an_entity_the_previous_question_lacked_adds_it_rather_than_swapping() -> None:
    # With only the article, "SREs" is no entity: the question keeps both parts as the asker wrote them.
    assert ask("What about SREs?", "What do ML engineers earn?") == "What do ML engineers earn? SREs?"
    # With only the SRE document, "ML engineers" is none: the SREs are added by their catalog name.
    assert ask("What about SREs?", "What do ML engineers earn?", catalog=OPS) == (
        "What do ML engineers earn? (site reliability engineers)"
    )


def test_singular_lowers_common_words_and_keeps_acronyms_and_inner_capitals() -> None:
    assert singular("DevOps Engineer") == "DevOps engineer"
    assert singular("Site Reliability Engineer") == "site reliability engineer"
    assert singular("SRE") == "SRE"


def test_a_follow_up_with_another_background_drops_the_previous_one_whole() -> None:
    previous = "I'm a business analyst who lives in Excel. Which role should I start with?"
    standalone = ask("And if I'm already an analyst who enjoys SQL?", previous, "Start as a data analyst. [1]", DATA)
    assert "Excel" not in standalone
    found = DATA.background_of(background_phrase(standalone, DATA))
    assert found is not None and found.label == "analyst"


def test_a_possessive_is_swapped_as_a_possessive() -> None:
    previous = "What does an analytics engineer's week look like?"
    assert ask("And a data analyst's day?", previous, catalog=DATA) == "What does a data analyst's week look like?"
    assert ask("What about data engineers?", previous, catalog=DATA) == "What does a data engineer's week look like?"


def test_what_about_an_entity_and_a_topic_asks_for_that_topic() -> None:
    """ "And what about SRE demand?" after a question naming no entity asks about SRE demand, not the question
    before with the entity appended."""
    standalone = ask("And what about SRE demand?", "Which of the three roles is growing fastest?", catalog=OPS)
    assert standalone == "What about the demand for site reliability engineers?"
