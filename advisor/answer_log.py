"""The answer log: one record per answer in SQLite, so that a wrong answer can be traced to its cause.

A record holds the question and its standalone rewrite, the answer plan (mode; refused and why), the
retrieved chunks with their dense, BM25 and fused scores, the quotes chosen and the sources cited, the
model and its tokens, and the time of each step (rewrite, embed, retrieve, select, model) plus the total.
The answer path fills a :class:`Trace` as it runs (it ends up on ``Answer.trace``);
:class:`advisor.core.Advisor` writes the record through :meth:`AnswerLog.record`, whichever edge asked
(CLI, app, API, evals), also for a stream that failed or was abandoned (``status``).

The store is ``settings.answer_log_path``: WAL, its schema version in ``PRAGMA user_version`` (migrated
forward on open; a newer or corrupt file is an error and is left as it is), the newest
``settings.log_max_records`` kept. With ``ADVISOR_LOG=off`` nothing is written and no file is created.
A broken log never costs an answer: writing fails with a logged error and the answer is given.
An answer carries its record id (``answer.trace.record_id``, ``log_id`` in ``Answer.to_dict()``), so votes
kept elsewhere join on it: the chat store keeps it in each answer's details, and the Traces page reads the
chat votes through it. The ``voted`` column is for votes that have no other home (:meth:`AnswerLog.vote`:
+1 up, -1 down, NULL unknown).

It deliberately writes nothing from the settings (no keys, no headers, no URLs) and, as a second line of
defence, blanks any configured key a question or an error message happens to contain. It keeps chunk
previews, not whole chunks (the knowledge base has them). :func:`configure_logging` lives here too: the
one place Python logging is set up, called by the CLI, ``advisor serve`` and the Streamlit app.

Long: the trace, the row built from it, the schema it is stored in and the record read back are one unit;
split, each part would have to know the others' field and column names.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import StoreError
from advisor.settings import Settings

if TYPE_CHECKING:  # the answer path imports this module; these are types here only
    from advisor.answering.answer import Answer
    from advisor.answering.evidence import Unit
    from advisor.providers.chat_models import ChatModel, Message, Usage
    from advisor.retrieval.retriever import Retrieval

log = logging.getLogger(__name__)

STEPS = ("rewrite", "embed", "retrieve", "plan", "select", "model")  # in the order the answer path runs them
PREVIEW_CHARS = 160  # enough to recognise a chunk in a listing; the chunk itself is in the knowledge base
BUSY_TIMEOUT_S = 10.0  # the CLI, the app and the API may write at once: wait this long for the lock
MIN_SECRET_CHARS = 8  # shorter "keys" are test placeholders; blanking them would garble ordinary words
REDACTED = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Each migration takes the file from version i to i + 1 (PRAGMA user_version); append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE answers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created REAL NOT NULL,
            status TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            question TEXT NOT NULL,
            standalone_question TEXT NOT NULL DEFAULT '',
            refused INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '',
            mode TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL DEFAULT '',
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            total_s REAL NOT NULL DEFAULT 0,
            steps TEXT NOT NULL DEFAULT '{}',
            plan TEXT NOT NULL DEFAULT '{}',
            hits TEXT NOT NULL DEFAULT '[]',
            quotes TEXT NOT NULL DEFAULT '[]',
            sources TEXT NOT NULL DEFAULT '[]',
            answer TEXT NOT NULL DEFAULT '',
            voted INTEGER
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
_JSON_COLUMNS = ("steps", "plan", "hits", "quotes", "sources")


# -- what the answer path records as it runs ---------------------------------------------------------------
@dataclass
class Trace:
    """What one answer did: filled step by step by the answer path, written by :class:`AnswerLog`."""

    question: str = ""
    standalone_question: str = ""
    mode: str = ""
    model: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, in the order they ran
    plan: dict[str, Any] = field(default_factory=dict)
    hits: list[dict[str, Any]] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)
    record_id: int | None = None  # the answer log's id for this answer, once written
    started: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, step: str, seconds: float) -> None:
        self.steps[step] = self.steps.get(step, 0.0) + seconds

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as step ``name`` (added to what the step took before)."""
        begun = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - begun)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def retrieved(self, retrieval: Retrieval) -> None:
        """The retrieval's timings (embed, retrieve), its hits with their scores, and its scope decision."""
        for name, seconds in retrieval.timings.items():
            self.add(name, seconds)
        self.hits = [
            {
                "rank": rank,
                "chunk_id": hit.chunk_id,
                "doc_id": hit.doc_id,
                "title": hit.title,
                "section": hit.section,
                "dense": round(hit.dense, 4),
                "bm25": round(hit.lexical, 4),
                "fused": round(hit.score, 5),
                "preview": _preview(hit.text),
            }
            for rank, hit in enumerate(retrieval.hits, 1)
        ]
        self.plan.update(in_scope=retrieval.relevant, best_dense=round(retrieval.best_dense, 4))

    def selected(self, units: Sequence[Unit]) -> None:
        """The quotes the evidence selector chose (``n`` is the source they are cited as)."""
        self.quotes = [{"n": u.hit_rank + 1, "text": u.text, "score": round(u.score, 4)} for u in units]

    def timed(self, chat: ChatModel) -> ChatModel:
        """``chat``, with the time spent inside its stream added to the ``model`` step."""
        return _TimedChat(chat, self)


