"""The ``advisor`` command: ask, chat, kb, ui, info.

A thin shell over :class:`advisor.core.Advisor`. Every :class:`AdvisorError` becomes one line on
stderr and a non-zero exit; there are no tracebacks for things a user can fix.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from advisor.errors import AdvisorError, InputError
from advisor.settings import PROJECT_DIR, load_settings


def _print_sources(answer: Any, out: TextIO) -> None:
    if answer.refused or not answer.sources:
        return
    out.write("\nSources:\n")
    for s in answer.sources:
        out.write(f"  [{s.n}] {s.title} — {s.section or '(intro)'} (score {s.score:.3f})\n      {s.snippet}\n")


def _progress(label: str) -> Any:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="item", file=sys.stderr, leave=False)
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar["bar"].close()

    return update


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


def _print_report(report: Any, verbose: bool = False) -> int:
    for note in report.repaired:
        print(f"repaired: {note}", file=sys.stderr)
    for change in report.changes:
        if change.status != "unchanged" or verbose:
            print(f"{change.status:9} {change.doc_id} ({change.chunks} chunks)")
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
    from . import ingest

    match args.kb_command:
        case "add":
            report = advisor.add_paths([Path(p) for p in args.paths], progress=_progress("adding"))
            return _print_report(report, verbose=True)
        case "update":
            return _print_report(advisor.update(progress=_progress("updating")), verbose=args.verbose)
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
            result = advisor.rebuild(progress=_progress("re-embedding"))
            for doc_id in result.dropped:
                print(f"error: dropped {doc_id}: its chunks were missing; add it again", file=sys.stderr)
            print(
                f"rebuilt {result.documents} documents ({result.chunks} chunks) with {result.embed_model} "
                f"into {result.new_collection}; dropped {result.old_collection}"
            )
            return 1 if result.dropped else 0
    raise InputError("unknown kb command")


def cmd_ui(args: argparse.Namespace, advisor: Any) -> int:
    app = PROJECT_DIR / "streamlit_app.py"
    if not app.exists():
        raise InputError(f"the Streamlit app is not found at {app}")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(args.port),
        "--server.address",
        args.host,
        "--browser.gatherUsageStats",
        "false",
        "--server.headless",
        "true",
    ]
    print(f"Advisor UI on http://{args.host}:{args.port}", flush=True)
    return subprocess.call(command, env=os.environ.copy())


def cmd_info(args: argparse.Namespace, advisor: Any) -> int:
    print(json.dumps(advisor.settings.describe(), indent=2))
    return 0


def _eval_settings(args: argparse.Namespace) -> Any:
    """Settings for ``advisor eval``: the environment's, with --provider/--model applied on top."""
    env = dict(os.environ)
    if args.provider:
        env["ADVISOR_PROVIDER"] = args.provider
    if args.model:
        if args.model.endswith(".gguf") or Path(args.model).expanduser().is_file():
            env["ADVISOR_LOCAL_MODEL"] = args.model
            env.setdefault("ADVISOR_PROVIDER", "local")
        else:
            env["ADVISOR_CHAT_MODEL"] = args.model
    return load_settings(env)


