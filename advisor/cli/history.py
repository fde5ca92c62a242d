"""``advisor history``: the stored chats (list, show, export, import, delete), from :mod:`advisor.chats`.

``advisor chat`` stores each conversation; these commands read and manage them without loading a model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from advisor.chats import ChatStore
from advisor.errors import InputError
from advisor.fileio import atomic_write


def add_parser(sub: Any) -> None:
    """The ``history`` command group, on the ``advisor`` command's subparsers."""
    history = sub.add_parser("history", help="stored chats: list, show, export, import, delete")
    commands = history.add_subparsers(dest="history_command", required=True)
    listing = commands.add_parser("list", help="the stored chats, the most recent first")
    listing.add_argument("--json", action="store_true", help="print one JSON array")
    commands.add_parser("show", help="print one chat, each answer with its sources").add_argument("id")
    export = commands.add_parser("export", help="one chat as Markdown or JSON (sources included)")
    export.add_argument("id")
    export.add_argument("--format", choices=["md", "json"], default="md")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    commands.add_parser("import", help="store a chat from its JSON export").add_argument("file")
    commands.add_parser("delete", help="delete one chat from disk").add_argument("id")
    history.set_defaults(func=cmd_history)


def cmd_history(args: argparse.Namespace, advisor: Any) -> int:
    store = ChatStore(advisor.settings.chats_path)
    match args.history_command:
        case "list":
            chats = store.chats()
            if args.json:
                print(json.dumps([asdict(c) for c in chats], ensure_ascii=False, indent=2))
            elif not chats:
                print("No stored chats yet: `advisor chat` stores each conversation.")
            else:
                print(f"{'ID':<10}  {'UPDATED (UTC)':<16}  {'TURNS':>5}  TITLE")
                for c in chats:
                    print(f"{c.id:<10}  {c.updated[:16].replace('T', ' '):<16}  {c.turns:>5}  {c.title}")
        case "show":
            sys.stdout.write(store.export_markdown(args.id))
        case "export":
            text = store.export_json(args.id) if args.format == "json" else store.export_markdown(args.id)
            if args.output:
                atomic_write(Path(args.output), text)
                print(f"wrote {args.output}", file=sys.stderr)
            else:
                sys.stdout.write(text)
        case "import":
            try:
                data = Path(args.file).read_bytes()
            except OSError as exc:
                raise InputError(f"can't read {args.file}: {exc.strerror}") from None
            chat = store.import_json(data)
            print(f"imported {chat.id}: {chat.title} ({len(chat.messages) // 2} turns)")
        case "delete":
            title = store.get(args.id).title
            store.delete(args.id)
            print(f"deleted {args.id}: {title}")
    return 0
