"""The Streamlit app: :func:`run` builds the multipage app from the page scripts in ``pages/``.

``advisor ui`` runs it (``streamlit run`` on ``streamlit_main.py`` next to this file), and so does
``streamlit run streamlit_app.py`` in a checkout. The pages are given by absolute path, so the app
works from wherever the package is installed, whatever the current directory. Each page keeps the URL it
had as a top-level ``pages/`` script: ``/find_my_path``, ``/job_check``, ``/knowledge_base``, ``/evals``, ``/traces``;
the chat is at the root.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from advisor.answer_log import configure_logging
from advisor.app.ui import get_advisor, sidebar

PAGES_DIR = Path(__file__).resolve().parent / "pages"
# (file in pages/, title, url path); the first one is the default page, served at the root URL.
PAGES = (
    ("chat.py", "Chat", "chat"),
    ("find_my_path.py", "Find my path", "find_my_path"),
    ("job_check.py", "Is this job really…?", "job_check"),
    ("knowledge_base.py", "Knowledge base", "knowledge_base"),
    ("evals.py", "Evals", "evals"),
    ("traces.py", "Traces", "traces"),
)


def run() -> None:
    # No page_icon, and no icons on the pages: the selected page's icon becomes the favicon, and a Material or
    # emoji favicon is fetched from a Google/CDN host. The default favicon is served by the app itself.
    st.set_page_config(page_title="Advisor — AI career paths", layout="centered")
    pages = [
        st.Page(PAGES_DIR / name, title=title, url_path=url_path, default=i == 0)
        for i, (name, title, url_path) in enumerate(PAGES)
    ]
    page = st.navigation(pages)
    advisor = get_advisor()
    configure_logging(advisor.settings)  # ADVISOR_LOG_LEVEL; once per process in effect (it is idempotent)
    sidebar(advisor)
    page.run()
