"""A real Chroma server on loopback (``chroma run``) and a fixture that runs a test on both store modes.

``chroma_server`` starts ``chroma run --path <tmp> --host 127.0.0.1 --port <free>`` once per session,
waits for ``/api/v2/heartbeat`` and stops it at the end. ``store_url`` is parametrized over
``embedded`` (None: a PersistentClient under the test's data dir) and ``server`` (the server's URL),
so a test that builds its settings with :func:`store_settings` runs once on each. Every test gets its
own collection prefix, so tests sharing the server never see each other's collections.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.settings import Settings
from tests.conftest import advisor_env, make_settings
from tests.llama_server import free_port, stop, wait_http


def chroma_executable() -> str:
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.exists() else shutil.which("chroma")
    if not found:
        raise RuntimeError("the 'chroma' command (from the chromadb package) is not installed")
    return found


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a running Chroma server with its data in a temporary folder."""
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"}
    with (root / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [chroma_executable(), "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/api/v2/heartbeat", 60, proc)
        yield url
    finally:
        stop(proc)


@pytest.fixture(params=["embedded", "server"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded store, else the URL of the session's Chroma server."""
    if request.param == "embedded":
        return None
    return str(request.getfixturevalue("chroma_server"))


def store_settings(tmp: Path, url: str | None, **overrides: object) -> Settings:
    """Isolated settings on the given store; a fresh collection prefix per call."""
    prefix = "t" + uuid.uuid4().hex[:12]
    return make_settings(tmp, chroma_url=url, collection_prefix=prefix, **overrides)


def store_env(settings: Settings) -> dict[str, str]:
    """Environment for a subprocess (CLI or script) that must open the same knowledge base."""
    env = advisor_env(
        settings.data_dir,
        ADVISOR_KNOWLEDGE_DIR=str(settings.knowledge_dir),
        ADVISOR_COLLECTION=settings.collection_prefix,
        ADVISOR_MAX_DOCUMENT_BYTES=str(settings.max_document_bytes),
        ADVISOR_LEFTOVER_GRACE=str(settings.leftover_grace),
    )
    if settings.chroma_url:
        env["ADVISOR_CHROMA_URL"] = settings.chroma_url
    return env
