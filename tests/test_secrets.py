"""The API key never leaves the request header: a canary key runs through the whole flow and every output
is searched for it.

The flow: the CLI (ask streaming, ask --json, a 401, a 500 with retries, a cut stream, info, kb list,
kb add), an eval run with its report files, and the Streamlit app (AppTest) — all against the scripted
OpenAI-protocol server with every logger at DEBUG. Then we grep: the debug log, everything printed,
every file under the data dir (Chroma's SQLite and index files, the manifest, feedback), the eval
reports and the app's rendered elements and session state. The control: the server did receive the key.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from advisor.answer_log import AnswerLog
from advisor.cli import build_parser, main
from advisor.core import Advisor
from advisor.settings import PROJECT_DIR, load_settings
from tests.fake_openai import FakeOpenAI, cut, reply, serve, status

CANARY = "sk-canary-7f3a9c2e51d84b6f0a1e2d3c4b5a6978"
QUESTION = "What does an ML engineer do day to day?"
GOOD = "ML Engineers take models to production and keep them running [1]."


@dataclass
class Outputs:
    root: Path
    log: Path
    printed: list[str] = field(default_factory=list)
    requests_with_key: int = 0


def env_for(root: Path, fake: FakeOpenAI) -> dict[str, str]:
    return {
        "ADVISOR_DATA_DIR": str(root / "data"),
        "ADVISOR_KNOWLEDGE_DIR": str(PROJECT_DIR / "knowledge"),
        "ADVISOR_PROVIDER": "openai",
        "ADVISOR_OPENAI_BASE_URL": fake.url,
        "OPENAI_API_KEY": CANARY,
        "ADVISOR_CHAT_MODEL": "canary-model",
        "ADVISOR_ANSWER_MODE": "generative",
        "ADVISOR_TIMEOUT": "5",
        "ADVISOR_MAX_RETRIES": "2",
    }


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with serve() as server:
        yield server


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory, fake: FakeOpenAI, advisor: Advisor) -> Iterator[Outputs]:
    """Run the CLI flow once with the canary key and every logger at DEBUG; collect what it printed."""
    root = tmp_path_factory.mktemp("canary")
    shutil.copytree(advisor.settings.data_dir, root / "data")  # the article, already indexed: saves a build
    out = Outputs(root, root / "debug.log")
    handler = logging.FileHandler(out.log, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    saved_env = {k: os.environ.get(k) for k in env_for(root, fake)}
    os.environ.update(env_for(root, fake))
    doc = root / "notes.md"
    doc.write_text("# Notes\n\nAI engineers ship production features built on foundation models.\n", encoding="utf-8")

    def run(argv: list[str], step: object = None, stdin: str | None = None) -> None:
        fake.script(*(step if isinstance(step, tuple) else (step or reply(GOOD),)))
        stdout, stderr, old = io.StringIO(), io.StringIO(), (sys.stdout, sys.stderr, sys.stdin)
        sys.stdout, sys.stderr = stdout, stderr
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        try:
            code = main(argv)
        finally:
            sys.stdout, sys.stderr, sys.stdin = old
        out.printed.append(f"$ {argv} -> {code}\n{stdout.getvalue()}\n{stderr.getvalue()}")
        out.requests_with_key += sum(CANARY in r.headers.get("authorization", "") for r in fake.requests)

    try:
        run(["ask", QUESTION])
        run(["ask", "--json", QUESTION])
        run(["ask", "--jsonl"], stdin=json.dumps({"question": QUESTION}) + "\n")
        run(["ask", QUESTION], status(401))
        run(["ask", QUESTION], status(500))
        run(["ask", QUESTION], cut(f"{GOOD} They also monitor"))
        run(["info"])
        run(["kb", "add", str(doc)])
        run(["kb", "list"])
        if "eval" in build_parser()._subparsers._group_actions[0].choices:  # type: ignore[union-attr]
            run(["eval", "--limit", "3", "--out", str(root / "reports"), "--no-judge"])
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def files_holding(folder: Path, needle: str) -> list[str]:
    hits = []
    for path in folder.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(str(path.relative_to(folder)))
    return hits


def test_the_canary_key_really_went_through_the_flow(flow: Outputs) -> None:
    # The control: without it, "not found anywhere" could mean the key was never used.
    assert flow.requests_with_key >= 6
    assert any("-> 0" in p and "take models to production" in p for p in flow.printed)
    assert any("check your API key" in p for p in flow.printed)


def test_the_key_is_not_in_the_debug_log(flow: Outputs) -> None:
    log = flow.log.read_text(encoding="utf-8")
    assert "DEBUG" in log and "openai" in log  # the SDK and the HTTP client did log at debug level
    assert CANARY not in log
    assert CANARY[-12:] not in log  # nor a masked form ending in its last characters


def test_the_key_is_not_in_anything_printed(flow: Outputs) -> None:
    printed = "\n".join(flow.printed)
    assert CANARY not in printed and CANARY[-12:] not in printed


def test_the_key_is_not_in_chroma_the_manifest_or_any_file_under_the_data_dir(flow: Outputs) -> None:
    data = flow.root / "data"
    assert any(data.rglob("chroma.sqlite3")), "the flow built a Chroma store"
    assert files_holding(data, CANARY) == []
    assert files_holding(data, CANARY[-12:]) == []


def test_the_key_is_not_in_the_answer_log_or_the_chat_store(flow: Outputs) -> None:
    data = flow.root / "data"
    settings = load_settings({"ADVISOR_DATA_DIR": str(data), "ADVISOR_ENV_FILE": os.devnull})
    mine = [r for r in AnswerLog(settings).recent(1000) if r.model == "canary-model"]
    # The control: the flow's answers were logged, the 401 among them, with the questions asked.
    assert sum(r.question == QUESTION for r in mine) >= 6
    assert any(r.status == "failed" and r.error.startswith("AuthenticationError") for r in mine)
    stores = [*data.glob("answer_log.sqlite3*"), *data.glob("chats.sqlite3*")]  # the WAL files too
    assert settings.answer_log_path in stores
    for path in stores:
        assert CANARY.encode() not in path.read_bytes() and CANARY[-12:].encode() not in path.read_bytes()


def test_the_key_is_not_in_eval_reports(flow: Outputs) -> None:
    reports = flow.root / "reports"
    if not reports.exists():
        pytest.skip("this build has no `advisor eval` command")
    assert sorted(p.suffix for p in reports.iterdir()) == [".json", ".md"]
    assert files_holding(reports, CANARY) == []


def test_settings_never_show_the_key() -> None:
    settings = load_settings({"OPENAI_API_KEY": CANARY})
    assert CANARY not in repr(settings) and CANARY not in str(settings.describe())


def rendered(node: object) -> Iterator[str]:
    """Everything an AppTest element tree would send to the browser (each element's protobuf, as text)."""
    proto = getattr(node, "proto", None)
    if proto is not None:
        yield str(proto)
    for child in getattr(node, "children", {}).values():
        yield from rendered(child)


def test_the_key_is_not_in_the_app_pages_or_session_state(tmp_path: Path, fake: FakeOpenAI, advisor: Advisor) -> None:
    from tests.app_support import app, app_settings

    shutil.copytree(advisor.settings.data_dir, tmp_path / "data")
    env = {k: v for k, v in env_for(tmp_path, fake).items() if k not in ("ADVISOR_DATA_DIR", "ADVISOR_KNOWLEDGE_DIR")}
    with app_settings(tmp_path / "data", **env):
        at = app().run()
        fake.script(reply(GOOD))
        at.chat_input[0].set_value(QUESTION).run()
        fake.script(status(401))
        at.chat_input[0].set_value(QUESTION).run()
        assert not at.exception
        assert any(CANARY in r.headers.get("authorization", "") for r in fake.requests)  # the control
        pages = [at]
        for page in ("pages/knowledge_base.py", "pages/evals.py"):
            pages.append(app(page).run())
        screens = "\n".join(text for page in pages for part in (page.main, page.sidebar) for text in rendered(part))
        state = json.dumps(at.session_state["messages"], default=str)
    assert GOOD in screens and "check your API key" in screens  # what we grep is really the rendered page
    assert CANARY not in screens and CANARY[-12:] not in screens
    assert CANARY not in state
    # The app's answers were logged (the answer log, and the chat store if the app keeps one): no key in them.
    assert (tmp_path / "data" / "answer_log.sqlite3").is_file()
    assert files_holding(tmp_path / "data", CANARY) == []
