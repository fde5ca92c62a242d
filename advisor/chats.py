"""Conversations that last: chats, their messages and the votes on answers, in one SQLite file.

:class:`ChatStore` keeps ``settings.chats_path`` with the standard library's ``sqlite3``: create, list
(newest first), get, rename, delete, append a turn (a question and its ``Answer``), vote on an answer,
export as Markdown or JSON (sources included) and import that JSON back. The schema is versioned
(``PRAGMA user_version`` and the steps in :data:`MIGRATIONS`) and marked as ours (``application_id``): a
file that is not SQLite, another program's database, a newer schema or a damaged file raises one
:class:`~advisor.errors.ChatStoreError` naming it, and is never written to. The file is in WAL mode with
a busy timeout, and every thread and process uses a connection of its own, so Streamlit sessions and CLI
processes can write at once. A deleted chat is gone from disk: ``secure_delete`` overwrites its rows and
the WAL is checkpointed and truncated.

It stores question and answer text, the answer's sources and figures (tokens, latency, model): never
settings or keys. It deliberately decides nothing about what a conversation means; the Advisor does.

Long: the schema, the checks that refuse a file not ours and the queries that rely on both are one unit;
the exports are the same rows in two other shapes, and the import is the JSON export read back.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import sqlite3
import string
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from advisor.errors import ChatNotFound, ChatStoreError, InputError

if TYPE_CHECKING:
    from advisor.answering.answer import Answer

Role = Literal["user", "assistant"]
Vote = Literal["up", "down"]

APPLICATION_ID = 0x41445643  # "ADVC" in the file header: tells our file from any other SQLite database
BUSY_TIMEOUT_MS = 15_000  # how long a writer waits for the others (8 at once on a busy 2-core box fit well)
ID_ALPHABET = string.ascii_lowercase + string.digits  # URL-safe, and never a "-" an option parser would take
ID_CHARS = 10  # 36**10 ids; a collision is drawn again anyway
TITLE_CHARS = 80  # a title made from the first question is cut here
MAX_TITLE_CHARS = 200
MAX_COMMENT_CHARS = 2000
EXPORT_FORMAT, EXPORT_VERSION = "advisor-chat", 1
_ID = re.compile(rf"[{ID_ALPHABET}]{{{ID_CHARS}}}")
_MESSAGE_COLUMNS = "chat_id, role, content, sources, refused, details, created"

# Step i takes the schema from version i to i + 1. A released step is never edited, only followed by new ones.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        "CREATE TABLE chats (id TEXT PRIMARY KEY, title TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL)",
        "CREATE INDEX chats_by_updated ON chats (updated)",
        """CREATE TABLE messages (id INTEGER PRIMARY KEY,
            chat_id TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL,
            sources TEXT NOT NULL DEFAULT '[]', refused INTEGER NOT NULL DEFAULT 0,
            details TEXT NOT NULL DEFAULT '{}', created TEXT NOT NULL)""",
        "CREATE INDEX messages_by_chat ON messages (chat_id, id)",
        """CREATE TABLE votes (message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
            vote TEXT NOT NULL CHECK (vote IN ('up', 'down')), comment TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL)""",
    ),
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class Message:
    id: int
    role: Role
    content: str
    created: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    details: dict[str, Any] = field(default_factory=dict)  # the rest of Answer.to_dict(): usage, latency_s, ...
    vote: Vote | None = None
    comment: str = ""


@dataclass(frozen=True)
class ChatInfo:
    id: str
    title: str
    created: str
    updated: str
    turns: int


@dataclass(frozen=True)
class Chat:
    id: str
    title: str
    created: str
    updated: str
    messages: list[Message]

    def history(self) -> list[dict[str, str]]:
        """The turns as ``Advisor.ask`` takes them."""
        return [{"role": m.role, "content": m.content} for m in self.messages]


class ChatStore:
    """The chats in one SQLite file. Share it between threads freely: each thread gets its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._checked = False

    def create(self, title: str = "") -> ChatInfo:
        """A new, empty chat; without a title it takes the first question's."""
        now, title = _now(), _clean_title(title)
        with self._transaction() as conn:
            chat_id = self._free_id(conn)
            conn.execute("INSERT INTO chats VALUES (?, ?, ?, ?)", (chat_id, title, now, now))
        return ChatInfo(chat_id, title, now, now, 0)

    def chats(self, limit: int = -1) -> list[ChatInfo]:
        """The chats, the most recently active first (``limit`` -1: all of them)."""
        turns = "SELECT count(*) FROM messages m WHERE m.chat_id = c.id AND m.role = 'user'"
        sql = f"SELECT id, title, created, updated, ({turns}) FROM chats c ORDER BY updated DESC, rowid DESC LIMIT ?"
        with self._transaction(write=False) as conn:
            return [ChatInfo(*row) for row in conn.execute(sql, (limit,))]

    def latest(self) -> ChatInfo | None:
        return next(iter(self.chats(limit=1)), None)

    def get(self, chat_id: str) -> Chat:
        sql = """SELECT m.id, role, content, m.created, sources, refused, details, vote, comment
                 FROM messages m LEFT JOIN votes v ON v.message_id = m.id WHERE chat_id = ? ORDER BY m.id"""
        with self._transaction(write=False) as conn:
            head = self._chat_row(conn, chat_id)
            rows = conn.execute(sql, (chat_id,)).fetchall()
        messages = [
            Message(mid, role, text, at, json.loads(sources), bool(refused), json.loads(details), vote, comment or "")
            for mid, role, text, at, sources, refused, details, vote, comment in rows
        ]
        return Chat(*head, messages=messages)

    def rename(self, chat_id: str, title: str) -> None:
        if not (title := _clean_title(title)):
            raise InputError("a chat's title can't be empty")
        with self._transaction() as conn:
            self._chat_row(conn, chat_id)
            conn.execute("UPDATE chats SET title = ? WHERE id = ?", (title, chat_id))

    def delete(self, chat_id: str) -> None:
        """Delete the chat with its messages and votes, overwriting them on disk (in the WAL too)."""
        with self._transaction() as conn:
            self._chat_row(conn, chat_id)
            conn.execute("DELETE FROM chats WHERE id = ?", (chat_id,))
        with self._translated():
            # The WAL still holds copies of the pages until a checkpoint; TRUNCATE also empties the file. While
            # another process reads, it can't finish: then a later checkpoint (SQLite runs them itself) does.
            self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def append_turn(self, chat_id: str, question: str, answer: Answer | Mapping[str, Any]) -> Message:
        """Store a question and its answer (an ``Answer`` or its ``to_dict()``); returns the answer's message."""
        data = dict(answer) if isinstance(answer, Mapping) else answer.to_dict()
        details = {k: v for k, v in data.items() if k not in ("answer", "sources", "refused", "question")}
        now, text, sources, refused = _now(), data["answer"], data["sources"], bool(data["refused"])
        with self._transaction() as conn:
            title = self._chat_row(conn, chat_id)[1] or _clean_title(question)
            _insert(conn, chat_id, "user", question, now)
            message_id = _insert(conn, chat_id, "assistant", text, now, sources, refused, details)
            conn.execute("UPDATE chats SET updated = ?, title = ? WHERE id = ?", (now, title, chat_id))
        return Message(message_id, "assistant", text, now, sources, refused, details)

    def vote(self, chat_id: str, message_id: int, vote: Vote | None, comment: str = "") -> None:
        """Rate an answer; a new vote replaces the old one, ``None`` takes it back."""
        if vote not in ("up", "down", None):
            raise InputError("a vote is 'up' or 'down'")
        with self._transaction() as conn:
            self._chat_row(conn, chat_id)
            sql = "SELECT 1 FROM messages WHERE id = ? AND chat_id = ? AND role = 'assistant'"
            if not conn.execute(sql, (message_id, chat_id)).fetchone():
                raise ChatNotFound(f"chat {chat_id!r} has no answer {message_id}")
            conn.execute("DELETE FROM votes WHERE message_id = ?", (message_id,))
            if vote:
                row = (message_id, vote, comment[:MAX_COMMENT_CHARS], _now())
                conn.execute("INSERT INTO votes VALUES (?, ?, ?, ?)", row)

    def export_json(self, chat_id: str) -> str:
        """The chat as JSON that :meth:`import_json` reads back: every message, with sources and votes."""
        chat = self.get(chat_id)
        messages = [
            {"role": m.role, "content": m.content, "created": m.created}
            | ({"sources": m.sources, "refused": m.refused, "details": m.details} if m.role == "assistant" else {})
            | ({"vote": m.vote, "comment": m.comment} if m.vote else {})
            for m in chat.messages
        ]
        head = {"id": chat.id, "title": chat.title, "created": chat.created, "updated": chat.updated}
        data = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, **head, "messages": messages}
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    def export_markdown(self, chat_id: str) -> str:
        """The chat as a Markdown transcript, each answer followed by its sources."""
        chat = self.get(chat_id)
        lines = [f"# {chat.title or 'Untitled chat'}", "", f"Chat `{chat.id}`, {chat.created} to {chat.updated}"]
        for m in chat.messages:
            lines += ["", "## You" if m.role == "user" else "## Advisor", "", m.content]
            if m.refused:
                lines += ["", "*(declined: the knowledge base doesn't cover this)*"]
            if m.sources:
                lines += ["", "Sources:", ""]
            for s in m.sources:
                where = f"{s.get('title', '')} — {s.get('section') or '(intro)'}"
                lines += [f"- [{s.get('n')}] {where} (score {s.get('score', 0):.3f})", f"  > {s.get('snippet', '')}"]
            if m.vote:
                rated = "Rated helpful" if m.vote == "up" else "Rated not helpful"
                lines += ["", f"{rated}: {m.comment}" if m.comment else rated]
        return "\n".join(lines) + "\n"

    def import_json(self, text: str | bytes) -> Chat:
        """Store a chat from :meth:`export_json`. It keeps its id, unless that is taken: then it gets a new one."""
        data = _parse_export(text)
        created = str(data.get("created") or _now())
        updated = str(data.get("updated") or created)
        with self._transaction() as conn:
            chat_id = self._free_id(conn, data.get("id"))
            head = (chat_id, _clean_title(str(data.get("title") or "")), created, updated)
            conn.execute("INSERT INTO chats VALUES (?, ?, ?, ?)", head)
            for m in data["messages"]:
                extra = (m.get("sources") or [], bool(m.get("refused")), m.get("details") or {})
                message_id = _insert(conn, chat_id, m["role"], m["content"], str(m.get("created") or created), *extra)
                if m.get("vote") in ("up", "down") and m["role"] == "assistant":
                    vote = (message_id, m["vote"], str(m.get("comment") or "")[:MAX_COMMENT_CHARS], updated)
                    conn.execute("INSERT INTO votes VALUES (?, ?, ?, ?)", vote)
        return self.get(chat_id)

    def check(self) -> None:
        """Open the file now: one that can't be used is reported before a conversation starts, not after it."""
        self._conn()

    def close(self) -> None:
        """Close this thread's connection (another thread's closes when that thread ends)."""
        self._local.__dict__.pop("held", None)

    # -- rows --------------------------------------------------------------------------------------------------
    def _chat_row(self, conn: sqlite3.Connection, chat_id: str) -> tuple[str, str, str, str]:
        row = conn.execute("SELECT id, title, created, updated FROM chats WHERE id = ?", (chat_id,)).fetchone()
        if row is None:
            raise ChatNotFound(f"no chat {chat_id!r} (`advisor history list` shows the stored chats)")
        return row  # type: ignore[no-any-return]

    def _free_id(self, conn: sqlite3.Connection, wanted: object = None) -> str:
        chat_id = wanted if isinstance(wanted, str) and _ID.fullmatch(wanted) else new_id()
        while conn.execute("SELECT 1 FROM chats WHERE id = ?", (chat_id,)).fetchone():
            chat_id = new_id()
        return chat_id

    # -- the file and its connections --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction. A writer takes the lock up front (IMMEDIATE) so the busy timeout applies; a
        reader gets one snapshot for all its SELECTs."""
        conn = self._conn()
        with self._translated():
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _conn(self) -> sqlite3.Connection:
        held: _Held | None = getattr(self._local, "held", None)
        if held is None or held.pid != os.getpid():  # after a fork, the parent's connection is not ours to use
            held = self._local.held = _Held(self._open())
        return held.conn

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise ChatStoreError(f"{self.path} is a folder, not a chat store file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The file is never opened but by SQLite: closing any other descriptor of it would drop the POSIX locks
        # this process's connections hold (sqlite.org/howtocorrupt.html, 2.2), and writers elsewhere corrupt it.
        with self._translated():
            # check_same_thread=False only so that whichever thread drops it last may close it.
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            try:
                with self._lock:
                    if not self._checked:
                        self._check(conn)
                        self._checked = True
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: a power cut may lose a turn, never corrupt
            except BaseException:
                conn.close()
                raise
        return conn

    def _check(self, conn: sqlite3.Connection) -> None:
        """Make sure the file is ours (or empty), whole and up to date; nothing is written to one that isn't."""
        if _identity(conn) != (APPLICATION_ID, SCHEMA_VERSION):
            self._migrate(conn)
        elif (problem := conn.execute("PRAGMA quick_check(1)").fetchone()[0]) != "ok":
            raise ChatStoreError(f"{self.path} is damaged ({' '.join(problem.split())}): move it aside")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":  # only now: it rewrites the header
            conn.execute("PRAGMA journal_mode = WAL")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait for it, then find it done
        try:
            app_id, version = _identity(conn)
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id not in (0, APPLICATION_ID) or (app_id == 0 and (version or tables)):
                raise ChatStoreError(
                    f"{self.path} is another program's SQLite database, not a chat store: move it aside"
                )
            if version > SCHEMA_VERSION:
                raise ChatStoreError(
                    f"{self.path} was written by a newer advisor (chat store schema {version}; this one reads up to "
                    f"{SCHEMA_VERSION}): upgrade the advisor"
                )
            for statement in (s for step in MIGRATIONS[version:] for s in step):
                conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's own failures (busy, damaged, not a database) as one line that names the file."""
        try:
            yield
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a bug here, not the file's fault
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ChatStoreError(f"{self.path} is busy: another process kept it locked; try again") from None
            raise ChatStoreError(f"{self.path} can't be used as a chat store ({exc})") from None
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorname == "SQLITE_NOTADB":  # SQLite reads the header and writes nothing
                raise ChatStoreError(
                    f"{self.path} is not a chat store (not a SQLite database): move it aside"
                ) from None
            raise ChatStoreError(f"{self.path} is damaged or not a chat store ({exc}): move it aside") from None


