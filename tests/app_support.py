"""Helpers for the AppTest tests: run a page of the Streamlit app with the advisor's settings from env."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from advisor.app.main import PAGES_DIR
from advisor.settings import PROJECT_DIR
from tests.conftest import advisor_env, use_env

# The first run of a page loads the models and indexes the article: give it time on a busy 2-core box.
TIMEOUT_S = 600


@contextmanager
def app_settings(data_dir: Path, address: str = "127.0.0.1", **extra: str) -> Iterator[None]:
    """The app reads its settings from the environment like the real one does: set them, restore afterwards.
    ``address`` is the address the app is bound to (``advisor ui`` binds 127.0.0.1 unless told otherwise)."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        with use_env(advisor_env(data_dir, **extra)):
            yield
    finally:
        config.set_option("server.address", before)


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data dir (the article only) for the read-mostly page tests: the app's Advisor is built once."""
    data = tmp_path_factory.mktemp("app") / "data"
    with app_settings(data):
        yield data


def app(page: str | None = None) -> AppTest:
    """The whole app through the checkout's streamlit_app.py (the chat page first), or one page of
    advisor/app/pages/ on its own, by name (``app("knowledge_base")``; ``"pages/knowledge_base.py"`` works too)."""
    script = PROJECT_DIR / "streamlit_app.py" if page is None else PAGES_DIR / f"{Path(page).stem}.py"
    return AppTest.from_file(str(script), default_timeout=TIMEOUT_S)


def texts(at: AppTest, kind: str) -> list[str]:
    """The text of every element of one kind (markdown, error, success, caption, ...)."""
    return [str(e.value) for e in getattr(at, kind)]
