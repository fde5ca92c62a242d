"""``advisor ask`` and ``advisor chat``: stream answers to the terminal, then list their sources.

``advisor chat`` stores each conversation in the chat store (:mod:`advisor.chats`); ``--continue`` and
``--chat ID`` resume one. ``advisor ask`` stores nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from advisor.chats import Chat, ChatStore
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
        raise InputError('give a question: advisor ask "Which role pays the most?"')
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
    """Chat with memory; each conversation is stored (``advisor history``) and can be resumed."""
    store = ChatStore(advisor.settings.chats_path)
    store.check()
    chat = _resumed(store, args)
    print(f"Advisor — ask about {advisor.answerer.scope()}. /new starts over, /quit exits.")
    if chat is not None:
        print(f"(continuing “{chat.title}”: {len(chat.messages) // 2} earlier turn(s), chat {chat.id})")
    elif getattr(args, "resume", False):
        print("(no stored chat yet: starting a new one)")
    chat_id = chat.id if chat else None
    history = chat.history() if chat else []
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            print()
            return _goodbye(chat_id)
        if question in ("/quit", "/exit", "quit", "exit"):
            return _goodbye(chat_id)
        if question == "/new":
            chat_id, history = None, []
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
        try:  # a chat is stored from its first answer on, so an empty one never is
            chat_id = chat_id or store.create().id
            store.append_turn(chat_id, question, stream.answer)
        except AdvisorError as exc:
            print(f"error: this turn was not saved: {exc}", file=sys.stderr)


def _resumed(store: ChatStore, args: argparse.Namespace) -> Chat | None:
    """The chat ``--chat ID`` or ``--continue`` names (an unknown ID is an error), else None."""
    if getattr(args, "chat", None):
        return store.get(args.chat)
    if getattr(args, "resume", False) and (latest := store.latest()):
        return store.get(latest.id)
    return None


def _goodbye(chat_id: str | None) -> int:
    if chat_id:
        print(f"(saved: `advisor chat --chat {chat_id}` resumes it, `advisor history` lists all chats)")
    return 0