class _Held:
    """A thread's connection: closed when the thread (or the store) lets go of it, but never in a forked child,
    where closing would release the parent's locks."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.pid = conn, os.getpid()

    def __del__(self) -> None:
        if self.pid == os.getpid():
            self.conn.close()


def new_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_CHARS))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # fixed width: sorts as text


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    return conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]


def _insert(conn: sqlite3.Connection, chat_id: str, role: str, content: str, created: str, *answer: Any) -> int:
    """One message; ``answer`` is (sources, refused, details) for an assistant's."""
    sources, refused, details = answer or ([], False, {})
    row = (chat_id, role, content, _json(sources), refused, _json(details), created)
    cursor = conn.execute(f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _clean_title(text: str) -> str:
    """One line; a long one is cut at a word, with an ellipsis."""
    line = " ".join(text.split())[:MAX_TITLE_CHARS]
    if len(line) <= TITLE_CHARS:
        return line
    return line[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:—-") + "…"


def _parse_export(text: str | bytes) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a chat export: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise InputError(f'not a chat export: the JSON has no "format": "{EXPORT_FORMAT}"')
    if not isinstance(data.get("version"), int) or data["version"] > EXPORT_VERSION:
        raise InputError(f"a chat export of version {data.get('version')!r}; this advisor reads up to {EXPORT_VERSION}")
    messages = data.get("messages")
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
        for m in messages
    ):
        raise InputError('not a chat export: "messages" must be a list of {"role", "content"} objects')
    return data
