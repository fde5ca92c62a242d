"""Helpers for the AppTest tests: run a page of the Streamlit app with the advisor's settings from env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from advisor.settings import PROJECT_DIR

# The first run of a page loads the models and indexes the article: give it time on a busy 2-core box.
TIMEOUT_S = 600


@contextmanager
def advisor_env(data_dir: Path, **extra: str) -> Iterator[None]:
    """ADVISOR_* variables for the app (it reads them like the real one does), restored afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(("ADVISOR_", "OPENAI_"))}
    for key in saved:
        del os.environ[key]
    os.environ.update(
        {
            "ADVISOR_DATA_DIR": str(data_dir),
            "ADVISOR_KNOWLEDGE_DIR": str(PROJECT_DIR / "knowledge"),
            "ADVISOR_PROVIDER": "local",
            **extra,
        }
    )
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith(("ADVISOR_", "OPENAI_"))]:
            del os.environ[key]
        os.environ.update(saved)


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data dir (the article only) for the read-mostly page tests: the app's Advisor is built once."""
    data = tmp_path_factory.mktemp("app") / "data"
    with advisor_env(data):
        yield data


def app(page: str = "streamlit_app.py") -> AppTest:
    return AppTest.from_file(str(PROJECT_DIR / page), default_timeout=TIMEOUT_S)


def texts(at: AppTest, kind: str) -> list[str]:
    """The text of every element of one kind (markdown, error, success, caption, ...)."""
    return [str(e.value) for e in getattr(at, kind)]
