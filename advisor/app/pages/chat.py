"""Chat: ask the advisor; answers stream from ``Advisor.stream(question, history)``, then their sources."""

from __future__ import annotations

from typing import Any, Literal

import streamlit as st

from advisor.app import feedback
from advisor.app.display import SafeStream, safe_markdown
from advisor.app.pricing import cost_usd
from advisor.app.ui import get_advisor, render_sources
from advisor.errors import AdvisorError

STARTERS = (
    "I'm a software engineer — which role should I go for?",
    "What does an ML Engineer do day-to-day?",
    "Which role pays the most?",
    "Do I need a graduate degree for these roles?",
)


def _history(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Completed turns for the advisor's memory (a turn that ended in an error is left out)."""
    turns: list[dict[str, str]] = []
    for i, msg in enumerate(messages):
        if msg["role"] == "assistant" and "answer" in msg and i > 0:
            turns += [
                {"role": "user", "content": messages[i - 1]["content"]},
                {"role": "assistant", "content": msg["answer"]["answer"]},
            ]
    return turns


def _metrics_line(msg: dict[str, Any]) -> str:
    usage = msg["answer"]["usage"]
    parts = [f"{usage['total_tokens']} tokens", f"{msg['answer']['latency_s']:.1f} s"]
    if msg.get("cost") is not None:
        parts.append(f"${msg['cost']:.5f}")
    return " · ".join(parts)


def _feedback_buttons(index: int, msg: dict[str, Any]) -> None:
    if msg.get("vote"):
        note = "not helpful: saved as a draft eval case" if msg["vote"] == "down" else "helpful: thanks"
        st.caption(f"Feedback: {note}")
        return
    up, down, _ = st.columns([2, 2, 5])
    votes: tuple[tuple[Any, Literal["up", "down"], str], ...] = ((up, "up", "Helpful"), (down, "down", "Not helpful"))
    for column, vote, label in votes:
        icon = f":material/thumb_{vote}:"
        if column.button(label, icon=icon, key=f"vote-{vote}-{index}", type="tertiary"):
            advisor = get_advisor()
            messages = st.session_state.messages
            feedback.record(
                advisor.settings, vote, messages[index - 1]["content"], msg["answer"], _history(messages[: index - 1])
            )
            msg["vote"] = vote
            st.rerun()


def _show(index: int, msg: dict[str, Any]) -> None:
    with st.chat_message(msg["role"]):
        if msg["role"] == "user":
            st.markdown(safe_markdown(msg["content"]))
        elif "error" in msg:
            st.error(msg["error"])
        else:
            st.markdown(msg["content"])
            render_sources(msg["answer"]["sources"])
            st.caption(_metrics_line(msg))
            _feedback_buttons(index, msg)  # a wrong refusal is worth a draft eval case too


def _answer(question: str) -> None:
    advisor = get_advisor()
    messages: list[dict[str, Any]] = st.session_state.messages
    history = _history(messages)
    messages.append({"role": "user", "content": question})
    _show(len(messages) - 1, messages[-1])
    with st.chat_message("assistant"):
        try:
            stream = advisor.stream(question, history)
            st.write_stream(SafeStream(stream))
            answer = stream.answer
            assert answer is not None
        except AdvisorError as exc:
            message = f"Sorry, I couldn't answer that: {exc}"
            messages.append({"role": "assistant", "error": message})
            st.error(message)
            return
        sources_text = "\n".join(s.text for s in answer.sources)
        msg: dict[str, Any] = {
            "role": "assistant",
            "content": safe_markdown(answer.text, sources_text),
            "answer": answer.to_dict(),
            "cost": cost_usd(advisor.settings, answer.usage),
        }
        messages.append(msg)
        render_sources(msg["answer"]["sources"])
        st.caption(_metrics_line(msg))
        _feedback_buttons(len(messages) - 1, msg)


st.session_state.setdefault("messages", [])
with st.sidebar:
    if st.button("New chat", icon=":material/add_comment:", width="stretch"):
        st.session_state.messages = []
        st.rerun()
st.title("Career advisor")
st.caption(
    "AI Engineer vs ML Engineer vs Data Scientist — answers quoted and cited from the knowledge base "
    "(Dan Lee, JoinAI, May 29, 2026)."
)
for i, msg in enumerate(st.session_state.messages):
    _show(i, msg)
pending = None
starters = st.empty()
if not st.session_state.messages:
    with starters.container():
        st.markdown("**New here? Try one of these:**")
        columns = st.columns(2)
        for i, starter in enumerate(STARTERS):
            if columns[i % 2].button(starter, key=f"starter-{i}", width="stretch"):
                pending = starter
typed = st.chat_input("Ask about AI Engineer, ML Engineer or Data Scientist careers")
question = typed or pending
if question:
    starters.empty()
    _answer(question)
