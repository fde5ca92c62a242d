"""``advisor eval``: run the eval suites of the documents in the knowledge base, write the report, diff and gate it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from advisor import resources
from advisor.cli.progress import progress_bar
from advisor.errors import InputError
from advisor.evals.suite import CATEGORIES, POSITION_KINDS, Suite, load_suites
from advisor.kb.loaders import doc_id_for
from advisor.settings import PROJECT_DIR, load_settings


def add_parser(sub: Any) -> None:
    """The ``eval`` command, on the ``advisor`` command's subparsers."""
    ev = sub.add_parser("eval", help="run the eval suites; write a report to evals/reports/")
    ev.add_argument("--provider", choices=["local", "openai"], help="evaluate this provider")
    ev.add_argument("--model", help="chat model name, or a path to a .gguf file")
    ev.add_argument(
        "--suite",
        action="append",
        metavar="NAME",
        help="only this document's suite (its doc id; repeatable). Default: the article's and every suite "
        "whose document is in the knowledge base",
    )
    ev.add_argument("--category", action="append", choices=list(CATEGORIES))
    ev.add_argument("--kind", action="append", help=f"only these case kinds ({', '.join(POSITION_KINDS)}, ...)")
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


def _suites(args: argparse.Namespace, advisor: Any) -> Suite:
    """The suites to run: those named by --suite, else the article's and those of the knowledge base's documents."""
    in_kb = [d.doc_id for d in advisor.documents()]
    if not args.suite:
        return load_suites(doc_ids=in_kb)
    every = load_suites()
    known = list(dict.fromkeys([every.article, *every.documents]))
    names = [name if name in known else doc_id_for(name) for name in args.suite]
    unknown = [name for name, wanted in zip(args.suite, names, strict=True) if wanted not in known]
    if unknown:
        raise InputError(f"no eval suite {', '.join(map(repr, unknown))}; the suites are: {', '.join(known)}")
    for name in names:
        if name not in in_kb:
            where = every.documents.get(name)
            print(
                f"note: {name}'s document is not in the knowledge base, so its cases will fail"
                + (f" (advisor kb add {where})" if where else ""),
                file=sys.stderr,
            )
    return every.select(suites=names)


def cmd_eval(args: argparse.Namespace, advisor: Any) -> int:
    from advisor import evals
    from advisor.core import Advisor
    from advisor.evals import baseline as ci
    from advisor.evals import report as reports
    from advisor.evals.judge import Judge

    if args.provider or args.model:
        advisor = Advisor(_eval_settings(args))
    suite = _suites(args, advisor).select(args.category, args.kind, args.case)
    if args.limit:
        suite.cases = suite.cases[: args.limit]
    if not suite.cases:
        raise InputError("no eval cases match --suite/--category/--kind/--case")
    out_dir = Path(args.out) if args.out else reports.reports_dir(advisor.settings)
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
    print(
        f"Evaluating {advisor.settings.provider}:{advisor.settings.chat_model} on {len(suite.cases)} cases "
        f"(suites: {', '.join(suite.suites)}) ..."
    )
    report = evals.run_suite(advisor, suite, k=args.k, progress=progress_bar("eval"), judge=judge)
    diff = evals.diff_reports(earlier, report) if earlier is not None else None
    json_path, md_path = reports.write_report(report, out_dir, diff)
    print("\n".join(reports.summary_table(report)))
    if len(report["summary"]["suites"]) > 1:
        print("\n" + "\n".join(reports.suites_table(report)))
    summary = report["summary"]
    k = summary["k"]
    hit = summary["metrics"].get(f"hit@{k}", {}).get("rate")
    median = summary["answer_length"]["median_words"]
    print(f"\nmetrics: {reports.metrics_line(report)}")
    print(
        f"retrieval hit@{k}: {reports.pct(hit)}   median answer: {'n/a' if median is None else f'{median:g} words'}"
        f"   wall time: {report['wall_time_s']} s"
    )
    if report["judge"]:
        j = report["judge"]
        judged = "n/a" if j["pass_rate"] is None else f"{100 * j['pass_rate']:.1f}%"
        print(f"judge {j['model']}: pass rate {judged} over {j['runs']} runs, {j['unmeasured']} unmeasured")
    if diff is not None:
        print("\n".join(reports.render_diff(diff)) if args.changed or diff["flipped"] else "")
    print(f"report: {md_path}\n        {json_path}")
    status = 0
    if summary["overall"]["errors"]:
        print(
            f"error: {summary['overall']['errors']} case(s) raised errors; the scores are incomplete", file=sys.stderr
        )
        status = 1
    if args.write_baseline and resources.checkout_dir() is None:
        raise InputError("--write-baseline updates evals/baseline.json in a source checkout; run it from one")
    if args.write_baseline:
        baseline = ci.make_baseline(report, os.path.relpath(json_path, PROJECT_DIR))
        ci.BASELINE.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")
        print(f"baseline written: {ci.BASELINE}")
    if args.gate:
        baseline = ci.load_baseline()
        problems = ci.gate(report, baseline)
        for note in ci.not_gated(report, baseline):
            print(f"gate: not in the baseline yet, reported only: {note}")
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
