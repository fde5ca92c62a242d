"""``advisor log``: the newest answer-log records, a readable block each (or ``--json``).

A block shows when, what was asked (and its standalone rewrite), whether it was refused and why, the model
and its tokens, the time of each step, the retrieved chunks with their dense, BM25 and fused scores, the
quotes chosen and the sources cited. It reads the log only: no model is loaded, no file is created.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from advisor.answer_log import STEPS, AnswerRecord

TOP_CHUNKS = 5  # the chunks an answer is built from are among the first few; more is noise in a terminal
QUOTE_CHARS = 200
CHUNK_ID_CHARS = 12  # of the chunk's hash: enough to find it in `advisor log --json` or the knowledge base


def cmd_log(args: argparse.Namespace, advisor: Any) -> int:
    records = advisor.answer_log.recent(args.last)
    if args.json:
        print(json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2))
        return 0
    if not records:
        off = " (the log is off: ADVISOR_LOG=off)" if not advisor.answer_log.enabled else ""
        print(f"No answers recorded in {advisor.answer_log.path}{off}.")
        return 0
    for i, record in enumerate(records):
        if i:
            sys.stdout.write("\n")
        write_record(record, sys.stdout)
    return 0


def steps_line(record: AnswerRecord) -> str:
    """``embed 12 ms · retrieve 8 ms · ... · total 0.84 s``: the steps in the order they run."""
    names = [s for s in STEPS if s in record.steps] + [s for s in record.steps if s not in STEPS]
    parts = [f"{name} {_duration(record.steps[name])}" for name in names]
    return " · ".join([*parts, f"total {_duration(record.total_s)}"])


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def write_record(record: AnswerRecord, out: TextIO) -> None:
    when = datetime.fromtimestamp(record.created).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    status = "" if record.status == "ok" else f"  [{record.status.upper()}]"
    out.write(f"#{record.id}  {when}  {record.mode or '-'} · {record.model or '-'}{status}\n")
    out.write(f"  question:   {_one_line(record.question, 200)}\n")
    if record.standalone_question and record.standalone_question != record.question:
        out.write(f"  standalone: {_one_line(record.standalone_question, 200)}\n")
    refused = f"yes ({record.reason})" if record.refused else "no"
    out.write(f"  refused:    {refused}\n")
    if record.error:
        out.write(f"  error:      {record.error}\n")
    out.write(
        f"  tokens:     {record.total_tokens} ({record.prompt_tokens} prompt + {record.completion_tokens} completion)\n"
    )
    out.write(f"  steps:      {steps_line(record)}\n")
    if record.hits:
        out.write(f"  {'chunks:':<10}{'dense':>7} {'BM25':>7} {'fused':>7}  section [chunk]\n")
        for hit in record.hits[:TOP_CHUNKS]:
            # A chunk id is "<doc id>:<hash>"; the hash tells the chunks of one document apart.
            chunk = str(hit["chunk_id"]).rsplit(":", 1)[-1][:CHUNK_ID_CHARS]
            where = f"{_one_line(hit['section'] or '(intro)', 60)} [{chunk}]"
            rank = f"{hit['rank']}."
            out.write(f"  {rank:>4}{'':6}{hit['dense']:>7.3f} {hit['bm25']:>7.2f} {hit['fused']:>7.4f}  {where}\n")
    for quote in record.quotes:
        out.write(f'  quote [{quote["n"]}]:  "{_one_line(quote["text"], QUOTE_CHARS)}"\n')
    if record.sources:
        cited = ", ".join(f"[{s['n']}] {_one_line(s['section'] or '(intro)', 60)}" for s in record.sources)
        out.write(f"  cited:      {cited}\n")
