"""Concurrent users: N chat sessions in N threads sharing one ``Advisor`` (one store, one set of models)
while a knowledge-base update runs.

Each session is one user with its own history: it asks about its role, then follow-ups that only
make sense with that history ("How much do they earn?"). Every answer is checked for cross-talk: it
must answer this session's question; a per-session tag rides on every question and must survive into
the rewritten question, and no other session's tag may appear anywhere in the answer; a follow-up may
only be rewritten with roles this session's own conversation mentions. Follow-ups rewritten with
another role than the session's own (a memory-quality matter, not cross-talk) are counted separately.
Meanwhile an updater adds, changes and removes a document in the knowledge folder (``Advisor.update()``).

Reports throughput, p50/p95 latency per turn, errors (must be 0), cross-talk (must be 0) and how long
the updates took. Loopback only: ``--provider local`` (default) is the embedded default and uses no
network; ``--provider fake`` answers through the scripted OpenAI-protocol server of the tests on
127.0.0.1 (generative mode), which exercises concurrent HTTP streams. Bounded: ``--sessions`` x
``--turns`` questions, and no new question starts after ``--max-seconds``.

    python benchmarks/load_test.py --sessions 8 --turns 3
    python benchmarks/load_test.py --provider fake --sessions 16
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TAG = re.compile(r"\(session \d{3}\)")
ROLES = ["AI Engineer", "ML Engineer", "Data Scientist"]
FIRST = {
    "AI Engineer": "What does an AI engineer do day to day?",
    "ML Engineer": "What does an ML engineer do day to day?",
    "Data Scientist": "What does a data scientist do day to day?",
}
FOLLOW_UPS = ["How much do they earn?", "What do their interviews emphasize?", "Which background fits them?"]
UPDATE_DOC = """---
title: Load test note
---
# Career switching notes

