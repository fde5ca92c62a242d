"""The chat store (advisor/chats.py) on real SQLite files, and the CLI over it: `advisor chat --continue`,
`--chat ID` and `advisor history`. Answers come from the embedded default where a test is about answers; the
storage tests use fixed answers (deterministic inputs) so that they load no model."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from advisor.chats import APPLICATION_ID, SCHEMA_VERSION, ChatStore
from advisor.core import Advisor
from advisor.errors import ChatNotFound, ChatStoreError, InputError
from advisor.settings import PROJECT_DIR, Settings
from tests.conftest import advisor_env

ML_PAY = "What's the mid-level pay range for ML engineers?"
DEGREE = "Do all three roles require a graduate degree?"
FOLLOW_UP = "What about data scientists?"
DS_PAY = "$160K–$280K"  # the article's data scientist mid-level range: only a follow-up on pay gives it


def fixed_answer(text: str = "Mid-level ML engineers earn $200K–$380K. [1]") -> dict[str, Any]:
    """The shape of ``Answer.to_dict()``, fixed."""
    source = {
        "id": "doc:1",
        "n": 1,
        "doc_id": "doc",
        "title": "The article",
        "section": "Pay",
        "snippet": "$200K–$380K",
    }
    return {
        "answer": text,
        "sources": [{**source, "score": 0.61}],
        "refused": False,
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        "question": "q",
        "latency_s": 0.5,
        "model": "SmolLM2-135M-Instruct",
    }


def on_disk(path: Path) -> bytes:
    """The bytes of the database and its WAL: everything SQLite keeps of it."""
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def cli(args: list[str], tmp: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``advisor ARGS`` in a subprocess, with its data dir in ``tmp / "data"``."""
    return subprocess.run(
        [sys.executable, "-m", "advisor.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=advisor_env(tmp / "data"),
        cwd=PROJECT_DIR,
        timeout=600,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# -- the store ---------------------------------------------------------------------------------------------
def test_chats_are_listed_newest_first_titled_from_the_first_question_and_can_be_renamed(settings: Settings) -> None:
    store = ChatStore(settings.chats_path)
    older, newer = store.create(), store.create()
    store.append_turn(older.id, "Which role pays the most?", fixed_answer())
    store.append_turn(newer.id, ML_PAY, fixed_answer())
    store.append_turn(newer.id, FOLLOW_UP, fixed_answer("Data scientists earn $160K–$280K. [1]"))
    listed = store.chats()
    assert [c.id for c in listed] == [newer.id, older.id]
    assert [(c.title, c.turns) for c in listed] == [(ML_PAY, 2), ("Which role pays the most?", 1)]
    store.append_turn(older.id, "And the least?", fixed_answer())  # activity moves a chat to the top
    assert store.latest().id == older.id  # type: ignore[union-attr]
    store.rename(newer.id, "  ML pay\n")
    assert store.get(newer.id).title == "ML pay"
    with pytest.raises(InputError):
        store.rename(newer.id, "   ")
    assert settings.chats_path.is_file()


@pytest.mark.slow
def test_a_stored_turn_keeps_the_real_answer_its_sources_and_figures(settings: Settings, advisor: Advisor) -> None:
    answer = advisor.ask(ML_PAY)
    store = ChatStore(settings.chats_path)
    chat = store.create()
    stored = store.append_turn(chat.id, ML_PAY, answer)
    again = ChatStore(settings.chats_path).get(chat.id)  # read back through another connection
    question, reply = again.messages
    assert (question.role, question.content) == ("user", ML_PAY)
    assert reply == stored
    assert reply.content == answer.text and "$200K–$380K" in reply.content
    assert reply.sources == answer.to_dict()["sources"] and reply.sources
    assert reply.details["usage"]["total_tokens"] == answer.usage.total_tokens  # 0: grounded asks no model
    assert again.history() == [{"role": "user", "content": ML_PAY}, {"role": "assistant", "content": answer.text}]


@pytest.mark.slow
def test_the_json_export_imports_back_as_the_same_chat(tmp_path: Path, settings: Settings, advisor: Advisor) -> None:
    store = ChatStore(settings.chats_path)
    chat = store.create()
    store.append_turn(chat.id, ML_PAY, advisor.ask(ML_PAY))
    reply = store.append_turn(chat.id, FOLLOW_UP, advisor.ask(FOLLOW_UP, store.get(chat.id).history()))
    store.append_turn(chat.id, "What's a good lasagna recipe?", advisor.ask("What's a good lasagna recipe?"))
    store.vote(chat.id, reply.id, "down", "wanted the senior range too")
    exported = store.export_json(chat.id)

    elsewhere = ChatStore(tmp_path / "other" / "chats.sqlite3")
    imported = elsewhere.import_json(exported)
    assert elsewhere.export_json(imported.id) == exported
    original = store.get(chat.id)
    assert (imported.id, imported.title, imported.created, imported.updated) == (
        original.id,
        original.title,
        original.created,
        original.updated,
    )
    assert [(m.role, m.content, m.sources, m.refused, m.vote, m.comment) for m in imported.messages] == [
        (m.role, m.content, m.sources, m.refused, m.vote, m.comment) for m in original.messages
    ]
    assert DS_PAY in imported.messages[3].content and imported.messages[3].sources
    assert imported.messages[5].refused is True
    # The same file into the same store: the id is taken, so the copy gets a new one.
    copy = store.import_json(exported)
    assert copy.id != chat.id and copy.messages[3].content == original.messages[3].content


def test_the_markdown_export_has_every_question_answer_source_and_vote(settings: Settings) -> None:
    store = ChatStore(settings.chats_path)
    chat = store.create()
    reply = store.append_turn(chat.id, ML_PAY, fixed_answer())
    store.vote(chat.id, reply.id, "up")
    text = store.export_markdown(chat.id)
    assert text.startswith(f"# {ML_PAY}\n")
    assert f"## You\n\n{ML_PAY}" in text and "## Advisor\n\nMid-level ML engineers earn $200K–$380K. [1]" in text
    assert "- [1] The article — Pay (score 0.610)\n  > $200K–$380K" in text
    assert "Rated helpful" in text


def test_a_vote_is_stored_against_the_answer_it_rates_and_can_change(settings: Settings) -> None:
    store = ChatStore(settings.chats_path)
    chat = store.create()
    first = store.append_turn(chat.id, ML_PAY, fixed_answer())
    second = store.append_turn(chat.id, FOLLOW_UP, fixed_answer())
    store.vote(chat.id, second.id, "up")
    store.vote(chat.id, second.id, "down", "no figure for data scientists")
    votes = [(m.vote, m.comment) for m in store.get(chat.id).messages]
    assert votes == [(None, ""), (None, ""), (None, ""), ("down", "no figure for data scientists")]
    store.vote(chat.id, second.id, None)
    assert [m.vote for m in store.get(chat.id).messages] == [None] * 4
    with pytest.raises(ChatNotFound):
        store.vote(chat.id, first.id - 1, "up")  # that is the question, not an answer


def test_a_deleted_chat_is_gone_from_the_file_on_disk(settings: Settings) -> None:
    store = ChatStore(settings.chats_path)
    kept, doomed = store.create(), store.create()
    secret = "my manager Quillon Marsh must not see that I am leaving"
    store.append_turn(kept.id, "Which role pays the most for a Zephyrine?", fixed_answer())
    store.append_turn(doomed.id, secret, fixed_answer("The pay for " + secret))
    assert secret.encode() in on_disk(settings.chats_path)  # the check below can fail
    store.delete(doomed.id)
    store.close()
    assert secret.encode() not in on_disk(settings.chats_path)
    assert b"for a Zephyrine" in on_disk(settings.chats_path)
    assert [c.id for c in ChatStore(settings.chats_path).chats()] == [kept.id]
    with pytest.raises(ChatNotFound):
        store.get(doomed.id)


def test_a_chat_id_that_does_not_exist_says_so(settings: Settings) -> None:
    store = ChatStore(settings.chats_path)
    for call in (store.get, store.delete, store.export_json, lambda i: store.rename(i, "x")):
        with pytest.raises(ChatNotFound, match="no chat 'nosuchchat'"):
            call("nosuchchat")
    with pytest.raises(ChatNotFound):
        store.append_turn("nosuchchat", ML_PAY, fixed_answer())
    assert store.chats() == []  # the failed append created nothing


def test_a_bad_export_is_refused_with_a_clear_error(settings: Settings) -> None:
    store = ChatStore(settings.chats_path)
    for text, message in [
        ("not json", "not valid JSON"),
        ('{"messages": []}', "advisor-chat"),
        ('{"format": "advisor-chat", "version": 99, "messages": []}', "version 99"),
        ('{"format": "advisor-chat", "version": 1, "messages": [{"role": "system", "content": "x"}]}', "messages"),
    ]:
        with pytest.raises(InputError, match=message):
            store.import_json(text)
    assert store.chats() == []


# -- files that are not a chat store -----------------------------------------------------------------------
def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('my own notes')")
    conn.close()


def _chat_store_in_one_file(path: Path) -> None:
    """A real chat store, checkpointed back into one file (rollback-journal mode) so that its bytes are all of it."""
    store = ChatStore(path)
    chat = store.create()
    for i in range(40):
        store.append_turn(chat.id, f"question {i} " * 40, fixed_answer("an answer " * 200))
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()


def _newer(path: Path) -> None:
    _chat_store_in_one_file(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


def _damaged(path: Path) -> None:
    _chat_store_in_one_file(path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 8192] = b"\x5a" * 8192
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("my chat log, not a database\n" * 50), "not a SQLite database"),
        (_foreign, "another program's SQLite database"),
        (_newer, "newer advisor"),
        (_damaged, "damaged"),
    ],
    ids=["not-sqlite", "foreign-sqlite", "newer-schema", "damaged"],
)
def test_a_file_that_is_not_a_usable_chat_store_gives_one_clear_error_and_is_left_unchanged(
    tmp_path: Path, make: Any, message: str
) -> None:
    path = tmp_path / "chats.sqlite3"
    make(path)
    before = path.read_bytes()
    empty_export = json.dumps({"format": "advisor-chat", "version": 1, "title": "t", "messages": []})
    for attempt in (lambda s: s.chats(), lambda s: s.create(), lambda s: s.import_json(empty_export)):
        with pytest.raises(ChatStoreError) as caught:
            attempt(ChatStore(path))
        assert message in str(caught.value) and str(path) in str(caught.value)
        assert "\n" not in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chats.sqlite3"]  # no WAL or journal left beside it