class _TimedChat:
    """A chat model whose waits are timed: only the time inside the model's stream counts, not the caller's."""

    def __init__(self, chat: ChatModel, trace: Trace) -> None:
        self._chat = chat
        self._trace = trace
        self.name = chat.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str | Usage]:
        items = self._chat.stream(messages, max_tokens, temperature)
        waiting_since: float | None = time.perf_counter()
        try:
            for item in items:
                assert waiting_since is not None
                self._trace.add("model", time.perf_counter() - waiting_since)
                waiting_since = None
                yield item
                waiting_since = time.perf_counter()
        finally:
            if waiting_since is not None:  # the last wait: to the end of the stream, or to its failure
                self._trace.add("model", time.perf_counter() - waiting_since)
            close = getattr(items, "close", None)
            if close is not None:  # a local model holds its lock until its generator is closed
                close()


# -- the records -----------------------------------------------------------------------------------------
@dataclass
class AnswerRecord:
    """One row of the log, as read back."""

    id: int
    created: float  # Unix time
    status: str  # "ok", "abandoned" (the reader stopped) or "failed" (an error ended it)
    error: str
    question: str
    standalone_question: str
    refused: bool
    reason: str  # why it was refused: "out_of_scope", "empty_kb"; "" otherwise
    mode: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_s: float
    steps: dict[str, float]
    plan: dict[str, Any]
    hits: list[dict[str, Any]]
    quotes: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    answer: str
    voted: int | None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_tokens": self.total_tokens}


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _row(trace: Trace, answer: Answer | None, status: str, error: str, text: str) -> dict[str, Any]:
    """The column values for one answer; a stream that did not finish has its trace and partial text only."""
    plan = dict(trace.plan)
    usage = answer.usage if answer is not None else None
    if answer is not None:
        plan.update(refused=answer.refused, reason=answer.reason, interrupted=answer.interrupted)
    return {
        "created": time.time(),
        "status": status,
        "error": error,
        "question": trace.question,
        "standalone_question": trace.standalone_question,
        "refused": int(bool(answer and answer.refused)),
        "reason": answer.reason if answer is not None else "",
        "mode": trace.mode,
        "model": trace.model,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "total_s": round(answer.latency_s if answer is not None else trace.elapsed(), 4),
        "steps": {name: round(seconds, 6) for name, seconds in trace.steps.items()},
        "plan": plan,
        "hits": trace.hits,
        "quotes": trace.quotes,
        "sources": [
            {"n": s.n, "chunk_id": s.chunk_id, "title": s.title, "section": s.section}
            for s in (answer.sources if answer is not None else [])
        ],
        "answer": answer.text if answer is not None else text,
    }


def _secrets(settings: Settings) -> list[str]:
    keys = [k.get_secret_value() for k in (settings.openai_api_key, settings.admin_key) if k is not None]
    return [k for k in [*keys, *settings.chat_keys] if len(k) >= MIN_SECRET_CHARS]


