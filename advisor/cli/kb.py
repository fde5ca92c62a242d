"""``advisor kb ...``: list, add, show, remove, update, verify and rebuild the knowledge base."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from advisor.cli.progress import progress_bar
from advisor.errors import InputError
from advisor.kb import ingest


def _print_report(report: Any, verbose: bool = False) -> int:
    for note in report.repaired:
        print(f"repaired: {note}", file=sys.stderr)
    for change in report.changes:
        if change.status != "unchanged" or verbose:
            found = f"; entities: {', '.join(change.entities)}" if change.entities else ""
            print(f"{change.status:9} {change.doc_id} ({change.chunks} chunks{found})")
    print(
        f"{report.count('added')} added, {report.count('replaced')} replaced, "
        f"{report.count('removed')} removed, {report.count('unchanged')} unchanged"
    )
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if report.errors else 0


def _doc_dict(d: Any, full: bool = False) -> dict[str, Any]:
    out = {"id": d.doc_id, "title": d.title, "chunks": d.chunks, "added": d.added, "hash": d.content_hash}
    out |= {"source": d.source, "origin": d.origin}
    if full:
        out |= {"meta": d.meta, "chunk_ids": d.chunk_ids}
    return out


def cmd_kb(args: argparse.Namespace, advisor: Any) -> int:
    match args.kb_command:
        case "add":
            report = advisor.add_paths([Path(p) for p in args.paths], progress=progress_bar("adding", unit="chunk"))
            return _print_report(report, verbose=True)
        case "update":
            return _print_report(advisor.update(progress=progress_bar("updating", unit="chunk")), verbose=args.verbose)
        case "list":
            docs = advisor.documents()
            if args.json:
                print(json.dumps([_doc_dict(d) for d in docs], indent=2, ensure_ascii=False))
                return 0
            if not docs:
                print("The knowledge base is empty. Add documents with: advisor kb add PATH")
                return 0
            width = max(len(d.doc_id) for d in docs)
            print(f"{'ID':{width}}  CHUNKS  ADDED                      HASH          TITLE")
            for d in docs:
                print(f"{d.doc_id:{width}}  {d.chunks:6}  {d.added:25}  {d.content_hash[:12]}  {d.title}")
            return 0
        case "show":
            doc = ingest.find_document(advisor.kb, args.doc)
            print(json.dumps(_doc_dict(doc, full=True), indent=2, ensure_ascii=False))
            return 0
        case "remove":
            change = ingest.remove_document(advisor.kb, args.doc, embedder=advisor.embedder)
            print(f"removed {change.doc_id} ({change.chunks} chunks)")
            knowledge = str(advisor.settings.knowledge_dir.resolve())
            if change.source.startswith(knowledge + os.sep) and Path(change.source).exists():
                print(f"note: {change.source} is still in the knowledge folder; `advisor kb update` adds it back")
            return 0
        case "verify":
            report = advisor.verify(repair=args.repair)
            if args.json:
                print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
            else:
                for note in report.repaired:
                    print(f"repaired: {note}")
                for problem in report.problems:
                    print(f"problem: {problem}")
                verdict = "OK" if report.ok else "NOT OK (fix with: advisor kb verify --repair)"
                print(f"{report.documents} documents, {report.chunks} chunks: {verdict}")
            return 0 if report.ok else 1
        case "rebuild":
            result = advisor.rebuild(progress=progress_bar("re-embedding", unit="chunk"))
            for doc_id in result.dropped:
                print(f"error: dropped {doc_id}: its chunks were missing; add it again", file=sys.stderr)
            print(
                f"rebuilt {result.documents} documents ({result.chunks} chunks) with {result.embed_model} "
                f"into {result.new_collection}; dropped {result.old_collection}"
            )
            return 1 if result.dropped else 0
    raise InputError("unknown kb command")
