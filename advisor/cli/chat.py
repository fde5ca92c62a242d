"""``advisor ask`` and ``advisor chat``: stream answers to the terminal, then list their sources."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from advisor.errors import AdvisorError, InputError


def _print_sources(answer: Any, out: TextIO) -> None:
    if answer.refused or not answer.sources:
        return
    out.write("\nSources:\n")
    for s in answer.sources:
        out.write(f"  [{s.n}] {s.title} — {s.section or '(intro)'} (score {s.score:.3f})\n      {s.snippet}\n")


def cmd_ask(args: argparse.Namespace, advisor: Any) -> int:
    if args.jsonl:
        failures = 0
        for number, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                    raise InputError('each line must be a JSON object with a "question" string')
                result = advisor.ask(item["question"], item.get("history") or []).to_dict()
            except json.JSONDecodeError as exc:
                result, failures = {"error": f"line {number}: not valid JSON ({exc.msg})"}, failures + 1
            except AdvisorError as exc:
                result, failures = {"error": f"line {number}: {exc}"}, failures + 1
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        return 1 if failures else 0
    if not args.question:
        raise InputError('give a question: advisor ask "Which role fits a software engineer?"')
    question = " ".join(args.question)
    if args.json:
        print(json.dumps(advisor.ask(question).to_dict(), ensure_ascii=False, indent=2))
        return 0
    stream = advisor.stream(question)
    for delta in stream:
        sys.stdout.write(delta)
        sys.stdout.flush()
    sys.stdout.write("\n")
    assert stream.answer is not None
    _print_sources(stream.answer, sys.stdout)
    return 0


def cmd_chat(args: argparse.Namespace, advisor: Any) -> int:
    print("Advisor — ask about AI Engineer, ML Engineer and Data Scientist careers. /new starts over, /quit exits.")
    history: list[dict[str, str]] = []
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            print()
            return 0
        if question in ("/quit", "/exit", "quit", "exit"):
            return 0
        if question == "/new":
            history = []
            print("(new conversation)")
            continue
        if not question:
            continue
        sys.stdout.write("advisor> ")
        try:
            stream = advisor.stream(question, history)
            for delta in stream:
                sys.stdout.write(delta)
                sys.stdout.flush()
        except AdvisorError as exc:  # one bad turn must not end the conversation
            print(f"\nerror: {exc}", file=sys.stderr)
            continue
        print()
        assert stream.answer is not None
        _print_sources(stream.answer, sys.stdout)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": stream.answer.text}]
