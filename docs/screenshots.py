"""Take the README's screenshots of every page: ``.venv/bin/python docs/screenshots.py [REPORTS_DIR] [--only NAME]``.

Starts the app on a free loopback port with a fresh data dir (the article only), drives each page in
Debian's Chromium and saves ``docs/<page>.png``, plus ``docs/chat-list.png`` (a second chat, with the
first one listed in the sidebar). REPORTS_DIR (default: evals/reports) is the folder of eval reports the
Evals page shows; ``--only chat-list`` (repeatable) takes only those. Not a test: tests/test_browser.py is.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
JOB = """Senior AI Engineer
We're a 20-person startup. You will analyze product data with SQL and design A/B tests to improve conversion.
You'll present insights to leadership and build dashboards in Looker.
Some prompt engineering on top of GPT-4 for internal tools.
Strong statistics background (hypothesis testing, regression) required."""
SHOTS = ("chat", "chat-list", "find-my-path", "job-check", "knowledge-base", "evals")  # docs/<name>.png, in order
# A main script that points the Evals page at REPORTS_DIR, then runs the real app.
WRAPPER = """import runpy, sys
import streamlit as st
sys.path.insert(0, {root!r})
st.session_state.setdefault("reports_dir", {reports!r})
runpy.run_path({app!r}, run_name="__main__")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it first."""
    script = "Math.max(...Array.from(document.querySelectorAll('section, div'), e => e.scrollHeight))"
    height = 0
    for _ in range(4):  # charts render after the resize and make the page taller
        time.sleep(2)
        new = min(max(int(page.evaluate(script)), 900), 3000)
        if new == height:
            break
        height = new
        page.set_viewport_size({"width": 1280, "height": height})
    page.screenshot(path=str(DOCS / f"{name}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    parser = argparse.ArgumentParser(description="Take the README's screenshots.")
    parser.add_argument("reports", nargs="?", default=str(ROOT / "evals" / "reports"), help="eval reports folder")
    parser.add_argument("--only", action="append", choices=SHOTS, help="take only this one (repeatable)")
    args = parser.parse_args()
    wanted = set(args.only or SHOTS)
    reports = Path(args.reports).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="advisor-shots-"))
    wrapper = tmp / "app.py"
    wrapper.write_text(WRAPPER.format(root=str(ROOT), reports=str(reports), app=str(ROOT / "streamlit_app.py")))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "OPENAI_"))}
    env.update(ADVISOR_DATA_DIR=str(tmp / "data"), ADVISOR_PROVIDER="local")
    cmd = [sys.executable, "-m", "streamlit", "run", str(wrapper), "--server.port", str(port)]
    cmd += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            long = 300_000

            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(timeout=long)

            def ask(question: str) -> None:
                before = page.get_by_test_id("stChatMessage").count()
                box.fill(question)
                box.press("Enter")
                page.get_by_test_id("stChatMessage").nth(before + 1).get_by_test_id("stExpander").wait_for(timeout=long)

            if wanted & {"chat", "chat-list"}:
                ask("ML engineers have the highest pay ceiling of the three, right?")
                ask("I'm a software engineer — which role should I go for?")
                ask("What about data scientists?")
                if "chat" in wanted:
                    shoot(page, "chat")
            if "chat-list" in wanted:
                sidebar = page.get_by_test_id("stSidebar")
                sidebar.get_by_role("button", name="New chat").click()
                expect(page.get_by_test_id("stChatMessage")).to_have_count(0)
                ask("What's the mid-level pay range for ML engineers?")
                sidebar.get_by_text("Manage this chat").click()
                shoot(page, "chat-list")

            nav = page.get_by_test_id("stSidebarNav")
            if "find-my-path" in wanted:
                nav.get_by_role("link", name="Find my path").click()
                page.get_by_label("Skills").fill("Python, SQL, statistics")
                page.get_by_label("What do you enjoy doing?").fill(
                    "running experiments and turning data into decisions"
                )
                page.get_by_role("button", name="Recommend a path").click()
                expect(page.get_by_text("Recommended:")).to_be_visible(timeout=long)
                shoot(page, "find-my-path")

            if "job-check" in wanted:
                nav.get_by_role("link", name="Is this job really…?").click()
                page.get_by_label("Job description").fill(JOB)
                page.get_by_role("button", name="Which role is it really?").click()
                expect(page.get_by_text("This is really")).to_be_visible(timeout=long)
                shoot(page, "job-check")

            if "knowledge-base" in wanted:
                nav.get_by_role("link", name="Knowledge base").click()
                expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=long)
                shoot(page, "knowledge-base")

            if "evals" in wanted:
                nav.get_by_role("link", name="Evals").click()
                expect(page.get_by_text("Latest report").or_(page.get_by_text("No eval report yet"))).to_be_visible()
                shoot(page, "evals")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
