"""The answer log: one record per answer from every entry point, on the real embedded models.

Each answer test runs on a copy of the shared, already indexed data dir (so a record count is this test's
own), with the shared models. The store's own rules (retention, ``ADVISOR_LOG=off``, a corrupt or newer
file, keys blanked, votes) and the logging setup are checked without a model.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.answer_log import STEPS, AnswerLog, Trace, configure_logging
from advisor.answering.guard import figures
from advisor.cli import main
from advisor.core import Advisor
from advisor.errors import AuthenticationError, StoreError
from advisor.settings import PROJECT_DIR, Settings, load_settings
from tests.conftest import advisor_env, make_settings, use_env
from tests.fake_openai import serve, status

PAY = "What's the mid-level pay range for ML engineers?"
OFF_TOPIC = "What's a good lasagna recipe?"
KEY = "sk-answerlog-canary-0123456789abcdef"


def indexed_copy(advisor: Advisor, tmp: Path) -> Path:
    """``tmp/data``: the shared advisor's indexed article, without its answer log or chats (they are its own)."""
    data = tmp / "data"
    shutil.copytree(advisor.settings.data_dir, data, ignore=shutil.ignore_patterns("answer_log*", "chats*"))
    return data


@pytest.fixture
def logged(tmp_path: Path, advisor: Advisor) -> Advisor:
    """An advisor with an empty answer log of its own, over the indexed article, sharing the session's models."""
    indexed_copy(advisor, tmp_path)
    return Advisor(make_settings(tmp_path), embedder=advisor.embedder, chat=advisor.chat)


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """The root logger, restored afterwards (configure_logging changes process-wide state)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def run_cli(args: list[str], data: Path, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "advisor.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=advisor_env(data, **env),
        cwd=PROJECT_DIR,
        timeout=600,
    )


def log_settings(tmp: Path, **env: str) -> Settings:
    return load_settings(advisor_env(tmp / "data", **env))


# -- one record per answer ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_an_answer_writes_exactly_one_record_with_every_field(logged: Advisor) -> None:
    answer = logged.ask(PAY)
    [record] = logged.answer_log.recent(10)
    assert record.id == answer.trace.record_id == answer.to_dict()["log_id"]  # what votes elsewhere join on
    assert (record.question, record.standalone_question) == (PAY, answer.standalone_question)
    assert (record.status, record.refused, record.mode, record.model) == ("ok", False, "grounded", logged.chat.name)
    assert record.plan["mode"] == "grounded" and record.plan["in_scope"] is True and record.plan["refused"] is False
    usage = answer.usage
    assert (record.prompt_tokens, record.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)
    assert record.prompt_tokens == record.completion_tokens == 0  # grounded: composed without the model
    # Every step the grounded path runs, in order (it plans the answer; it never asks the model).
    assert list(record.steps) == ["rewrite", "embed", "retrieve", "plan", "select"]
    assert set(record.steps) == set(STEPS) - {"model"}
    assert all(seconds > 0 for seconds in record.steps.values())
    assert sum(record.steps.values()) <= record.total_s == pytest.approx(answer.latency_s, abs=1e-3)
    assert len(record.hits) == logged.settings.top_k
    assert [h["rank"] for h in record.hits] == list(range(1, len(record.hits) + 1))  # in the retrieval's order
    # ... which is the fusion's, but for a document's own chunks reordered among its places (RERANK_DEPTH): the
    # documents come in the order of their fused scores
    by_fused = sorted(record.hits, key=lambda h: -h["fused"])
    assert [h["doc_id"] for h in record.hits] == [h["doc_id"] for h in by_fused]
    assert all({"dense", "bm25", "fused", "chunk_id", "title", "section", "preview"} <= set(h) for h in record.hits)
    assert record.hits[0]["dense"] > 0 and record.hits[0]["bm25"] > 0  # both rankings found the best chunk
    for source in answer.sources:  # a cited source is the hit of its number, with its fused score
        hit = record.hits[source.n - 1]
        assert (hit["chunk_id"], hit["fused"]) == (source.chunk_id, round(source.score, 5))
    assert record.sources == [
        {"n": s.n, "chunk_id": s.chunk_id, "title": s.title, "section": s.section} for s in answer.sources
    ]
    # Grounded mode: the answer is composed from the quotes chosen, so every figure in it is in one of them.
    assert record.quotes and figures(record.answer) <= figures(" ".join(q["text"] for q in record.quotes))
    assert any("$200K–$380K" in q["text"] for q in record.quotes)
    assert record.answer == answer.text


@pytest.mark.slow
def test_a_streamed_answer_is_logged_once_when_the_stream_ends(logged: Advisor) -> None:
    stream = logged.stream(PAY)
    pieces = iter(stream)
    first = next(pieces)
    assert logged.answer_log.recent(10) == []  # not before the answer is complete
    text = first + "".join(pieces)
    [record] = logged.answer_log.recent(10)
    assert stream.answer is not None and stream.answer.trace.record_id == record.id
    assert record.status == "ok" and record.answer == text == stream.answer.text


@pytest.mark.slow
def test_a_refused_answer_is_logged_with_why_and_the_scores_that_kept_it_out(logged: Advisor) -> None:
    answer = logged.ask(OFF_TOPIC)
    assert answer.refused
    [record] = logged.answer_log.recent(10)
    assert (record.refused, record.reason, record.status) == (True, "out_of_scope", "ok")
    assert record.plan["in_scope"] is False and record.plan["reason"] == "out_of_scope"
    assert record.plan["best_dense"] < logged.settings.relevance_threshold
    assert record.hits and max(h["dense"] for h in record.hits) == record.plan["best_dense"]
    assert {"embed", "retrieve"} <= set(record.steps) and "model" not in record.steps
    assert record.quotes == [] and record.sources == []
    assert record.answer == answer.text


@pytest.mark.slow
def test_a_follow_up_is_logged_with_its_standalone_rewrite(logged: Advisor) -> None:
    history = [{"role": "user", "content": PAY}, {"role": "assistant", "content": "ML Engineer $200K–$380K [1]."}]
    logged.ask("What about data scientists?", history)
    [record] = logged.answer_log.recent(10)
    assert record.question == "What about data scientists?"
    assert "data scientist" in record.standalone_question.lower() and "pay" in record.standalone_question.lower()


@pytest.mark.slow
def test_an_abandoned_stream_is_logged_once_and_marked_abandoned(logged: Advisor) -> None:
    pieces = iter(logged.stream(PAY))
    first = next(pieces)
    pieces.close()  # type: ignore[attr-defined]  # the reader walks away (a closed tab, a dropped client)
    [record] = logged.answer_log.recent(10)
    assert record.status == "abandoned" and record.answer == first
    assert record.question == PAY and record.hits and record.quotes


@pytest.mark.slow
def test_a_failed_stream_is_logged_once_with_its_error(tmp_path: Path, advisor: Advisor) -> None:
    indexed_copy(advisor, tmp_path)
    with serve() as server:
        settings = make_settings(
            tmp_path,
            provider="openai",
            openai_base_url=server.url,
            openai_api_key=KEY,
            chat_model="answerlog-model",
            answer_mode="generative",  # the grounded answer never asks the model, so only this one can fail
            max_retries=0,
        )
        failing = Advisor(settings, embedder=advisor.embedder)
        server.script(status(401))
        with pytest.raises(AuthenticationError):
            failing.ask(PAY)
    [record] = failing.answer_log.recent(10)
    assert record.status == "failed" and record.error.startswith("AuthenticationError: ")
    assert record.model == "answerlog-model" and record.hits and record.quotes
    assert record.answer == ""  # nothing was shown: the model failed before its first sentence
    assert "model" in record.steps
    assert KEY.encode() not in settings.answer_log_path.read_bytes()


@pytest.mark.slow
def test_every_cli_answer_is_logged_and_advisor_log_json_prints_the_two_newest(
    tmp_path: Path, advisor: Advisor
) -> None:
    data = indexed_copy(advisor, tmp_path)
    asked = run_cli(["ask", PAY], data)
    assert asked.returncode == 0, asked.stderr
    assert len(AnswerLog(log_settings(tmp_path)).recent(10)) == 1
    lines = "\n".join(json.dumps({"question": q}) for q in ("What do data science interviews emphasize?", OFF_TOPIC))
    batch = run_cli(["ask", "--jsonl"], data, stdin=lines + "\n")
    assert batch.returncode == 0, batch.stderr

    listed = run_cli(["log", "--json", "--last", "2"], data)
    assert listed.returncode == 0, listed.stderr
    newest = json.loads(listed.stdout)
    assert [r["question"] for r in newest] == [OFF_TOPIC, "What do data science interviews emphasize?"]
    assert newest[0]["id"] > newest[1]["id"] and [r["refused"] for r in newest] == [True, False]
    assert {"steps", "hits", "quotes", "sources", "plan", "total_tokens"} <= set(newest[1])

    shown = run_cli(["log", "--last", "3"], data)
    assert shown.returncode == 0, shown.stderr
    blocks = shown.stdout.split("\n\n")
    assert len(blocks) == 3 and PAY in blocks[2]
    assert "refused:    yes (out_of_scope)" in blocks[0] and "refused:    no" in blocks[2]
    assert "dense    BM25   fused  section [chunk]" in blocks[2] and "steps:      rewrite" in blocks[2]
    assert re.search(r"^ +1\. +0\.\d{3} +\d+\.\d{2} +0\.\d{4}  \S", blocks[2], re.M)  # the top chunk's three scores
    assert '  quote [1]:  "' in blocks[2] and "  cited:      [1] " in blocks[2]


# -- the store --------------------------------------------------------------------------------------------------
def test_retention_keeps_only_the_newest_records(tmp_path: Path) -> None:
    answer_log = AnswerLog(log_settings(tmp_path, ADVISOR_LOG_MAX_RECORDS="10"))
    ids = [answer_log.record(Trace(question=f"question {i}")) for i in range(13)]
    kept = answer_log.recent(100)
    assert [r.id for r in kept] == ids[:2:-1]  # the 10 newest, newest first
    assert [r.question for r in kept][-1] == "question 3"


@pytest.mark.slow
def test_with_the_log_off_nothing_is_written_and_no_file_is_created(
    tmp_path: Path, advisor: Advisor, capsys: pytest.CaptureFixture[str]
) -> None:
    data = indexed_copy(advisor, tmp_path)
    quiet = Advisor(log_settings(tmp_path, ADVISOR_LOG="off"), embedder=advisor.embedder, chat=advisor.chat)
    assert quiet.ask(PAY).trace.record_id is None
    assert quiet.ask(OFF_TOPIC).refused
    pieces = iter(quiet.stream(PAY))
    next(pieces)
    pieces.close()  # type: ignore[attr-defined]
    with use_env(advisor_env(data, ADVISOR_LOG="off")):
        assert main(["log"]) == 0
    assert "the log is off" in capsys.readouterr().out
    assert sorted(p.name for p in data.glob("answer_log*")) == []


def test_a_corrupt_log_is_reported_clearly_and_left_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    settings = log_settings(tmp_path)
    settings.answer_log_path.parent.mkdir(parents=True)
    garbage = b"this is not a database, it is someone's notes\n" * 50
    settings.answer_log_path.write_bytes(garbage)
    with use_env(advisor_env(tmp_path / "data")):
        assert main(["log"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: the answer log {settings.answer_log_path} is not a readable SQLite file")
    assert "move it aside" in err and len(err.strip().splitlines()) == 1
    # Writing: the answer stands, the failure is logged as an error, the file is untouched.
    with caplog.at_level(logging.ERROR, logger="advisor.answer_log"):
        assert AnswerLog(settings).record(Trace(question="q")) is None
    assert "answer not logged" in caplog.text and "not a readable SQLite file" in caplog.text
    assert settings.answer_log_path.read_bytes() == garbage
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["answer_log.sqlite3"]


def test_a_log_written_by_a_newer_advisor_is_refused_not_rewritten(tmp_path: Path) -> None:
    settings = log_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    with sqlite3.connect(settings.answer_log_path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = settings.answer_log_path.read_bytes()
    with pytest.raises(StoreError, match="schema version 99, newer than this advisor's 1"):
        AnswerLog(settings).recent()
    assert AnswerLog(settings).record(Trace(question="q")) is None
    assert settings.answer_log_path.read_bytes() == before


def test_a_configured_key_in_a_question_or_an_error_is_blanked(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, openai_api_key=KEY)
    answer_log = AnswerLog(settings)
    answer_log.record(Trace(question=f"my key is {KEY}, is it safe?"), status="failed", error=f"bad key {KEY}")
    [record] = answer_log.recent()
    assert record.question == "my key is [redacted], is it safe?" and record.error == "bad key [redacted]"
    assert [p.name for p in settings.data_dir.glob("answer_log*")] == ["answer_log.sqlite3"]  # no WAL left behind
    assert KEY.encode() not in settings.answer_log_path.read_bytes()


def test_a_vote_fills_the_voted_column_and_the_voted_down_filter_finds_it(tmp_path: Path) -> None:
    answer_log = AnswerLog(log_settings(tmp_path))
    first, second, third = (answer_log.record(Trace(question=f"q{i}")) for i in range(3))
    assert first is not None and second is not None and third is not None
    assert answer_log.vote(second, -1) and answer_log.vote(third, 1)
    assert [r.id for r in answer_log.recent(voted_down=True)] == [second]
    assert [r.voted for r in answer_log.recent()] == [1, -1, None]
    assert not answer_log.vote(12345, -1)  # no such record


# -- Python logging ----------------------------------------------------------------------------------------------
def test_the_log_level_flag_wins_over_advisor_log_level_and_one_handler_is_kept(
    tmp_path: Path, root_logging: logging.Logger
) -> None:
    def ours() -> list[logging.Handler]:
        return [h for h in root_logging.handlers if type(h).__name__ == "_StderrHandler"]

    with use_env(advisor_env(tmp_path / "data", ADVISOR_LOG_LEVEL="error")):
        assert main(["--log-level", "debug", "log"]) == 0
        assert [h.level for h in ours()] == [logging.DEBUG]
        assert root_logging.level == logging.DEBUG
        assert main(["log"]) == 0
        assert [h.level for h in ours()] == [logging.ERROR]  # configured again, not added again
    configure_logging(log_settings(tmp_path), "info")
    assert [h.level for h in ours()] == [logging.INFO]
