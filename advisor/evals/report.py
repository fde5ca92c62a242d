"""Eval reports on disk: JSON (the record) + Markdown (for people), and diffs between runs.

- ``write_report``: ``<dir>/<id>.json`` and ``<dir>/<id>.md``; the Markdown lists every failure with its
  question, answer, expected position and reason, and (given an earlier report) what changed.
- ``diff_reports``: which cases flipped between two reports, and how each changed answer changed.
- ``summary_table``, ``suites_table``, ``metrics_line``: the tables the command line prints too.
It deliberately keeps no history of its own: reports are files (the CI baseline is :mod:`.baseline`'s).
Reports go to :func:`reports_dir`: ``evals/reports/`` in a checkout, the data dir's ``reports/`` when installed.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from advisor import resources
from advisor.errors import ConfigError
from advisor.evals.suite import CATEGORIES, POSITION_KINDS
from advisor.settings import Settings, load_settings


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


def pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def count(row: dict[str, Any]) -> str:
    """ "92.0% (137/149)": a tally's rate and counts."""
    return f"{pct(row['rate'])} ({row['passed']}/{row['total'] - row['errors']})"


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
    for name in CATEGORIES:
        a = old["summary"]["categories"].get(name, {}).get("rate")
        b = new["summary"]["categories"].get(name, {}).get("rate")
        rates[name] = {"before": a, "after": b}
    words = {
        "before": old["summary"].get("answer_length", {}).get("median_words"),
        "after": new["summary"].get("answer_length", {}).get("median_words"),
    }
    return {
        "baseline": old.get("id"),
        "baseline_model": f"{old.get('provider')}:{old.get('model')}",
        "flipped": flipped,
        "changed": changed,
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "rates": rates,
        "median_answer_words": words,
    }


# -- Markdown --------------------------------------------------------------------------------------------------
def summary_table(report: dict[str, Any]) -> list[str]:
    s = report["summary"]
    lines = ["| group | passed | total | errors | pass rate |", "|---|---:|---:|---:|---:|"]
    for name, row in s["groups"].items():
        lines.append(f"| {name} | {row['passed']} | {row['total']} | {row['errors']} | {pct(row['rate'])} |")
    for name, row in s["categories"].items():
        lines.append(
            f"| **{name}** | **{row['passed']}** | **{row['total']}** | {row['errors']} | **{pct(row['rate'])}** |"
        )
    o = s["overall"]
    lines.append(f"| **overall** | **{o['passed']}** | **{o['total']}** | {o['errors']} | **{pct(o['rate'])}** |")
    return lines


def _words(median: float | None) -> str:
    return "n/a" if median is None else f"{median:g} words"


def suites_table(report: dict[str, Any]) -> list[str]:
    """One row per suite: its position pass rate, by kind, its other categories, its median answer."""
    suites = report["summary"].get("suites") or {}
    if not suites:
        return []
    present = {g for sub in suites.values() for g in sub["groups"]}
    kinds = [k for k in POSITION_KINDS if f"position/{k}" in present]
    others = [c for c in CATEGORIES[1:] if c in present]
    lines = [
        "| suite | position | " + " | ".join([*kinds, *others, "median answer"]) + " |",
        "|---|---:|" + "---:|" * (len(kinds) + len(others) + 1),
    ]
    for name, sub in suites.items():
        position = sub["categories"].get("position")
        cells = [f"**{count(position)}**" if position else ""]
        cells += [count(sub["groups"][f"position/{k}"]) if f"position/{k}" in sub["groups"] else "" for k in kinds]
        cells += [count(sub["groups"][c]) if c in sub["groups"] else "" for c in others]
        cells.append(_words(sub.get("answer_length", {}).get("median_words")))
        lines.append(f"| {name or '(unnamed)'} | " + " | ".join(cells) + " |")
    return lines


def metrics_line(report: dict[str, Any]) -> str:
    """Each metric's passes over the cases it applies to: "agreement 140/160 · verdict 17/19 · ..."."""
    return " · ".join(f"{n} {m['passed']}/{m['total']}" for n, m in report["summary"]["metrics"].items())


def _quote(text: str) -> str:
    return "\n".join(f"    {line}" for line in (text or "(empty)").splitlines()) or "    (empty)"


def render_markdown(report: dict[str, Any], diff: dict[str, Any] | None = None) -> str:
    s = report["summary"]
    length = s.get("answer_length") or {}
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
        f"- median answer: **{_words(length.get('median_words'))}** over {length.get('answers', 0)} position answers",
        "",
        "## Pass rate by category",
        "",
        *summary_table(report),
        "",
        *(["## Pass rate by suite", "", *suites_table(report), ""] if suites_table(report) else []),
        "## Metrics",
        "",
        "| metric | passed | total | rate |",
        "|---|---:|---:|---:|",
        *[f"| {n} | {m['passed']} | {m['total']} | {pct(m['rate'])} |" for n, m in s["metrics"].items()],
        "",
    ]
    judge = report.get("judge")
    if judge:
        out += [
            "## LLM judge",
            "",
            f"- model: {judge['model']}, {judge['runs']} run(s) over {judge['cases']} position cases",
            f"- pass rate: {pct(judge['pass_rate'])} (spread {pct(judge['spread'])} across runs; per run "
            f"{', '.join(pct(r) for r in judge['pass_rate_per_run'])})",
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
    out += [f"- {name}: {pct(r['before'])} -> {pct(r['after'])}" for name, r in diff["rates"].items()]
    words = diff.get("median_answer_words") or {}
    out.append(f"- median answer: {_words(words.get('before'))} -> {_words(words.get('after'))}")
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
