"""Answers on both store modes (embedded Chroma and a ``chroma run`` server), and what a KB change does to them.

Removed means gone: a document holding a unique fact is answered from before its removal, and after it
neither this advisor nor another one that was already running cites or quotes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor import prompts
from advisor.core import Advisor
from tests.servers import chroma_server, store_settings, store_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

QUESTION = "How does the Quokka Guild pay its apprentice ML engineers?"
FACT = (
    "# Quokka Guild handbook\n\n## Apprentice pay\n\n"
    "The Quokka Guild pays its apprentice ML engineers in zircon tokens every Thursday afternoon.\n"
)


@pytest.fixture(scope="module", params=["embedded", "server"])
def store_advisor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    url = None if request.param == "embedded" else str(request.getfixturevalue("chroma_server"))
    advisor = Advisor(store_settings(tmp_path_factory.mktemp(f"answers-{request.param}"), url))
    advisor.warm_up()
    return advisor


def mentions(answer, word: str) -> bool:  # type: ignore[no-untyped-def]
    return word in answer.text.lower() or any(
        word in s.text.lower() or word in s.snippet.lower() for s in answer.sources
    )


def test_the_ml_engineer_mid_level_pay_range_is_quoted_with_its_source(store_advisor: Advisor) -> None:
    answer = store_advisor.ask("What's the mid-level pay range for ML engineers?")
    assert not answer.refused
    assert "$200K–$380K" in answer.text
    assert any("$200K–$380K" in s.text for s in answer.sources)


def test_data_science_interviews_emphasize_sql_stats_and_case_studies(store_advisor: Advisor) -> None:
    answer = store_advisor.ask("What do data science interviews emphasize?")
    assert not answer.refused and answer.sources
    for fact in ("SQL", "stats", "case studies"):
        assert fact in answer.text


def test_a_question_outside_the_knowledge_base_is_declined(store_advisor: Advisor) -> None:
    answer = store_advisor.ask("What's a good lasagna recipe?")
    assert answer.refused and answer.sources == []


def test_a_removed_document_is_never_cited_or_quoted_again(tmp_path: Path, store_url: str | None) -> None:  # noqa: F811
    settings = store_settings(tmp_path, store_url)
    advisor = Advisor(settings)
    advisor.add_upload(FACT.encode(), "quokka-guild.md")
    running = Advisor(settings)  # another app instance, already serving before the change
    running.warm_up()

    for adv in (advisor, running):
        before = adv.ask(QUESTION)
        assert not before.refused
        assert "zircon tokens" in before.text
        assert any(s.doc_id == "quokka-guild" for s in before.sources)

    # Replaced: the old fact is gone, the new one is answered.
    advisor.add_upload(FACT.replace("zircon", "garnet").encode(), "quokka-guild.md")
    for adv in (advisor, running):
        replaced = adv.ask(QUESTION)
        assert "garnet tokens" in replaced.text
        assert not mentions(replaced, "zircon")

    change = advisor.remove("quokka-guild")
    assert change.status == "removed"
    for adv in (advisor, running):
        after = adv.ask(QUESTION)
        assert all(s.doc_id != "quokka-guild" for s in after.sources)
        assert not mentions(after, "garnet") and not mentions(after, "zircon")
        # The question's "Quokka Guild" is now something the knowledge base doesn't cover, and the answer says
        # so; nothing else in it (quotes, sources) names it.
        uncovered = prompts.UNCOVERED.substitute(specifics="Quokka Guild")
        assert after.refused or after.text.startswith(uncovered)
        after.text = after.text.replace(uncovered, "")
        assert not mentions(after, "quokka guild")