# -- the store -------------------------------------------------------------------------------------------
class AnswerLog:
    """The answer log at ``settings.answer_log_path``. Each call opens its own connection (threads, processes)."""

    def __init__(self, settings: Settings) -> None:
        self.path: Path = settings.answer_log_path
        self.enabled = settings.log == "on"
        self.max_records = settings.log_max_records
        self._secrets = _secrets(settings)

    def record(
        self, trace: Trace, answer: Answer | None = None, *, status: str = "ok", error: str = "", text: str = ""
    ) -> int | None:
        """Write one answer; returns its id (also set on ``trace.record_id``), or None when the log is off or
        could not be written. It never raises: a broken log is logged as an error and the answer stands."""
        if not self.enabled:
            return None
        row = {
            name: self._redact(json.dumps(value, ensure_ascii=False) if name in _JSON_COLUMNS else value)
            for name, value in _row(trace, answer, status, error, text).items()
        }
        try:
            conn = self._open(create=True)
            assert conn is not None  # create=True: opened or raised
            with closing(conn):
                conn.execute("BEGIN IMMEDIATE")
                cursor = conn.execute(
                    f"INSERT INTO answers ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
                )
                # Retention: the newest max_records stay (ids only grow, so "oldest" is "lowest id").
                conn.execute(
                    "DELETE FROM answers WHERE id <= (SELECT id FROM answers ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (self.max_records,),
                )
                conn.execute("COMMIT")
        except StoreError as exc:
            log.error("answer not logged: %s", exc)
            return None
        except (sqlite3.Error, OSError) as exc:
            log.error("answer not logged: the answer log %s could not be written (%s)", self.path, exc)
            return None
        trace.record_id = cursor.lastrowid
        log.debug("answer record %s written (%s, %.3f s)", trace.record_id, status, row["total_s"])
        return trace.record_id

    def recent(
        self,
        limit: int = 20,
        *,
        refused: bool | None = None,
        slower_than_s: float | None = None,
        voted_down: bool = False,
        down_ids: Collection[int] = (),
    ) -> list[AnswerRecord]:
        """The newest records first, filtered; none when there is no log file (reading never creates one).
        ``voted_down``: records with a negative ``voted``, or whose id is in ``down_ids`` (votes kept elsewhere,
        such as the chat store's)."""
        where: list[str] = []
        params: list[float] = []
        if refused is not None:
            where.append("refused = ?")
            params.append(int(refused))
        if slower_than_s is not None:
            where.append("total_s > ?")
            params.append(slower_than_s)
        if voted_down:
            where.append(f"(voted < 0 OR id IN ({', '.join('?' for _ in down_ids)}))" if down_ids else "voted < 0")
            params.extend(down_ids)
        sql = "SELECT * FROM answers" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC LIMIT ?"
        conn = self._open(create=False)
        if conn is None:
            return []
        with closing(conn):
            conn.row_factory = sqlite3.Row
            try:
                rows = conn.execute(sql, [*params, limit]).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"the answer log {self.path} could not be read ({exc})") from None
        return [_record(row) for row in rows]

    def vote(self, record_id: int, vote: int | None) -> bool:
        """Set the vote on one record (+1, -1, or None to clear); False if the record is gone (or the log off)."""
        if not self.enabled:
            return False
        conn = self._open(create=False)
        if conn is None:
            return False
        with closing(conn):
            changed = conn.execute("UPDATE answers SET voted = ? WHERE id = ?", (vote, record_id)).rowcount
        return changed > 0

    def _redact(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, REDACTED)
        return value

    def _open(self, create: bool) -> sqlite3.Connection | None:
        """A connection to a migrated log; None if the file doesn't exist and ``create`` is false."""
        if not self.path.exists():
            if not create:
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"the answer log {self.path} is not a readable SQLite file ({exc}); it was left as it is: "
                "move it aside to start a new log, or set ADVISOR_LOG=off"
            ) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the answer log {self.path} has schema version {version}, newer than this advisor's "
                f"{SCHEMA_VERSION}: upgrade the advisor, or move the file aside"
            )
        if version == SCHEMA_VERSION:
            return
        conn.execute("PRAGMA journal_mode=WAL")  # readers (the Traces page) never block the writers
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _record(row: sqlite3.Row) -> AnswerRecord:
    values = {key: row[key] for key in row.keys()}  # noqa: SIM118 (a Row is not a mapping)
    for name in _JSON_COLUMNS:
        values[name] = json.loads(values[name])
    values["refused"] = bool(values["refused"])
    return AnswerRecord(**values)


# -- Python logging ----------------------------------------------------------------------------------------
class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (tests and Streamlit replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(settings: Settings, level: str | None = None) -> None:
    """Set up Python logging: one stderr handler at ``level`` (a ``--log-level`` flag) or ``ADVISOR_LOG_LEVEL``.

    Safe to call again (the Streamlit app calls it on every rerun): the handler is added once and its level
    updated. It lowers the root logger's level when needed but never raises it, so a handler someone else
    attached at a lower level (a test's debug log) keeps receiving its records.
    """
    name = (level or settings.log_level).upper()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _StderrHandler)), None)
    if handler is None:
        handler = _StderrHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    handler.setLevel(name)
    if root.level > handler.level:  # NOTSET (0) already lets everything through
        root.setLevel(handler.level)