def cmd_eval(args: argparse.Namespace, advisor: Any) -> int:
    from . import evals
    from advisor.core import Advisor
    from advisor.evals import report as reports
    from advisor.evals.judge import Judge

    if args.provider or args.model:
        advisor = Advisor(_eval_settings(args))
    suite = evals.load_suite().select(args.category, args.kind, args.case)
    if args.limit:
        suite.cases = suite.cases[: args.limit]
    if not suite.cases:
        raise InputError("no eval cases match --category/--kind")
    out_dir = Path(args.out) if args.out else reports.REPORTS_DIR
    earlier = None
    if args.baseline:
        earlier = reports.load_report(Path(args.baseline))
    elif args.changed:
        previous = reports.reports_in(out_dir)
        if not previous:
            raise InputError(f"--changed needs an earlier report in {out_dir}: run advisor eval once first")
        earlier = reports.load_report(previous[-1])
    judge = None
    if advisor.settings.judge_model and not args.no_judge:
        judge = Judge.from_settings(advisor.settings, args.judge_runs)
    print(f"Evaluating {advisor.settings.provider}:{advisor.settings.chat_model} on {len(suite.cases)} cases ...")
    report = evals.run_suite(advisor, suite, k=args.k, progress=_progress("eval"), judge=judge)
    diff = evals.diff_reports(earlier, report) if earlier is not None else None
    json_path, md_path = reports.write_report(report, out_dir, diff)
    print("\n".join(reports.summary_table(report)))
    summary = report["summary"]
    k = summary["k"]
    hit = summary["metrics"].get(f"hit@{k}", {}).get("rate")
    print(
        f"\nretrieval hit@{k}: {'n/a' if hit is None else f'{100 * hit:.1f}%'}   wall time: {report['wall_time_s']} s"
    )
    if report["judge"]:
        j = report["judge"]
        rate = "n/a" if j["pass_rate"] is None else f"{100 * j['pass_rate']:.1f}%"
        print(f"judge {j['model']}: pass rate {rate} over {j['runs']} runs, {j['unmeasured']} unmeasured")
    if diff is not None:
        print("\n".join(reports.render_diff(diff)) if args.changed or diff["flipped"] else "")
    print(f"report: {md_path}\n        {json_path}")
    status = 0
    if summary["overall"]["errors"]:
        print(
            f"error: {summary['overall']['errors']} case(s) raised errors; the scores are incomplete", file=sys.stderr
        )
        status = 1
    if args.write_baseline:
        baseline = reports.make_baseline(report, os.path.relpath(json_path, PROJECT_DIR))
        reports.BASELINE.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")
        print(f"baseline written: {reports.BASELINE}")
    if args.gate:
        problems = reports.gate(report, reports.load_baseline())
        for problem in problems:
            print(f"gate: {problem}", file=sys.stderr)
        status = status or (1 if problems else 0)
    if args.min_pass is not None:
        floor = args.min_pass / 100 if args.min_pass > 1 else args.min_pass
        rate = summary["overall"]["rate"] or 0.0
        if rate < floor:
            print(f"error: pass rate {100 * rate:.1f}% is below --min-pass {100 * floor:.1f}%", file=sys.stderr)
            status = 1
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="advisor", description="A grounded career advisor for AI roles.")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer one question (streams, then lists sources)")
    ask.add_argument("question", nargs="*")
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--jsonl", action="store_true", help='read {"question", "history"} lines from stdin')
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="interactive chat with memory")
    chat.set_defaults(func=cmd_chat)

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

    ev = sub.add_parser("eval", help="run the eval suite; write a report to evals/reports/")
    ev.add_argument("--provider", choices=["local", "openai"], help="evaluate this provider")
    ev.add_argument("--model", help="chat model name, or a path to a .gguf file")
    ev.add_argument("--category", action="append", choices=["position", "out_of_scope", "adversarial"])
    ev.add_argument("--kind", action="append", help="only these case kinds (direct, paraphrase, follow_up, trap, ...)")
    ev.add_argument("--case", action="append", help="only cases whose id is or starts with this (repeatable)")
    ev.add_argument("--limit", type=int, help="only the first N cases")
    ev.add_argument("--k", type=int, default=3, help="retrieval hit@k (default 3)")
    ev.add_argument("--baseline", metavar="REPORT", help="diff against an earlier report (.json)")
    ev.add_argument("--changed", action="store_true", help="show how answers changed since the latest report")
    ev.add_argument("--min-pass", type=float, help="exit non-zero if the overall pass rate is below this (0-1 or %%)")
    ev.add_argument("--gate", action="store_true", help="exit non-zero if below the committed evals/baseline.json")
    ev.add_argument("--write-baseline", action="store_true", help="make this run the committed baseline")
    ev.add_argument("--judge-runs", type=int, default=3, help="LLM-judge runs per case (ADVISOR_JUDGE_MODEL)")
    ev.add_argument("--no-judge", action="store_true", help="skip the LLM judge even if configured")
    ev.add_argument("--out", help="report folder (default evals/reports)")
    ev.set_defaults(func=cmd_eval)

    info = sub.add_parser("info", help="show the configuration in use")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from advisor.core import Advisor

        settings = load_settings()
        return int(args.func(args, Advisor(settings)))
    except AdvisorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
