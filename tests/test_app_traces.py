"""The Traces page under AppTest: the answer log's records, its filters and the latency chart, rendered safely.

The records are real answers (the embedded models, a copy of the indexed article); the page itself loads
no model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.answer_log import AnswerLog
from advisor.chats import ChatStore
from advisor.core import Advisor
from advisor.settings import load_settings
from tests.app_support import app, app_settings, texts
from tests.conftest import advisor_env, make_settings
from tests.test_answer_log import OFF_TOPIC, PAY, indexed_copy

pytestmark = pytest.mark.slow

INTERVIEWS = "What do data science interviews emphasize?"
TRACKED = f"{OFF_TOPIC} ![pixel](https://tracker.example/p.png)"  # refused; its image must not render


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, advisor: Advisor) -> Path:
    """A data dir whose answer log holds three real answers (two answered, then one refused); the second is
    kept in the chat store and voted down there."""
    tmp = tmp_path_factory.mktemp("traces")
    data = indexed_copy(advisor, tmp)
    logged = Advisor(make_settings(tmp), embedder=advisor.embedder, chat=advisor.chat)
    logged.ask(PAY)
    interviews = logged.ask(INTERVIEWS)
    assert logged.ask(TRACKED).refused
    store = ChatStore(logged.settings.chats_path)
    chat = store.create()
    store.vote(chat.id, store.append_turn(chat.id, INTERVIEWS, interviews).id, "down")
    store.close()
    return data


def labels(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(e.label) for e in at.expander]


def test_the_traces_page_shows_every_answer_with_its_chunks_scores_quotes_and_timings(traced: Path) -> None:
    with app_settings(traced):
        at = app("traces").run()
    assert not at.exception
    shown = labels(at)
    assert [label.split(" · ")[0] for label in shown] == ["#3", "#2", "#1"]  # newest first
    assert "refused" in shown[0] and "refused" not in shown[2] and PAY in shown[2]
    markdown = "\n".join(texts(at, "markdown"))
    assert markdown.count("| # | dense | BM25 | fused | chunk | text |") == 3  # every answer's chunks, refused too
    assert "**Quotes chosen**" in markdown and "$200K–$380K" in markdown
    assert "**Steps:** rewrite" in markdown and "**Refused:** yes (out_of_scope)" in markdown
    assert len(at.get("vega_lite_chart")) == 1  # the latency-by-step chart
    assert at.dataframe[0].value["question"].tolist()[2] == PAY


def test_nothing_from_a_record_renders_an_image_or_a_link(traced: Path) -> None:
    with app_settings(traced):
        at = app("traces").run()
    rendered = "\n".join([*texts(at, "markdown"), *labels(at), *map(str, at.dataframe[0].value["question"])])
    stored = AnswerLog(load_settings(advisor_env(traced))).recent()
    assert stored[0].question == TRACKED  # the log keeps the question as asked ...
    assert OFF_TOPIC in rendered  # ... and the page shows it, without the image
    assert "![" not in rendered and "tracker.example" not in rendered


def test_the_refused_filter_keeps_only_refused_answers(traced: Path) -> None:
    with app_settings(traced):
        at = app("traces").run()
        next(c for c in at.checkbox if c.label == "Refused only").check().run()
    assert not at.exception
    shown = labels(at)
    assert len(shown) == 1 and shown[0].startswith("#3") and "refused" in shown[0]


def test_the_slow_filter_hides_answers_under_its_threshold(traced: Path) -> None:
    with app_settings(traced):
        at = app("traces").run()
        next(c for c in at.checkbox if c.label == "Slow only").check().run()
        at.number_input[0].set_value(0.0).run()
        assert len(labels(at)) == 3  # every answer took some time
        at.number_input[0].set_value(600.0).run()
    assert not at.exception
    assert labels(at) == [] and texts(at, "info") == ["No recorded answer matches."]


def test_the_voted_down_filter_finds_the_answer_voted_down_in_the_chat(traced: Path) -> None:
    with app_settings(traced):
        at = app("traces").run()
        assert sum("voted down" in label for label in labels(at)) == 1
        next(c for c in at.checkbox if c.label == "Voted down only").check().run()
    assert not at.exception
    shown = labels(at)
    assert len(shown) == 1 and shown[0].startswith("#2") and INTERVIEWS in shown[0]