Switching between AI engineering and ML engineering is common; revision {n} of this note.
"""


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cross_talk: list[str] = field(default_factory=list)
    role_mismatch: list[str] = field(default_factory=list)
    turns: int = 0
    updates: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def session(advisor: Any, number: int, turns: int, deadline: float, result: Result) -> None:
    roles_in = advisor.catalog().find  # the roles the knowledge base's documents compare

    role = ROLES[number % len(ROLES)]
    tag = f"(session {number:03d})"
    history: list[dict[str, str]] = []
    # The tag rides on every question, so a mixed-up history or answer would carry another session's tag.
    questions = [f"{q} {tag}" for q in [FIRST[role], *FOLLOW_UPS][:turns]]
    for turn, question in enumerate(questions):
        if time.monotonic() > deadline:
            return
        started = time.perf_counter()
        try:
            stream = advisor.stream(question, list(history))
            text = "".join(stream)
            answer = stream.answer
        except Exception:  # counted and reported: the run fails on any error
            with result.lock:
                result.errors.append(f"session {number} turn {turn}: {traceback.format_exc(limit=3)}")
            return
        elapsed = time.perf_counter() - started
        if answer is None:
            with result.lock:
                result.errors.append(f"session {number} turn {turn}: the stream ended without an answer")
            return
        problems = []
        if answer.question != question or text.strip() != answer.text.strip():
            problems.append("the answer is not to this session's question")
        elif tag not in answer.standalone_question:
            problems.append(f"the session tag is missing from {answer.standalone_question!r}")
        own = "\n".join([question, *(m["content"] for m in history)])
        if turn > 0 and not set(roles_in(answer.standalone_question)) <= set(roles_in(own)):
            problems.append(f"follow-up rewritten as {answer.standalone_question!r}: a role this session never saw")
        if turn > 0 and roles_in(answer.standalone_question) != [role]:
            # Not cross-talk (the role is in this session's own history), but worth reporting: the
            # rule-based rewrite took a role from the previous answer rather than from the user's question.
            with result.lock:
                result.role_mismatch.append(f"session {number} turn {turn}: {answer.standalone_question!r} ({role})")
        seen = set(TAG.findall(f"{answer.question}\n{answer.standalone_question}\n{answer.text}"))
        if seen - {tag}:
            problems.append(f"another session's tag: {sorted(seen - {tag})}")
        with result.lock:
            result.latencies.append(elapsed)
            result.turns += 1
            result.cross_talk.extend(f"session {number} turn {turn}: {p}" for p in problems)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def updater(advisor: Any, knowledge: Path, stop: threading.Event, result: Result, rounds: int = 3) -> None:
    """Add, change, then remove a document in the knowledge folder, each followed by ``update()``."""
    doc = knowledge / "load-test-note.md"
    for n in range(rounds):
        if stop.is_set():
            break
        if n < rounds - 1:
            doc.write_text(UPDATE_DOC.format(n=n), encoding="utf-8")
        else:
            doc.unlink(missing_ok=True)
        started = time.perf_counter()
        try:
            report = advisor.update()
            if report.errors:
                raise RuntimeError(report.errors)
        except Exception:
            with result.lock:
                result.errors.append(f"update {n}: {traceback.format_exc(limit=3)}")
            return
        with result.lock:
            result.updates.append(time.perf_counter() - started)
        stop.wait(0.5)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def run_load(
    sessions: int = 8,
    turns: int = 3,
    max_seconds: float = 300.0,
    provider: str = "local",
    update: bool = True,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Run the load test; returns the figures (see the module docstring)."""
    from advisor.core import Advisor
    from advisor.settings import load_settings

    own_dir = workdir is None
    work = Path(tempfile.mkdtemp(prefix="advisor-load-")) if workdir is None else workdir
    knowledge = work / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge, dirs_exist_ok=True)
    env = {"ADVISOR_DATA_DIR": str(work / "data"), "ADVISOR_KNOWLEDGE_DIR": str(knowledge), "ADVISOR_PROVIDER": "local"}
    fake = None
    if provider == "fake":
        from tests.fake_openai import FakeOpenAI, reply

        fake = FakeOpenAI().start()
        fake.script(reply(lambda body: "These roles are covered in the sources [1]. Each path differs in focus [1]."))
        env.update(
            ADVISOR_PROVIDER="openai",
            ADVISOR_OPENAI_BASE_URL=fake.url,
            OPENAI_API_KEY="sk-load-test",
            ADVISOR_ANSWER_MODE="generative",
        )
    try:
        advisor = Advisor(load_settings(env))
        t0 = time.perf_counter()
        advisor.warm_up()
        warm_s = time.perf_counter() - t0
        result = Result()
        stop = threading.Event()
        deadline = time.monotonic() + max_seconds
        threads = [
            threading.Thread(target=session, args=(advisor, n, turns, deadline, result), name=f"session-{n}")
            for n in range(sessions)
        ]
        if update:
            threads.append(threading.Thread(target=updater, args=(advisor, knowledge, stop, result), name="updater"))
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()) + 120)
        wall = time.perf_counter() - started
        stop.set()
        hung = [t.name for t in threads if t.is_alive()]
        if hung:
            result.errors.append(f"threads still running after the time bound: {hung}")
        return {
            "provider": provider,
            "answer_mode": advisor.settings.effective_answer_mode,
            "sessions": sessions,
            "turns_per_session": turns,
            "turns_done": result.turns,
            "turns_planned": sessions * turns,
            "wall_s": round(wall, 2),
            "warm_up_s": round(warm_s, 2),
            "throughput_turns_per_s": round(result.turns / wall, 3) if wall else 0.0,
            "latency_p50_s": round(percentile(result.latencies, 0.50), 3),
            "latency_p95_s": round(percentile(result.latencies, 0.95), 3),
            "latency_max_s": round(max(result.latencies, default=float("nan")), 3),
            "kb_updates": len(result.updates),
            "kb_update_s": [round(u, 2) for u in result.updates],
            "errors": len(result.errors),
            "error_details": result.errors[:5],
            "cross_talk": len(result.cross_talk),
            "cross_talk_details": result.cross_talk[:5],
            "follow_up_role_mismatch": len(result.role_mismatch),
            "follow_up_role_mismatch_details": result.role_mismatch[:5],
            "chunks_after": advisor.retriever.chunk_count,
        }
    finally:
        if fake is not None:
            fake.stop()
        if own_dir:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--turns", type=int, default=3, choices=range(1, 5))
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--provider", choices=["local", "fake"], default="local")
    parser.add_argument("--no-update", action="store_true", help="no knowledge-base update during the run")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 64:
        parser.error("--sessions must be 1-64")
    figures = run_load(args.sessions, args.turns, args.max_seconds, args.provider, not args.no_update)
    print(json.dumps(figures, indent=1))
    print(
        f"\n{figures['sessions']} sessions x {figures['turns_per_session']} turns ({figures['provider']}, "
        f"{figures['answer_mode']}): {figures['turns_done']}/{figures['turns_planned']} turns in {figures['wall_s']} s, "
        f"{figures['throughput_turns_per_s']} turns/s, p50 {figures['latency_p50_s']} s, p95 {figures['latency_p95_s']} s; "
        f"{figures['kb_updates']} KB updates during the run; errors {figures['errors']}, cross-talk {figures['cross_talk']}"
    )
    ok = figures["errors"] == 0 and figures["cross_talk"] == 0 and figures["turns_done"] == figures["turns_planned"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
