"""The CI gate: a report compared with the committed baseline ``evals/baseline.json``.

- ``make_baseline``: the rates of a reference run: per category, per position kind, per suite (and its
  categories), retrieval hit@k, and the median answer length (recorded, not gated).
- ``gate``: any category, kind or suite below its baseline rate fails. Like is compared with like: rates are
  counted over the kinds and suites the baseline measured, so a new kind or a document added since does not
  move them; ``not_gated`` lists those with their rates (reported, not gated). A suite the baseline has but
  the run lacks (its document is not in the knowledge base) fails.
It deliberately never writes the baseline: ``advisor eval --write-baseline`` does, in a checkout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from advisor import resources
from advisor.errors import ConfigError
from advisor.evals.report import count, pct
from advisor.evals.runner import tally
from advisor.evals.suite import CATEGORIES

BASELINE = resources.evals_dir() / "baseline.json"
# A baseline that lists no kinds and suites was written before reports had them: it measured these kinds,
# on the article's suite alone.
LEGACY_GROUPS = ("position/direct", "position/paraphrase", "position/follow_up", "position/trap")


def make_baseline(report: dict[str, Any], report_path: str) -> dict[str, Any]:
    s = report["summary"]
    k = s["k"]
    return {
        "report": report_path,
        "created": report["created"],
        "provider": report["provider"],
        "model": report["model"],
        "suite_digest": report["suite"]["digest"],
        "rates": {name: s["categories"].get(name, {}).get("rate") for name in CATEGORIES},
        "groups": {g: row["rate"] for g, row in s["groups"].items() if g.startswith("position/")},
        "suites": {name: {c: row["rate"] for c, row in sub["categories"].items()} for name, sub in s["suites"].items()},
        f"hit@{k}": s["metrics"].get(f"hit@{k}", {}).get("rate"),
        "median_answer_words": s["answer_length"]["median_words"],
        "wall_time_s": report["wall_time_s"],
    }


def load_baseline(path: Path | None = None) -> dict[str, Any]:
    path = path or BASELINE
    try:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"no eval baseline at {path}: create one with advisor eval --write-baseline") from None


def _measured(report: dict[str, Any], baseline: dict[str, Any]) -> tuple[set[str], set[str] | None]:
    """The groups and suites (None: any) the baseline measured."""
    groups = {*baseline.get("groups", LEGACY_GROUPS), *(g for g in CATEGORIES if g != "position")}
    if "suites" in baseline:
        return groups, set(baseline["suites"])
    article = report["suite"].get("article")
    return groups, ({article} if article else None)


def _in_scope(report: dict[str, Any], baseline: dict[str, Any]) -> list[dict[str, Any]]:
    groups, suites = _measured(report, baseline)
    return [c for c in report["cases"] if c["group"] in groups and (suites is None or c.get("suite") in suites)]


def gate(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Why ``report`` falls below ``baseline`` (an empty list: it doesn't)."""
    problems = []
    summary = report["summary"]
    if summary["overall"]["errors"]:
        problems.append(f"{summary['overall']['errors']} case(s) raised errors (unmeasured)")
    cases = _in_scope(report, baseline)

    def check(label: str, rows: list[dict[str, Any]], floor: float | None) -> None:
        rate = tally(rows)["rate"]
        if floor is not None and (rate is None or rate < floor):
            problems.append(f"{label} pass rate {pct(rate)} is below the baseline {pct(floor)}")

    for name, floor in baseline.get("rates", {}).items():
        check(name, [c for c in cases if c["category"] == name], floor)
    for group, floor in baseline.get("groups", {}).items():
        check(group, [c for c in cases if c["group"] == group], floor)
    for suite, rates in baseline.get("suites", {}).items():
        rows = [c for c in cases if c.get("suite") == suite]
        if not rows:
            problems.append(f"suite {suite} was not run (is its document in the knowledge base?); the baseline has it")
            continue
        for name, floor in rates.items():
            check(f"{suite}: {name}", [c for c in rows if c["category"] == name], floor)
    k = summary["k"]
    floor = baseline.get(f"hit@{k}")
    if floor is not None:
        hits = [m["passed"] for c in cases if (m := c.get("metrics", {}).get(f"hit@{k}")) and m["passed"] is not None]
        rate = round(sum(map(bool, hits)) / len(hits), 4) if hits else None
        if rate is None or rate < floor:
            problems.append(f"retrieval hit@{k} {pct(rate)} is below the baseline {pct(floor)}")
    return problems


def not_gated(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """The kinds and suites in ``report`` the baseline doesn't list yet: reported with their rates, not gated."""
    groups, suites = _measured(report, baseline)
    cases = report["cases"]
    out = [
        f"{group} {count(tally([c for c in cases if c['group'] == group]))}"
        for group in sorted({c["group"] for c in cases} - groups)
    ]
    for suite in sorted({c.get("suite") or "" for c in cases} - suites) if suites is not None else []:
        rows = [c for c in cases if (c.get("suite") or "") == suite]
        out.append(f"suite {suite or '(unnamed)'} {count(tally(rows))}")
    return out
