"""Eval reports on disk: JSON (the record) + Markdown (for people), diffs between runs, the CI baseline.

- ``write_report``: ``<dir>/<id>.json`` and ``<dir>/<id>.md``; the Markdown lists every failure with its
  question, answer, expected position and reason, and (given an earlier report) what changed.
- ``diff_reports``: which cases flipped between two reports, and how each changed answer changed.
- ``gate``: compares a report with ``evals/baseline.json``; any category below its baseline rate fails.
It deliberately keeps no history of its own: reports are files; the baseline is one committed file.
Reports go to :func:`reports_dir`: ``evals/reports/`` in a checkout, the data dir's ``reports/`` when installed.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from advisor import resources
from advisor.errors import ConfigError
from advisor.settings import Settings, load_settings

BASELINE = resources.evals_dir() / "baseline.json"
GATED = ("position", "out_of_scope", "adversarial")


def reports_dir(settings: Settings) -> Path:
    """Where reports go: ``evals/reports/`` in a checkout, else ``reports/`` in the settings' data dir."""
    return resources.reports_dir(settings.data_dir)


def __getattr__(name: str) -> Path:
    # REPORTS_DIR, for callers that don't hold the settings: when installed it depends on ADVISOR_DATA_DIR,
    # so it is worked out when read, from the environment, never at import.
    if name == "REPORTS_DIR":
        return reports_dir(load_settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_report(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no eval report at {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not an eval report (invalid JSON: {exc.msg})") from None
    if not isinstance(report, dict) or "cases" not in report or "summary" not in report:
        raise ConfigError(f"{path} is not an eval report (no cases/summary)")
    return report


def reports_in(folder: Path) -> list[Path]:
    """Report files, oldest first (their names are UTC timestamps)."""
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


# -- diff ------------------------------------------------------------------------------------------------------
def answer_diff(before: str, after: str) -> list[str]:
    """Line-level changes (``- old`` / ``+ new``), without context lines."""
    out = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        out.append(line)
    return out


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    before = {c["id"]: c for c in old["cases"]}
    after = {c["id"]: c for c in new["cases"]}
    flipped, changed = [], []
    for cid, now in after.items():
        was = before.get(cid)
        if was is None:
            continue
        entry = {
            "id": cid,
            "group": now["group"],
            "question": now["question"],
            "before": was["status"],
            "after": now["status"],
            "diff": answer_diff(was.get("answer", ""), now.get("answer", "")),
        }
        if was["status"] != now["status"]:
            flipped.append(entry)
        elif was.get("answer", "") != now.get("answer", ""):
            changed.append(entry)
    rates = {}
    for name in GATED:
        a = old["summary"]["categories"].get(name, {}).get("rate")
        b = new["summary"]["categories"].get(name, {}).get("rate")
        rates[name] = {"before": a, "after": b}
    return {
        "baseline": old.get("id"),
        "baseline_model": f"{old.get('provider')}:{old.get('model')}",
        "flipped": flipped,
        "changed": changed,
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "rates": rates,
    }


# -- the CI gate -----------------------------------------------------------------------------------------------
def make_baseline(report: dict[str, Any], report_path: str) -> dict[str, Any]:
    k = report["summary"]["k"]
    return {
        "report": report_path,
        "created": report["created"],
        "provider": report["provider"],
        "model": report["model"],
        "suite_digest": report["suite"]["digest"],
        "rates": {name: report["summary"]["categories"].get(name, {}).get("rate") for name in GATED},
        f"hit@{k}": report["summary"]["metrics"].get(f"hit@{k}", {}).get("rate"),
        "wall_time_s": report["wall_time_s"],
    }


def load_baseline(path: Path | None = None) -> dict[str, Any]:
    path = path or BASELINE
    try:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"no eval baseline at {path}: create one with advisor eval --write-baseline") from None


def gate(report: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Why ``report`` falls below ``baseline`` (an empty list: it doesn't)."""
    problems = []
    summary = report["summary"]
    if summary["overall"]["errors"]:
        problems.append(f"{summary['overall']['errors']} case(s) raised errors (unmeasured)")
    for name, floor in baseline.get("rates", {}).items():
        if floor is None:
            continue
        rate = summary["categories"].get(name, {}).get("rate")
        if rate is None or rate < floor:
            problems.append(f"{name} pass rate {_pct(rate)} is below the baseline {_pct(floor)}")
    k = summary["k"]
    floor = baseline.get(f"hit@{k}")
    if floor is not None:
        rate = summary["metrics"].get(f"hit@{k}", {}).get("rate")
        if rate is None or rate < floor:
            problems.append(f"retrieval hit@{k} {_pct(rate)} is below the baseline {_pct(floor)}")
    return problems


# -- Markdown --------------------------------------------------------------------------------------------------
def summary_table(report: dict[str, Any]) -> list[str]:
    s = report["summary"]
    lines = ["| group | passed | total | errors | pass rate |", "|---|---:|---:|---:|---:|"]
    for name, row in s["groups"].items():
        lines.append(f"| {name} | {row['passed']} | {row['total']} | {row['errors']} | {_pct(row['rate'])} |")
    for name, row in s["categories"].items():
        lines.append(
            f"| **{name}** | **{row['passed']}** | **{row['total']}** | {row['errors']} | **{_pct(row['rate'])}** |"
        )
    o = s["overall"]
    lines.append(f"| **overall** | **{o['passed']}** | **{o['total']}** | {o['errors']} | **{_pct(o['rate'])}** |")
    return lines


def _quote(text: str) -> str:
    return "\n".join(f"    {line}" for line in (text or "(empty)").splitlines()) or "    (empty)"


def render_markdown(report: dict[str, Any], diff: dict[str, Any] | None = None) -> str:
    s = report["summary"]
    out = [
        f"# Eval report {report['id']}",
        "",
        f"- provider / model: **{report['provider']} / {report['model']}** ({report['answer_mode']} mode), "
        f"embeddings {report['embed_model']}",
        f"- suite: {report['suite']['positions']} positions, {report['suite']['cases']} cases "
        f"(digest {report['suite']['digest']})",
        f"- knowledge base: {', '.join(d['id'] for d in report['knowledge_base']) or '(empty)'}",
        f"- wall time: **{report['wall_time_s']:.1f} s** "
        f"(mean {s['latency_s']['mean']} s per case, max {s['latency_s']['max']} s)",
        "",
        "## Pass rate by category",
        "",
        *summary_table(report),
        "",
        "## Metrics",
        "",
        "| metric | passed | total | rate |",
        "|---|---:|---:|---:|",
        *[f"| {n} | {m['passed']} | {m['total']} | {_pct(m['rate'])} |" for n, m in s["metrics"].items()],
        "",
    ]
    judge = report.get("judge")
    if judge:
        out += [
            "## LLM judge",
            "",
            f"- model: {judge['model']}, {judge['runs']} run(s) over {judge['cases']} position cases",
            f"- pass rate: {_pct(judge['pass_rate'])} (spread {_pct(judge['spread'])} across runs; per run "
            f"{', '.join(_pct(r) for r in judge['pass_rate_per_run'])})",
            f"- unmeasured verdicts (error or unparsable): {judge['unmeasured']} of {judge['verdicts']}",
            "",
        ]
    failures = [c for c in report["cases"] if c["status"] != "pass"]
    out += [f"## Failures ({len(failures)})", ""]
    for c in failures:
        out.append(f"### {c['id']} ({c['group']}, {c['status']})")
        out.append("")
        out.append(f"- question: {c['question']}")
        if c.get("history"):
            out.append(f"- after: {' / '.join(t['content'] for t in c['history'] if t['role'] == 'user')}")
        if c.get("standalone_question") and c["standalone_question"] != c["question"]:
            out.append(f"- rewritten as: {c['standalone_question']}")
        out.append(f"- expected: {c.get('expected', '')}")
        reasons = c.get("reasons") or ([c["error"]] if c.get("error") else [])
        out.append(f"- reason: {'; '.join(reasons)}")
        out += ["- answer:", "", _quote(c.get("answer", "")), ""]
    if diff is not None:
        out += render_diff(diff)
    return "\n".join(out).rstrip() + "\n"


def render_diff(diff: dict[str, Any]) -> list[str]:
    out = [f"## Compared with {diff['baseline']} ({diff['baseline_model']})", ""]
    out += [f"- {name}: {_pct(r['before'])} -> {_pct(r['after'])}" for name, r in diff["rates"].items()]
    out += [
        f"- flipped: {len(diff['flipped'])}, answer changed (same status): {len(diff['changed'])}, "
        f"new cases: {len(diff['added'])}, removed cases: {len(diff['removed'])}",
        "",
    ]
    for title, rows in (("Flipped", diff["flipped"]), ("Changed answers", diff["changed"])):
        if not rows:
            continue
        out += [f"### {title}", ""]
        for row in rows:
            out.append(f"- **{row['id']}** {row['before']} -> {row['after']}: {row['question']}")
            if row["diff"]:
                out += ["", "```diff", *row["diff"], "```", ""]
    return out


def write_report(report: dict[str, Any], folder: Path, diff: dict[str, Any] | None = None) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if diff is not None:
        report = {**report, "diff": diff}
    stem, n = report["id"], 1
    while (folder / f"{stem}.json").exists():  # two runs in one second keep both reports
        n += 1
        stem = f"{report['id']}-{n}"
    json_path = folder / f"{stem}.json"
    md_path = folder / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(report, diff), encoding="utf-8")
    return json_path, md_path
