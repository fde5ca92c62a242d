"""The knowledge-base page under AppTest: list, bad uploads (refused, KB unchanged), add, replace, remove;
and an uploaded document's remote image never reaches the rendered chat.

AppTest can't fill a file uploader, so files are handed to the page in ``st.session_state.pending_uploads``
(name, bytes); the page sends them down the same path as the uploader (``Advisor.add_upload``). The real
uploader is exercised in tests/test_browser.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_support import app, app_settings, texts

pytestmark = pytest.mark.slow

ARTICLE_ID = "ai-engineer-vs-ml-engineer-vs-data-scientist"
BAD_UPLOADS = [
    ("empty.md", b""),
    ("binary.txt", bytes(range(256)) * 4),
    ("image.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    ("program.exe", b"MZ\x90\x00 not a document"),
    ("../../etc/passwd.md", b"# Sneaky\n\nA path in the name."),
    ("oversized.txt", b"a" * 5_000_001),
    ("\u202egnp.md", b"# Right-to-left override\n\nHidden extension trick."),
]


@pytest.fixture(scope="module")
def kb_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("app-kb") / "data"
    with app_settings(data):
        yield data


def manifest_digest(data: Path) -> str:
    return hashlib.sha256((data / "manifest.json").read_bytes()).hexdigest()


def listed_ids(at) -> list[str]:  # type: ignore[no-untyped-def]
    return list(at.dataframe[0].value["id"]) if at.dataframe else []


def kb_page_with(uploads: list[tuple[str, bytes]], replace: str | None = None):  # type: ignore[no-untyped-def]
    at = app("knowledge_base")
    at.session_state["pending_uploads"] = uploads
    if replace:
        at.session_state["pending_replace"] = replace
    return at.run()


def test_the_page_lists_the_article_with_chunks_added_and_hash(kb_env: Path) -> None:
    at = app("knowledge_base").run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["id"] == ARTICLE_ID].iloc[0]
    assert row["chunks"] > 5 and len(row["hash"]) == 12 and row["added"].endswith("UTC")


@pytest.mark.parametrize(
    ("name", "data"), BAD_UPLOADS, ids=[n.encode("ascii", "replace").decode() for n, _ in BAD_UPLOADS]
)
def test_a_bad_upload_shows_an_error_and_leaves_the_kb_unchanged(kb_env: Path, name: str, data: bytes) -> None:
    app("knowledge_base").run()  # make sure the knowledge base exists
    before = manifest_digest(kb_env)
    at = kb_page_with([(name, data)])
    assert not at.exception
    errors = texts(at, "error")
    assert len(errors) == 1 and errors[0].startswith(f"{name}: "), errors
    assert not texts(at, "success")
    assert manifest_digest(kb_env) == before
    assert listed_ids(at) == [ARTICLE_ID]


def test_upload_replace_and_remove_go_through_the_core(kb_env: Path) -> None:
    at = kb_page_with([("Team Notes.md", b"# Team notes\n\nThe Corvell team ships a weekly demo of its agent.\n")])
    assert not at.exception
    assert texts(at, "success") == ["Team Notes.md: added as team-notes (1 chunks)"]
    assert sorted(listed_ids(at)) == sorted([ARTICLE_ID, "team-notes"])
    first_hash = at.dataframe[0].value.set_index("id").loc["team-notes", "hash"]

    at = kb_page_with(
        [("notes-v2.md", b"# Team notes\n\nThe Corvell team now ships a demo every day.\n")], "team-notes"
    )
    assert texts(at, "success") == ["notes-v2.md: replaced as team-notes (1 chunks)"]
    assert at.dataframe[0].value.set_index("id").loc["team-notes", "hash"] != first_hash

    at.selectbox(key="remove_target").select("team-notes")
    at.checkbox[0].check()
    next(b for b in at.button if b.label == "Remove").click().run()
    assert not at.exception
    assert texts(at, "success") == ["removed team-notes (1 chunks)"]
    assert listed_ids(at) == [ARTICLE_ID]


def test_a_remote_image_in_an_uploaded_document_is_never_rendered(kb_env: Path) -> None:
    # The heading becomes the document's title, shown with every source the document backs.
    doc = (
        b"# Orbisant ![pixel](https://tracker.example/p.png) protocol\n\n"
        b"The Orbisant protocol requires every AI engineer to file a weekly beacon report.\n"
    )
    at = kb_page_with([("orbisant.md", doc)])
    assert texts(at, "success") == ["orbisant.md: added as orbisant (1 chunks)"]
    chat = app().run()
    chat.chat_input[0].set_value("What does the Orbisant protocol require of every AI engineer?").run()
    assert not chat.exception
    raw = chat.session_state["messages"][1]["answer"]
    # The risk is real: the cited source's title holds the image ...
    titles = [s["title"] for s in raw["sources"] if s["doc_id"] == "orbisant"]
    assert titles and "![pixel](https://tracker.example/p.png)" in titles[0]
    # ... but nothing rendered can fetch it: no image syntax, no URL outside inline code.
    rendered = texts(chat, "markdown") + texts(chat, "caption")
    assert "weekly beacon report" in "\n".join(rendered)
    for text in rendered:
        assert "![" not in text
        assert "https://tracker.example/p.png" not in text


ADMIN_KEY = "kb-admin-key-for-the-test"
NEW_DOC = (
    "falconry.md",
    b"# Falconry careers\n\nA falconer trains birds of prey for bird control at airports and landfills.",
)


def test_beyond_loopback_without_an_admin_key_the_page_is_read_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with app_settings(data, address="0.0.0.0"):
        app("knowledge_base").run()  # builds the knowledge base (the article)
        before = manifest_digest(data)
        at = kb_page_with([NEW_DOC])
    assert not at.exception
    assert any("ADVISOR_ADMIN_KEY is not set" in w for w in texts(at, "warning"))
    assert any("needs the admin key" in e for e in texts(at, "error"))
    assert not at.tabs  # no upload, replace or remove forms
    assert manifest_digest(data) == before


def test_beyond_loopback_writes_need_the_right_admin_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with app_settings(data, address="0.0.0.0", ADVISOR_ADMIN_KEY=ADMIN_KEY):
        app("knowledge_base").run()
        before = manifest_digest(data)
        wrong = app("knowledge_base")
        wrong.session_state["admin_key"] = "not-the-key"
        wrong.session_state["pending_uploads"] = [NEW_DOC]
        wrong.run()
        assert any("not the admin key" in e for e in texts(wrong, "error"))
        assert manifest_digest(data) == before
        right = app("knowledge_base")
        right.session_state["admin_key"] = ADMIN_KEY
        right.session_state["pending_uploads"] = [NEW_DOC]
        right.run()
    assert not right.exception
    assert any("falconry" in s and "added" in s for s in texts(right, "success"))
    assert "falconry" in listed_ids(right)


def test_on_loopback_the_page_asks_for_no_key(kb_env: Path) -> None:
    at = app("knowledge_base").run()  # kb_env binds 127.0.0.1, as `advisor ui` does by default
    assert not at.exception
    assert not at.text_input and len(at.tabs) == 3
