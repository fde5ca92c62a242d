"""Read eval reports (the ``*.json`` files ``advisor eval`` writes: see ``report.reports_dir``) for the dashboard.

Reports are files other tools write and people may edit, so everything here is defensive: a file that
isn't valid JSON or lacks a summary is listed as unreadable, never a crash; missing fields become
``None``. It deliberately computes nothing the report doesn't hold except the rates it can count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CategoryRow:
    name: str
    passed: int
    total: int
    errors: int
    rate: float | None


@dataclass
class Failure:
    id: str
    category: str
    status: str
    question: str
    answer: str
    expected: str
    reasons: list[str]


@dataclass
class ReportView:
    path: Path
    id: str
    created: str
    provider: str
    model: str
    overall: float | None
    categories: list[CategoryRow] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    wall_time_s: float | None = None
    cases: int = 0


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else json.dumps(value, ensure_ascii=False))


def _row(name: str, data: Any) -> CategoryRow:
    data = data if isinstance(data, dict) else {}
    passed, total, errors = _int(data.get("passed")), _int(data.get("total")), _int(data.get("errors"))
    rate = _num(data.get("rate"))
    if rate is None and total - errors > 0:
        rate = passed / (total - errors)
    return CategoryRow(name, passed, total, errors, rate)


def parse_report(path: Path, data: Any) -> ReportView:
    """A view of one report; raises ValueError when it is not an eval report at all."""
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict):
        raise ValueError("no summary")
    summary = data["summary"]
    categories = summary.get("categories")
    rows = [_row(str(k), v) for k, v in categories.items()] if isinstance(categories, dict) else []
    raw_cases = data.get("cases")
    cases: list[Any] = raw_cases if isinstance(raw_cases, list) else []
    failures = []
    for case in cases:
        if not isinstance(case, dict):
            continue
        status = _str(case.get("status")) or ("pass" if case.get("passed") else "fail")
        if status == "pass":
            continue
        raw_reasons = case.get("reasons")
        reasons: list[Any] = raw_reasons if isinstance(raw_reasons, list) else []
        if not reasons and case.get("error"):
            reasons = [case.get("error")]
        failures.append(
            Failure(
                id=_str(case.get("id")),
                category=_str(case.get("group") or case.get("category")),
                status=status,
                question=_str(case.get("question")),
                answer=_str(case.get("answer")),
                expected=_str(case.get("expected")),
                reasons=[_str(r) for r in reasons],
            )
        )
    overall = _row("overall", summary.get("overall")).rate if "overall" in summary else None
    if overall is None and cases:
        measured = [c for c in cases if isinstance(c, dict) and c.get("status") != "error"]
        overall = sum(1 for c in measured if c.get("status") == "pass") / len(measured) if measured else None
    return ReportView(
        path=path,
        id=_str(data.get("id")) or path.stem,
        created=_str(data.get("created")),
        provider=_str(data.get("provider")),
        model=_str(data.get("model")),
        overall=overall,
        categories=rows,
        failures=failures,
        wall_time_s=_num(data.get("wall_time_s")),
        cases=len(cases),
    )


def load_reports(folder: Path) -> tuple[list[ReportView], list[str]]:
    """Readable reports oldest first (by file name, a UTC timestamp), and notes on the unreadable ones."""
    views: list[ReportView] = []
    problems: list[str] = []
    if not folder.is_dir():
        return views, problems
    for path in sorted(folder.glob("*.json")):
        try:
            views.append(parse_report(path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            problems.append(f"{path.name}: not a readable eval report ({type(exc).__name__})")
    return views, problems


def history(views: list[ReportView]) -> list[dict[str, Any]]:
    """Rows for the pass-rate chart: one per report and category, plus 'overall'."""
    rows: list[dict[str, Any]] = []
    for view in views:
        if view.overall is not None:
            rows.append({"report": view.id, "category": "overall", "pass_rate": view.overall})
        for cat in view.categories:
            if cat.rate is not None:
                rows.append({"report": view.id, "category": cat.name, "pass_rate": cat.rate})
    return rows