def test_a_chat_store_is_marked_as_ours_with_its_schema_version(settings: Settings) -> None:
    ChatStore(settings.chats_path).create()
    with sqlite3.connect(settings.chats_path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


# -- many writers ------------------------------------------------------------------------------------------
WRITER = """
import json, sys, time
from pathlib import Path
from advisor.chats import ChatStore
path, shared, name, turns, go, answer = sys.argv[1:]
store = ChatStore(Path(path))
own = store.create().id
while not Path(go).exists():
    time.sleep(0.005)
for i in range(int(turns)):
    store.append_turn(shared, f"{name} asks question {i}", json.loads(answer))
    store.append_turn(own, f"{name} keeps question {i}", json.loads(answer))
"""
WRITERS = 8
TURNS = 30


def test_eight_threads_and_eight_processes_writing_at_once_lose_nothing_and_corrupt_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data" / "chats.sqlite3"
    store = ChatStore(path)
    shared = store.create().id
    go = tmp_path / "go"
    answer = json.dumps(fixed_answer())
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), shared, f"process{n}", str(TURNS), str(go), answer],
            cwd=PROJECT_DIR,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    failures: list[BaseException] = []

    def write(name: str) -> None:
        try:
            own = store.create().id
            started.wait()
            for i in range(TURNS):
                store.append_turn(shared, f"{name} asks question {i}", fixed_answer())
                store.append_turn(own, f"{name} keeps question {i}", fixed_answer())
        except BaseException as exc:
            failures.append(exc)

    started = threading.Event()
    threads = [threading.Thread(target=write, args=(f"thread{n}",)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    go.touch()
    started.set()
    for thread in threads:
        thread.join()
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * WRITERS, errors
    assert failures == []

    writers = [f"thread{n}" for n in range(WRITERS)] + [f"process{n}" for n in range(WRITERS)]
    questions = [m.content for m in store.get(shared).messages if m.role == "user"]
    assert sorted(questions) == sorted(f"{w} asks question {i}" for w in writers for i in range(TURNS))
    others = [c for c in store.chats() if c.id != shared]
    assert sorted(c.title for c in others) == sorted(f"{w} keeps question 0" for w in writers)
    assert all(c.turns == TURNS for c in others)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


# -- the command line ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_chat_continue_resumes_the_last_conversation_and_chat_id_picks_one(tmp_path: Path) -> None:
    first = cli(["chat"], tmp_path, stdin=f"{DEGREE}\n/new\n{ML_PAY}\n/quit\n")
    assert first.returncode == 0, first.stderr
    listed = json.loads(cli(["history", "list", "--json"], tmp_path).stdout)
    assert [(c["title"], c["turns"]) for c in listed] == [(ML_PAY, 1), (DEGREE, 1)]

    # In the resumed thread the follow-up is about pay; after /new the same words have no thread to follow.
    resumed = cli(["chat", "--continue"], tmp_path, stdin=f"{FOLLOW_UP}\n/new\n{FOLLOW_UP}\n/quit\n")
    assert resumed.returncode == 0, resumed.stderr
    assert f"(continuing “{ML_PAY}”: 1 earlier turn(s), chat {listed[0]['id']})" in resumed.stdout
    in_context, out_of_context = resumed.stdout.split("advisor> ")[1:3]
    # In context the answer opens with the pay range; out of context it opens with something else about the role.
    assert DS_PAY in in_context.strip().split("\n\n")[0]
    assert DS_PAY not in out_of_context.strip().split("\n\n")[0]
    stored = json.loads(cli(["history", "export", listed[0]["id"], "--format", "json"], tmp_path).stdout)
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == [ML_PAY, FOLLOW_UP]
    assert DS_PAY in stored["messages"][3]["content"] and stored["messages"][3]["sources"]

    picked = cli(["chat", "--chat", listed[1]["id"]], tmp_path, stdin="/quit\n")
    assert picked.returncode == 0, picked.stderr
    assert f"(continuing “{DEGREE}”: 1 earlier turn(s), chat {listed[1]['id']})" in picked.stdout


@pytest.mark.slow
def test_history_lists_shows_exports_and_deletes_a_chat(tmp_path: Path, advisor: Advisor) -> None:
    store = ChatStore(tmp_path / "data" / "chats.sqlite3")
    chat = store.create()
    store.append_turn(chat.id, ML_PAY, advisor.ask(ML_PAY))
    listing = cli(["history", "list"], tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert chat.id in listing.stdout and ML_PAY in listing.stdout
    shown = cli(["history", "show", chat.id], tmp_path).stdout
    assert ML_PAY in shown and "$200K–$380K" in shown and "Sources:" in shown
    out = tmp_path / "chat.md"
    assert cli(["history", "export", chat.id, "--format", "md", "-o", str(out)], tmp_path).returncode == 0
    assert out.read_text(encoding="utf-8") == shown
    exported = tmp_path / "chat.json"
    exported.write_text(cli(["history", "export", chat.id, "--format", "json"], tmp_path).stdout, encoding="utf-8")

    deleted = cli(["history", "delete", chat.id], tmp_path)
    assert deleted.returncode == 0 and f"deleted {chat.id}" in deleted.stdout
    assert json.loads(cli(["history", "list", "--json"], tmp_path).stdout) == []
    assert ML_PAY.encode() not in on_disk(store.path)
    assert "no chat" in one_error_line(cli(["history", "show", chat.id], tmp_path))
    imported = cli(["history", "import", str(exported)], tmp_path)
    assert imported.returncode == 0 and f"imported {chat.id}" in imported.stdout
    assert cli(["history", "show", chat.id], tmp_path).stdout == shown


@pytest.mark.parametrize(
    "args",
    [["history", "show", "nosuchchat"], ["history", "delete", "nosuchchat"], ["chat", "--chat", "nosuchchat"]],
)
def test_the_cli_says_when_a_chat_id_does_not_exist(tmp_path: Path, args: list[str]) -> None:
    assert "no chat 'nosuchchat'" in one_error_line(cli(args, tmp_path, stdin="/quit\n"))


def test_the_cli_names_a_chat_store_file_it_cannot_use_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "data" / "chats.sqlite3"
    path.parent.mkdir()
    _foreign(path)
    before = path.read_bytes()
    for args in (["history", "list"], ["chat"]):
        line = one_error_line(cli(args, tmp_path, stdin="/quit\n"))
        assert str(path) in line and "not a chat store" in line
    assert path.read_bytes() == before
