"""Chat: ask the advisor; answers stream from ``Advisor.stream(question, history)``, then their sources.

Every conversation is kept in the chat store (:mod:`advisor.chats`) from its first answer on. The sidebar
lists past chats to resume, rename, delete or export (Markdown, JSON); the open chat's id is in the URL
(``?chat=<id>``), so a reload or an app restart reopens it. Votes (``st.feedback``) are stored against the
answer they rate, and "Not helpful" also becomes a draft eval case (:mod:`advisor.app.feedback`). When the
store's file can't be used, the page says so once and the chat goes on unsaved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import streamlit as st

from advisor.app import feedback
from advisor.app.display import SafeStream, safe_markdown
from advisor.app.pricing import cost_usd
from advisor.app.questions import role_list, starter_questions
from advisor.app.ui import get_advisor, render_sources
from advisor.chats import Chat, ChatInfo, ChatStore, Vote
from advisor.errors import AdvisorError, ChatNotFound

LISTED_CHATS = 30  # the sidebar lists this many of the most recent chats
LABEL_CHARS = 42  # a chat's title is cut here in the sidebar list
THUMBS: dict[int, Vote] = {0: "down", 1: "up"}  # st.feedback("thumbs") values


@st.cache_resource
def _store_for(path: str) -> ChatStore:
    return ChatStore(Path(path))  # one per file and process; it gives each thread its own connection


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


def _restored(chat: Chat) -> list[dict[str, Any]]:
    """A stored chat as the page's messages (an answer's cost is only known the moment it is given)."""
    messages: list[dict[str, Any]] = []
    for m in chat.messages:
        if m.role == "user":
            messages.append({"role": "user", "content": m.content})
            continue
        answer = {**m.details, "answer": m.content, "sources": m.sources, "refused": m.refused}
        snippets = "\n".join(str(s.get("snippet", "")) for s in m.sources)
        content = safe_markdown(m.content, snippets)
        messages.append({"role": "assistant", "content": content, "answer": answer, "id": m.id, "vote": m.vote})
    return messages


def _open(chat: Chat | None) -> None:
    """Show ``chat`` (None: a new, empty one) and put its id in the URL."""
    st.session_state.chat_id = chat.id if chat else None
    st.session_state.messages = _restored(chat) if chat else []
    if chat:
        st.query_params["chat"] = chat.id
    else:
        st.query_params.pop("chat", None)


def _follow_url(store: ChatStore | None) -> None:
    """The URL names the chat to show (a reload, a restart, a link); a page change that dropped it gets it back."""
    wanted, current = st.query_params.get("chat"), st.session_state.chat_id
    if store is not None and wanted and wanted != current:
        try:
            _open(store.get(wanted))
        except ChatNotFound:
            _open(None)
            st.warning(f"There is no stored chat {wanted!r} (deleted?): this is a new one.")
        except AdvisorError as exc:
            st.error(str(exc))
    elif current and not wanted:
        st.query_params["chat"] = current


def _metrics_line(msg: dict[str, Any]) -> str:
    answer = msg["answer"]
    parts = [f"{answer['usage']['total_tokens']} tokens"] if "usage" in answer else []
    if "latency_s" in answer:
        parts.append(f"{answer['latency_s']:.1f} s")
    if msg.get("cost") is not None:
        parts.append(f"${msg['cost']:.5f}")
    return " · ".join(parts)


def _vote(index: int, msg: dict[str, Any]) -> None:
    """Helpful / Not helpful on one answer: stored against it, and a "Not helpful" is a draft eval case."""
    chat_id = st.session_state.chat_id
    key = f"vote-{chat_id}-{msg['id']}" if "id" in msg else f"vote-unsaved-{index}"
    value = st.feedback("thumbs", key=key, default={"down": 0, "up": 1}.get(msg.get("vote") or ""))
    vote = THUMBS.get(value) if value is not None else None
    if vote != msg.get("vote"):
        advisor = get_advisor()
        try:
            if chat_id and "id" in msg:
                _store_for(str(advisor.settings.chats_path)).vote(chat_id, msg["id"], vote)
            if vote:
                messages = st.session_state.messages
                question = messages[index - 1]["content"]
                feedback.record(advisor.settings, vote, question, msg["answer"], _history(messages[: index - 1]))
        except AdvisorError as exc:
            st.error(f"The vote wasn't saved: {exc}")
            return
        msg["vote"] = vote
    if msg.get("vote"):
        note = "not helpful: saved as a draft eval case" if msg["vote"] == "down" else "helpful: thanks"
        st.caption(f"Feedback: {note}")


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
            _vote(index, msg)  # a wrong refusal is worth a draft eval case too


def _answer(question: str, store: ChatStore | None) -> None:
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
        if store is not None:
            try:  # a chat is stored from its first answer on, so an empty one never is
                chat_id = st.session_state.chat_id or store.create().id
                msg["id"] = store.append_turn(chat_id, question, answer).id
                st.session_state.chat_id = chat_id
                st.query_params["chat"] = chat_id
            except AdvisorError as exc:
                st.error(f"This answer wasn't saved: {exc}")
        messages.append(msg)
        render_sources(msg["answer"]["sources"])
        st.caption(_metrics_line(msg))
        _vote(len(messages) - 1, msg)


def _sidebar(store: ChatStore | None) -> None:
    """New chat, the past chats, and what can be done with the open one. Drawn last, so a chat stored in this
    run is listed; a click reruns the page."""
    if st.button("New chat", icon=":material/add_comment:", width="stretch"):
        _open(None)
        st.rerun()
    if store is None:
        return
    chat_id = st.session_state.chat_id
    try:
        listed = store.chats(limit=LISTED_CHATS)
    except AdvisorError as exc:
        st.error(str(exc))
        return
    if listed:
        st.markdown("**Past chats**")
    for info in listed:
        kind: Literal["secondary", "tertiary"] = "secondary" if info.id == chat_id else "tertiary"
        if st.button(_label(info), key=f"open-{info.id}", type=kind, width="stretch", help=info.title):
            st.query_params["chat"] = info.id
            st.rerun()
    if current := next((info for info in listed if info.id == chat_id), None):
        try:
            _this_chat(store, current)
        except AdvisorError as exc:
            st.error(str(exc))


def _this_chat(store: ChatStore, chat: ChatInfo) -> None:
    with st.expander("Manage this chat"):
        title = st.text_input("Title", value=chat.title, key=f"title-{chat.id}")
        if st.button("Rename", key="rename-chat") and title != chat.title:
            store.rename(chat.id, title)
            st.rerun()
        common: dict[str, Any] = {"on_click": "ignore", "icon": ":material/download:", "width": "stretch"}
        st.download_button(
            "Export Markdown", store.export_markdown(chat.id), f"chat-{chat.id}.md", "text/markdown", **common
        )
        st.download_button(
            "Export JSON", store.export_json(chat.id), f"chat-{chat.id}.json", "application/json", **common
        )
        if st.button("Delete this chat", key="delete-chat", icon=":material/delete:"):
            st.session_state.confirm_delete = chat.id
        if st.session_state.get("confirm_delete") == chat.id:
            st.warning("Delete this chat for good? It can't be undone.")
            if st.button("Yes, delete it", key="delete-confirm", type="primary"):
                store.delete(chat.id)
                st.session_state.pop("confirm_delete")
                _open(None)
                st.rerun()


def _label(info: ChatInfo) -> str:
    title = info.title or "Untitled chat"
    return title if len(title) <= LABEL_CHARS else title[: LABEL_CHARS - 1].rstrip() + "…"


def _chat_store() -> ChatStore | None:
    """The chat store, or None when its file can't be used (said once, in the sidebar): the chat goes on."""
    store = _store_for(str(get_advisor().settings.chats_path))
    try:
        store.check()
    except AdvisorError as exc:
        st.sidebar.error(f"Chats aren't saved: {exc}")
        return None
    return store


st.session_state.setdefault("messages", [])
st.session_state.setdefault("chat_id", None)
store = _chat_store()
chats_panel = st.sidebar.container()
_follow_url(store)
st.title("Career advisor")
try:
    catalog = get_advisor().catalog()
except AdvisorError as exc:
    st.error(str(exc))
    st.stop()
about = role_list(catalog.names) if catalog.names else "the careers in the knowledge base"
st.caption(
    safe_markdown(f"{' vs '.join(catalog.names) or 'Careers'}: answers quoted and cited from the knowledge base.")
)
for i, msg in enumerate(st.session_state.messages):
    _show(i, msg)
pending = None
starters = st.empty()
if not st.session_state.messages:
    with starters.container():
        st.markdown("**New here? Try one of these:**")
        columns = st.columns(2)
        for i, starter in enumerate(starter_questions(catalog)):
            if columns[i % 2].button(starter, key=f"starter-{i}", width="stretch"):
                pending = starter
typed = st.chat_input(f"Ask about {about}")
question = typed or pending
if question:
    starters.empty()
    _answer(question, store)
with chats_panel:
    _sidebar(store)
