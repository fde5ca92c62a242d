"""The chat page (the whole app: chat first) under Streamlit's AppTest: real advisor, real models, tmp data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.app_support import app, app_env, app_settings, texts  # noqa: F401  (fixture)
from tests.llama_server import free_port


def data_dir() -> Path:
    return Path(os.environ["ADVISOR_DATA_DIR"])


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("app_env")]


def test_asking_a_question_shows_the_answer_with_sources_tokens_and_latency() -> None:
    at = app().run()
    assert not at.exception
    at.chat_input[0].set_value("I'm a software engineer — which role should I go for?").run()
    assert not at.exception
    shown = "\n".join(texts(at, "markdown"))
    assert "Go AI Engineer" in shown and "[1]" in shown
    expanders = [e.label for e in at.expander]
    assert any(label.startswith("Sources (") for label in expanders), expanders
    assert "You're a software engineer" in "\n".join(shown.splitlines() + texts(at, "caption"))
    assert any("tokens ·" in c and c.rstrip().endswith(" s") for c in texts(at, "caption")), texts(at, "caption")
    messages = at.session_state["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["answer"]["sources"][0]["section"].endswith("You're a software engineer")


def test_a_follow_up_uses_the_conversation_and_new_chat_forgets_it() -> None:
    at = app().run()
    at.chat_input[0].set_value("What is the typical mid-level pay for an ML Engineer?").run()
    at.chat_input[0].set_value("What about data scientists?").run()
    assert not at.exception
    follow_up = at.session_state["messages"][-1]["answer"]
    assert "data scientist" in follow_up["standalone_question"].lower()
    assert "$160K–$280K" in follow_up["answer"]
    new_chat = next(b for b in at.button if b.label == "New chat")
    new_chat.click().run()
    assert at.session_state["messages"] == []
    assert not at.chat_message


def test_a_starter_question_button_asks_it() -> None:
    at = app().run()
    starters = [b for b in at.button if b.key and b.key.startswith("starter-")]
    assert len(starters) >= 3
    starters[0].click().run()
    assert not at.exception
    messages = at.session_state["messages"]
    assert messages[0]["content"] == starters[0].label
    assert messages[1]["answer"]["sources"]


def test_thumbs_down_saves_a_draft_eval_case_with_question_answer_and_sources() -> None:
    at = app().run()
    at.chat_input[0].set_value("Do all three roles require a graduate degree?").run()
    answer = at.session_state["messages"][1]["answer"]
    at.button(key="vote-down-1").click().run()
    assert not at.exception
    drafts = sorted((data_dir() / "feedback" / "drafts").glob("*.json"))
    assert drafts, "a thumbs-down must leave a draft eval case"
    draft = json.loads(drafts[-1].read_text(encoding="utf-8"))
    assert draft["status"] == "draft"
    assert draft["question"] == "Do all three roles require a graduate degree?"
    assert draft["answer"] == answer["answer"]
    assert draft["sources"] and draft["sources"][0]["section"] == answer["sources"][0]["section"]
    votes = (data_dir() / "feedback" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(votes[-1])["vote"] == "down"
    assert any("draft eval case" in c for c in texts(at, "caption"))


def test_a_provider_outage_shows_a_friendly_error_and_keeps_the_question(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens here: a real connection failure
    with app_settings(
        tmp_path / "data",
        ADVISOR_PROVIDER="openai",
        ADVISOR_OPENAI_BASE_URL=dead,
        OPENAI_API_KEY="sk-test-not-a-real-key",
        ADVISOR_MAX_RETRIES="0",
        ADVISOR_TIMEOUT="5",
    ):
        at = app().run()
        question = "What does an AI Engineer do day-to-day?"
        at.chat_input[0].set_value(question).run()
        assert not at.exception
        errors = texts(at, "error")
        assert errors and errors[0].startswith("Sorry, I couldn't answer that:"), errors
        assert "Traceback" not in errors[0]
        messages = at.session_state["messages"]
        assert messages[0] == {"role": "user", "content": question}
        assert "error" in messages[1]
        at.run()  # the next rerun still shows the question and the error
        assert question in "\n".join(texts(at, "markdown"))
        assert texts(at, "error") == errors
