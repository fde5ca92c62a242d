"""Follow-up questions become standalone questions before retrieval."""

from __future__ import annotations

from advisor.answering.conversation import Turn, is_follow_up, rewrite_follow_up, roles_in

PAY = [Turn("user", "What's the mid-level pay range for ML engineers?"), Turn("assistant", "$200K–$380K [1]")]


def test_roles_are_recognised_in_their_common_spellings() -> None:
    assert roles_in("machine learning engineers and data science") == ["ML Engineer", "Data Scientist"]
    assert roles_in("an AI engineer") == ["AI Engineer"]
    assert roles_in("a nurse") == []


def test_what_about_swaps_the_role_in_the_previous_question() -> None:
    assert (
        rewrite_follow_up("What about data scientists?", PAY) == "What's the mid-level pay range for data scientists?"
    )


def test_a_pronoun_gets_the_role_the_conversation_is_about() -> None:
    history = [Turn("user", "What does a data scientist do?"), Turn("assistant", "Pulls SQL queries [1]")]
    assert rewrite_follow_up("And how much do they make?", history) == "how much do data scientists make?"


def test_the_role_can_come_from_the_assistants_answer() -> None:
    history = [Turn("user", "I'm a software engineer. Which role fits?"), Turn("assistant", "Go AI Engineer. [1]")]
    assert "AI engineers" in rewrite_follow_up("How much do they make?", history)


def test_a_standalone_question_is_left_alone() -> None:
    question = "What do data science interviews emphasize?"
    assert not is_follow_up(question, PAY)
    assert rewrite_follow_up(question, PAY) == question
    assert rewrite_follow_up("What about data scientists?", []) == "What about data scientists?"


def test_an_answer_quoting_all_three_roles_does_not_hijack_the_topic() -> None:
    history = [
        Turn("user", "What's the mid-level pay range for ML engineers?"),
        Turn(
            "assistant",
            "> Typical mid-level TC: AI Engineer $220K–$400K; ML Engineer $200K–$380K; Data Scientist $160K–$280K. [1]",
        ),
    ]
    assert rewrite_follow_up("What do their interviews emphasize?", history) == (
        "What do ML engineers interviews emphasize?"
    )
