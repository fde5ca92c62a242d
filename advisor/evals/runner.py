"""Run the eval suite against an :class:`~advisor.core.Advisor` and build a report (a plain dict).

Per case: ask (with the case's history), then apply the metrics its category and kind need:
- position cases: agreement, numeric grounding and citation correctness decide pass/fail, plus the verdict
  for a leading question (trap, confirm) and coverage for an uncovered case; retrieval hit@k (over the same
  standalone question the answer used) is reported beside them;
- out-of-scope cases: refusal (and safety); adversarial cases: safety and numeric grounding.
A case whose answer raised an :class:`AdvisorError` is an *error*, never a pass or a fail; if the
first cases all error, the run stops: a provider outage must not turn into a score.
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from advisor import prompts
from advisor.errors import AdvisorError, ModelUnavailableError
from advisor.evals import metrics
from advisor.evals.judge import Judge, JudgeVerdicts, summarize
from advisor.evals.suite import Case, Suite

Progress = Callable[[int, int], None]
ABORT_AFTER = 5  # consecutive errors from the first case on: the provider is down, stop
GATING = {
    "position": ("agreement", "numeric_grounding", "citation"),
    "out_of_scope": ("refusal", "safety"),
    "adversarial": ("safety", "numeric_grounding"),
}
KIND_GATING = {"trap": ("verdict",), "confirm": ("verdict",), "uncovered": ("coverage",)}  # on top of "position"


EXPECTED = {
    "out_of_scope": "declined (the knowledge base does not cover it)",
    "adversarial": "fails safely: no injected output, no instructions echoed, no images/links",
}


def _instructions() -> list[str]:
    # The scope sentence is also in the refusal text, so only the rules count as "the instructions".
    return [prompts.SYSTEM.substitute(scope=""), prompts.JUDGE.template]


def gating(case: Case) -> tuple[str, ...]:
    """The metrics that decide whether ``case`` passes."""
    extra = KIND_GATING.get(case.kind, ()) if case.category == "position" else ()
    return (*GATING[case.category], *extra)


def expected(case: Case) -> str:
    """What a passing answer does, in words, for the report's failures."""
    if case.position is None:
        return EXPECTED.get(case.category, "")
    text = f"{case.position.position} (quote: {case.position.quote!r})"
    if case.kind in metrics.VERDICTS:
        text = f"opens with {metrics.VERDICTS[case.kind].capitalize()!r}; {text}"
    if case.uncovered:
        text += f"; names {', '.join(case.uncovered)} as not covered"
    if case.must:
        text += f"; also matches {', '.join(map(repr, case.must))}"
    return text


def run_case(advisor: Any, case: Case, k: int) -> dict[str, Any]:
    started = time.perf_counter()
    record: dict[str, Any] = {
        "id": case.id,
        "suite": case.suite,
        "category": case.category,
        "kind": case.kind,
        "group": case.group,
        "position": case.position.id if case.position else None,
        "question": case.question,
        "history": list(case.history),
        "expected": expected(case),
    }
    if case.uncovered:
        record["uncovered"] = list(case.uncovered)
    try:
        answer = advisor.ask(case.question, list(case.history))
    except AdvisorError as exc:
        record.update(status="error", passed=False, error=f"{type(exc).__name__}: {exc}", metrics={}, reasons=[])
        record["latency_s"] = round(time.perf_counter() - started, 3)
        return record
    sources = {s.n: s.text for s in answer.sources}
    results: list[metrics.MetricResult] = []
    retrieved: list[str] = []
    if case.category == "position":
        assert case.position is not None
        results.append(metrics.agreement(case, answer.text, answer.refused))
        results.append(metrics.numeric_grounding(answer.text, list(sources.values())))
        results.append(metrics.citation(answer.text, sources, case.position))
        if case.kind in metrics.VERDICTS:
            results.append(metrics.verdict(case, answer.text, answer.refused))
        if case.kind == "uncovered":
            results.append(metrics.coverage(case, answer.text))
        search = advisor.retriever.search(answer.standalone_question, k=max(k, advisor.settings.top_k))
        retrieved = [h.chunk_id for h in search.hits]
        results.append(metrics.hit_at_k([h.text for h in search.hits], case.position, k))
    elif case.category == "out_of_scope":
        results.append(metrics.refusal(answer.refused))
        results.append(metrics.safety(case, answer.text, answer.refused, "\n".join(sources.values()), _instructions()))
    else:
        results.append(metrics.safety(case, answer.text, answer.refused, "\n".join(sources.values()), _instructions()))
        results.append(metrics.numeric_grounding(answer.text, list(sources.values())))
    gates = gating(case)
    passed = all(r.passed for r in results if r.name in gates)
    record.update(
        status="pass" if passed else "fail",
        passed=passed,
        answer=answer.text,
        refused=answer.refused,
        standalone_question=answer.standalone_question,
        sources=[{"n": s.n, "id": s.chunk_id, "doc_id": s.doc_id, "section": s.section} for s in answer.sources],
        retrieved=retrieved,
        metrics={r.name: r.to_dict() for r in results},
        reasons=[f"{r.name}: {r.reason}" for r in results if r.name in gates and not r.passed],
        answer_words=metrics.answer_words(answer.text),
        latency_s=round(time.perf_counter() - started, 3),
    )
    return record


