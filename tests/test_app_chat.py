"""The chat page (the whole app: chat first) under Streamlit's AppTest: real advisor, real models, tmp data dir."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from advisor.chats import ChatStore
from advisor.errors import ChatNotFound
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
    # The examples and the input's hint come from the knowledge base: its first background and its roles.
    labels = {b.key: b.label for b in starters}
    assert labels["starter-0"] == "I'm a software engineer, which role should I go for?"
    assert labels["starter-1"] == "What does an AI Engineer do day to day?"
    assert at.chat_input[0].placeholder == "Ask about AI Engineer, ML Engineer or Data Scientist"
    starters[0].click().run()
    assert not at.exception
    messages = at.session_state["messages"]
    assert messages[0]["content"] == starters[0].label
    assert messages[1]["answer"]["sources"]


def test_thumbs_down_saves_a_draft_eval_case_with_question_answer_and_sources() -> None:
    at = app().run()
    at.chat_input[0].set_value("Do all three roles require a graduate degree?").run()
    answer = at.session_state["messages"][1]["answer"]
    at.feedback[0].set_value(0).run()  # thumbs down
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
    # The vote is also kept with the answer it rates, in the chat store; changing it replaces it.
    chat_id = at.query_params["chat"]
    assert [m.vote for m in ChatStore(data_dir() / "chats.sqlite3").get(chat_id).messages] == [None, "down"]
    at.feedback[0].set_value(1).run()
    assert [m.vote for m in ChatStore(data_dir() / "chats.sqlite3").get(chat_id).messages] == [None, "up"]
    assert sorted((data_dir() / "feedback" / "drafts").glob("*.json")) == drafts  # no draft for a helpful one


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


def test_a_chat_survives_an_app_restart_and_a_follow_up_keeps_its_thread() -> None:
    question = "What is the typical mid-level pay for an ML Engineer?"
    at = app().run()
    at.chat_input[0].set_value(question).run()
    chat_id = at.query_params["chat"]
    answer = at.session_state["messages"][1]["answer"]["answer"]
    assert "$200K–$380K" in answer

    restarted = app()  # a new session: only the URL is carried over, as after a reload or a restart
    restarted.query_params["chat"] = chat_id
    restarted.run()
    assert not restarted.exception
    messages = restarted.session_state["messages"]
    assert [(m["role"], m.get("content")) for m in messages][:1] == [("user", question)]
    assert messages[1]["answer"]["answer"] == answer and messages[1]["answer"]["sources"]
    shown = "\n".join(texts(restarted, "markdown"))
    assert question in shown and "$200K–$380K" in shown
    assert any(label.startswith("Sources (") for label in (e.label for e in restarted.expander))
    restarted.chat_input[0].set_value("What about data scientists?").run()
    assert "$160K–$280K" in restarted.session_state["messages"][-1]["answer"]["answer"]
    stored = ChatStore(data_dir() / "chats.sqlite3").get(chat_id)
    assert [m.content for m in stored.messages if m.role == "user"] == [question, "What about data scientists?"]


def test_past_chats_are_listed_newest_first_and_can_be_resumed_renamed_exported_and_deleted() -> None:
    at = app().run()
    at.chat_input[0].set_value("Which role pays the most?").run()
    first = at.query_params["chat"]
    next(b for b in at.button if b.label == "New chat").click().run()
    assert "chat" not in at.query_params and at.session_state["messages"] == []
    at.chat_input[0].set_value("Do I need a graduate degree for these roles?").run()
    second = at.query_params["chat"]
    listed = [b.key for b in at.button if b.key and b.key.startswith("open-")]
    assert listed.index(f"open-{second}") < listed.index(f"open-{first}")
    assert at.button(key=f"open-{first}").label == "Which role pays the most?"
    assert at.button(key=f"open-{second}").label.startswith("Do I need a graduate degree")

    at.button(key=f"open-{first}").click().run()
    assert at.query_params["chat"] == first
    assert at.session_state["messages"][0]["content"] == "Which role pays the most?"
    at.text_input(key=f"title-{first}").set_value("Pay, compared")
    at.button(key="rename-chat").click().run()
    store = ChatStore(data_dir() / "chats.sqlite3")
    assert store.get(first).title == "Pay, compared"
    assert at.button(key=f"open-{first}").label == "Pay, compared"
    assert [d.label for d in at.download_button] == ["Export Markdown", "Export JSON"]

    at.button(key="delete-chat").click().run()
    at.button(key="delete-confirm").click().run()
    assert not at.exception
    with pytest.raises(ChatNotFound):
        store.get(first)
    assert "chat" not in at.query_params and at.session_state["messages"] == []
    assert f"open-{first}" not in [b.key for b in at.button] and f"open-{second}" in [b.key for b in at.button]
