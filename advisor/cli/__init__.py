"""The ``advisor`` command: ask, chat, history, kb, ui, info, eval, serve, log.

A thin shell over :class:`advisor.core.Advisor`, one module per command group. Every :class:`AdvisorError`
becomes one line on stderr and a non-zero exit; there are no tracebacks for things a user can fix.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from advisor.answer_log import configure_logging
from advisor.cli.chat import cmd_ask, cmd_chat
from advisor.cli.eval import add_parser as add_eval_parser
from advisor.cli.history import add_parser as add_history_parser
from advisor.cli.kb import cmd_kb
from advisor.cli.log import cmd_log
from advisor.cli.serve import cmd_serve
from advisor.cli.ui import cmd_info, cmd_ui
from advisor.errors import AdvisorError
from advisor.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="advisor", description="A grounded career advisor for AI roles.")
    parser.add_argument(  # its own dest: `serve --log-level` (uvicorn's) would overwrite a shared one
        "--log-level",
        dest="python_log_level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Python logging to stderr (default: ADVISOR_LOG_LEVEL, else WARNING)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer one question (streams, then lists sources)")
    ask.add_argument("question", nargs="*")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true", help='read {"question", "history"} lines from stdin')
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="interactive chat with memory; each conversation is stored")
    resume = chat.add_mutually_exclusive_group()
    resume.add_argument("--continue", dest="resume", action="store_true", help="resume the most recent chat")
    resume.add_argument("--chat", metavar="ID", help="resume this chat (advisor history list)")
    chat.set_defaults(func=cmd_chat)
    add_history_parser(sub)

    kb = sub.add_parser("kb", help="manage the knowledge base")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    add = kb_sub.add_parser("add", help="add files or folders (.md .txt .html .pdf)")
    add.add_argument("paths", nargs="+")
    update = kb_sub.add_parser("update", help="re-ingest what changed in the knowledge folder")
    update.add_argument("-v", "--verbose", action="store_true")
    listing = kb_sub.add_parser("list", help="list documents")
    listing.add_argument("--json", action="store_true")
    show = kb_sub.add_parser("show", help="show one document (by ID, path or file name)")
    show.add_argument("doc")
    remove = kb_sub.add_parser("remove", help="remove one document (by ID, path or file name)")
    remove.add_argument("doc")
    verify = kb_sub.add_parser("verify", help="check that manifest, Chroma and BM25 agree (exit 1 if not)")
    verify.add_argument("--repair", action="store_true", help="fix stray or missing chunks, then check again")
    verify.add_argument("--json", action="store_true")
    kb_sub.add_parser("rebuild", help="re-embed everything into a new collection, then switch to it")
    kb.set_defaults(func=cmd_kb)

    ui = sub.add_parser("ui", help="start the Streamlit chat UI")
    ui.add_argument("--port", type=int, default=8501)
    ui.add_argument("--host", default="127.0.0.1")
    ui.set_defaults(func=cmd_ui)

    add_eval_parser(sub)

    serve = sub.add_parser("serve", help="serve the OpenAI-compatible API (POST /v1/chat/completions)")
    serve.add_argument("--host", default="127.0.0.1", help="beyond loopback, ADVISOR_API_KEYS must be set")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], help="uvicorn's")
    serve.set_defaults(func=cmd_serve)

    info = sub.add_parser("info", help="show the configuration in use")
    info.set_defaults(func=cmd_info)

    answer_log = sub.add_parser("log", help="show the newest answer-log records (timings, chunks, scores)")
    answer_log.add_argument("--last", type=int, default=10, metavar="N", help="how many (default 10)")
    answer_log.add_argument("--json", action="store_true", help="print a JSON list, newest first")
    answer_log.set_defaults(func=cmd_log)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from advisor.core import Advisor

        settings = load_settings()
        configure_logging(settings, args.python_log_level)
        return int(args.func(args, Advisor(settings)))
    except AdvisorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