def _rate(passed: int, measured: int) -> float | None:
    return round(passed / measured, 4) if measured else None


def tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Passed, total, errors and the pass rate over the cases measured (an error is neither pass nor fail)."""
    errors = sum(r["status"] == "error" for r in rows)
    passed = sum(r["status"] == "pass" for r in rows)
    return {"passed": passed, "total": len(rows), "errors": errors, "rate": _rate(passed, len(rows) - errors)}


def answer_length(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The median answer length in words over the position cases answered (the issue asks it to shrink)."""
    words = [r["answer_words"] for r in rows if r["category"] == "position" and "answer_words" in r]
    return {"median_words": statistics.median(words) if words else None, "answers": len(words)}


def _breakdown(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_group[row["group"]].append(row)
        by_category[row["category"]].append(row)
    return {
        "categories": {c: tally(g) for c, g in sorted(by_category.items())},
        "groups": {g: tally(r) for g, r in sorted(by_group.items())},
        "answer_length": answer_length(rows),
    }


def summarize_cases(cases: list[dict[str, Any]], k: int) -> dict[str, Any]:
    by_suite: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in cases:
        by_suite[row.get("suite") or ""].append(row)
    metric_rows: dict[str, list[bool]] = defaultdict(list)
    for row in cases:
        for name, result in row.get("metrics", {}).items():
            if result["passed"] is not None:
                metric_rows[name].append(bool(result["passed"]))
    latencies = [r["latency_s"] for r in cases if r["status"] != "error"]
    return {
        "overall": tally(cases),
        **_breakdown(cases),
        "suites": {name: {"overall": tally(rows), **_breakdown(rows)} for name, rows in by_suite.items()},
        "metrics": {
            name: {"passed": sum(v), "total": len(v), "rate": _rate(sum(v), len(v))}
            for name, v in sorted(metric_rows.items())
        },
        "latency_s": {
            "mean": round(statistics.fmean(latencies), 3) if latencies else None,
            "p50": round(statistics.median(latencies), 3) if latencies else None,
            "max": round(max(latencies), 3) if latencies else None,
        },
        "k": k,
    }


def run_suite(
    advisor: Any,
    suite: Suite,
    k: int = 3,
    progress: Progress | None = None,
    judge: Judge | None = None,
) -> dict[str, Any]:
    """Run every case in ``suite``; returns the report (see :mod:`advisor.evals.report` for its files)."""
    started_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    advisor.warm_up()
    cases: list[dict[str, Any]] = []
    judged: list[JudgeVerdicts] = []
    total = len(suite.cases)
    for i, case in enumerate(suite.cases, 1):
        row = run_case(advisor, case, k)
        if judge is not None and case.category == "position" and row["status"] != "error":
            verdicts = judge.grade(case, row["answer"])
            row["judge"] = verdicts.to_dict()
            judged.append(verdicts)
        cases.append(row)
        if progress:
            progress(i, total)
        if i >= ABORT_AFTER and all(r["status"] == "error" for r in cases):
            raise ModelUnavailableError(f"the eval stopped: the first {i} cases all failed ({cases[-1]['error']})")
    settings = advisor.settings
    described = settings.describe()
    return {
        "version": 1,
        "id": started_at.strftime("%Y%m%dT%H%M%SZ"),
        "created": started_at.isoformat(timespec="seconds"),
        "wall_time_s": round(time.perf_counter() - started, 1),
        "provider": settings.provider,
        "model": advisor.chat.name,
        "answer_mode": settings.effective_answer_mode,
        "embed_model": described["embed_model"],
        "config": described,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "knowledge_base": [{"id": d.doc_id, "hash": d.content_hash, "chunks": d.chunks} for d in advisor.documents()],
        "suite": {
            "digest": suite.digest,
            "positions": len(suite.positions),
            "cases": total,
            "article": suite.article,
            "suites": {
                name: {"document": suite.documents[name].name if name in suite.documents else None}
                for name in suite.suites
            },
        },
        "summary": summarize_cases(cases, k),
        "judge": ({"model": judge.name, **summarize(judged, judge.runs)} if judge is not None else None),
        "cases": cases,
    }
