"""The UI in a real browser: ``advisor ui`` on a loopback port, started outside the checkout (so the
Streamlit options come from its command line, as for an installed advisor), driven by Playwright with
Debian's Chromium. Asks a question and waits for the streamed answer and its sources, uploads a
document holding a unique fact and asks about it, and checks that the page made no request to any host
but the app's own. A chat comes back after a reload (its id is in the URL) and exports as JSON with sources. Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from advisor.settings import PROJECT_DIR
from tests.conftest import advisor_env
from tests.llama_server import free_port, stop, wait_http

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_DIR / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
UNIQUE_DOC = """# The Zephyrine Guild

The Zephyrine Guild is a mentorship programme for new AI engineers.
Every new AI engineer in the Zephyrine Guild is mentored by Quillon Marsh for seventeen weeks.
"""
# Long enough for the first question: models load and the article is indexed in that time.
FIRST_ANSWER_MS = 240_000
ANSWER_MS = 120_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("browser")
    port = free_port()
    env = advisor_env(data / "data")
    log = data / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "advisor.cli", "ui", "--port", str(port), "--host", "127.0.0.1"],
            cwd=data,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90, proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc, timeout=20)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


def ask(page, question: str, timeout_ms: int):  # type: ignore[no-untyped-def]
    """Type a question, send it, and return the new assistant message once its sources are shown."""
    before = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    reply = page.get_by_test_id("stChatMessage").nth(before + 1)
    reply.get_by_test_id("stExpander").wait_for(timeout=timeout_ms)
    return reply


def test_the_app_answers_with_sources_learns_an_uploaded_fact_and_stays_on_loopback(
    app_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("request", lambda request: requests.append(request.url))

            page.goto(app_url)
            page.get_by_test_id("stChatInputTextArea").wait_for(timeout=FIRST_ANSWER_MS)
            reply = ask(page, "I'm a software engineer — which role should I go for?", FIRST_ANSWER_MS)
            expect(reply).to_contain_text("Go AI Engineer")
            expect(reply).to_contain_text("[1]")
            reply.get_by_test_id("stExpander").click()
            expect(reply.get_by_test_id("stExpander")).to_contain_text("You're a software engineer")
            expect(reply).to_contain_text("tokens")
            page.screenshot(path=str(ARTIFACTS / "browser-1-chat.png"), full_page=True)

            doc = tmp_path / "zephyrine-guild.md"
            doc.write_text(UNIQUE_DOC, encoding="utf-8")
            page.goto(f"{app_url}/knowledge_base")
            page.locator("input[type=file]").first.set_input_files(str(doc))
            page.get_by_role("button", name="Add to the knowledge base").click()
            expect(page.get_by_text("added as zephyrine-guild")).to_be_visible(timeout=ANSWER_MS)
            expect(page.get_by_test_id("stDataFrame")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-2-knowledge-base.png"), full_page=True)

            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Chat").click()
            reply = ask(page, "Who mentors new AI engineers in the Zephyrine Guild?", ANSWER_MS)
            expect(reply).to_contain_text("Quillon Marsh")
            reply.get_by_test_id("stExpander").click()
            expect(reply.get_by_test_id("stExpander")).to_contain_text("The Zephyrine Guild")
            page.screenshot(path=str(ARTIFACTS / "browser-3-uploaded-fact.png"), full_page=True)
        finally:
            browser.close()

    outside = [
        url
        for url in requests
        if urlparse(url).scheme in ("http", "https", "ws", "wss")
        and urlparse(url).hostname not in ("127.0.0.1", "localhost")
    ]
    assert requests and not outside, f"requests left the machine: {outside[:5]}"
    assert any(re.match(r"wss?://127\.0\.0\.1", u) or "/_stcore/" in u for u in requests)


def test_a_chat_is_listed_reopens_after_a_reload_and_exports_with_its_sources(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    question = "What's the mid-level pay range for ML engineers?"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
            page.goto(app_url)
            page.get_by_test_id("stChatInputTextArea").wait_for(timeout=FIRST_ANSWER_MS)
            expect(ask(page, question, FIRST_ANSWER_MS)).to_contain_text("$200K–$380K")
            page.wait_for_url(re.compile(r"[?&]chat=[a-z0-9]{10}\b"), timeout=ANSWER_MS)
            chat_id = re.search(r"chat=([a-z0-9]{10})", page.url).group(1)  # type: ignore[union-attr]

            page.reload()  # a new session: the chat comes back from the store, through the URL
            messages = page.get_by_test_id("stChatMessage")
            expect(messages.nth(1)).to_contain_text("$200K–$380K", timeout=ANSWER_MS)
            expect(messages.first).to_contain_text(question)
            assert chat_id in page.url
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar).to_contain_text("Past chats")
            expect(sidebar.get_by_role("button", name="What's the mid-level pay range")).to_be_visible()  # titled
            sidebar.get_by_text("Manage this chat").click()
            page.screenshot(path=str(ARTIFACTS / "browser-4-chat-after-reload.png"), full_page=True)
            with page.expect_download() as download:
                sidebar.get_by_test_id("stDownloadButton").filter(has_text="JSON").click()
            assert download.value.suggested_filename == f"chat-{chat_id}.json"
            exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        finally:
            browser.close()
    assert exported["id"] == chat_id
    assert exported["messages"][0]["content"] == question
    assert "$200K–$380K" in exported["messages"][1]["content"] and exported["messages"][1]["sources"]
