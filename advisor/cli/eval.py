"""``advisor eval``: run the eval suite, write its report, diff and gate it."""

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
from advisor.settings import PROJECT_DIR, load_settings


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
    from advisor import evals
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
    print(f"Evaluating {advisor.settings.provider}:{advisor.settings.chat_model} on {len(suite.cases)} cases ...")
    report = evals.run_suite(advisor, suite, k=args.k, progress=progress_bar("eval"), judge=judge)
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
