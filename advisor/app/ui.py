"""What every Streamlit page shares: the one cached Advisor, the sidebar, and safe rendering of answers.

Streamlit lives here and in the pages only; the logic is in ``advisor/``. Everything shown from an
answer or a document goes through :func:`advisor.app.display.safe_markdown`, so nothing rendered can load
an image or other content from outside the page. Nothing here renders HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import streamlit as st

from advisor.app.display import safe_markdown
from advisor.core import Advisor
from advisor.errors import AdvisorError
from advisor.settings import load_settings


def _env_key() -> str:
    """The environment the settings come from; a different one (tests) gets its own Advisor."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("ADVISOR_", "OPENAI_"))}
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()


@st.cache_resource(show_spinner="Loading the models and the knowledge base (once per process) ...")
def _advisor_for(env_key: str) -> Advisor:
    advisor = Advisor(load_settings())
    advisor.warm_up()
    return advisor


def get_advisor() -> Advisor:
    """The process-wide Advisor; a configuration error stops the page with a clear message."""
    try:
        return _advisor_for(_env_key())
    except AdvisorError as exc:
        st.error(f"The advisor can't start: {exc}")
        st.stop()
        raise  # unreachable: st.stop() raises


def sidebar(advisor: Advisor) -> None:
    info = advisor.settings.describe()
    with st.sidebar:
        st.markdown("**Model in use**")
        st.caption(
            f"provider `{info['provider']}` · chat `{info['chat_model']}` · {info['answer_mode']} mode  \n"
            f"embeddings `{info['embed_model']}`"
        )
        try:
            docs = advisor.documents()
        except AdvisorError as exc:
            st.error(str(exc))
            return
        st.markdown("**Knowledge base**")
        chunks = sum(d.chunks for d in docs)
        st.caption(f"{len(docs)} document(s), {chunks} chunks  \nstore `{info['store']}`")


def answer_dict(answer: Any) -> dict[str, Any]:
    return answer if isinstance(answer, dict) else answer.to_dict()


def render_sources(sources: list[dict[str, Any]], label: str = "Sources") -> None:
    if not sources:
        return
    with st.expander(f"{label} ({len(sources)})"):
        for s in sources:
            section = safe_markdown(s.get("section") or "(intro)")
            st.markdown(
                f"**[{s.get('n')}] {safe_markdown(s.get('title', ''))}** — {section} · score {s.get('score', 0):.3f}"
            )
            st.caption(safe_markdown(s.get("snippet", "")))


def render_cited(answer: Any, label: str = "Sources") -> None:
    """A finished answer: its text (safe Markdown) and its sources."""
    data = answer_dict(answer)
    st.markdown(safe_markdown(data["answer"]))
    render_sources(data.get("sources", []), label)
