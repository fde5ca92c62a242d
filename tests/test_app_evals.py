"""The Evals page under AppTest, reading reports in the format ``advisor eval`` writes
(built here with the eval runner's own ``summarize_cases``), and surviving missing or broken ones."""

from __future__ import annotations

import json
from pathlib import Path

from advisor.app.eval_dashboard import load_reports
from advisor.evals.runner import summarize_cases
from tests.app_support import app, texts


def case(cid: str, category: str, status: str, reasons: list[str] | None = None) -> dict:
    return {
        "id": cid,
        "group": category,
        "category": category,
        "status": status,
        "passed": status == "pass",
        "question": f"question of {cid}",
        "expected": f"position of {cid}",
        "answer": f"answer of {cid} ![x](https://tracker.example/p.png)",
        "reasons": reasons or [],
        "metrics": {},
        "latency_s": 1.0,
    }


def write_report(folder: Path, rid: str, cases: list[dict]) -> None:
    report = {
        "version": 1,
        "id": rid,
        "created": "2026-11-25T12:00:00+00:00",
        "wall_time_s": 42.0,
        "provider": "local",
        "model": "SmolLM2-135M-Instruct",
        "summary": summarize_cases(cases, 3),
        "cases": cases,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{rid}.json").write_text(json.dumps(report), encoding="utf-8")


def evals_page(folder: Path):  # type: ignore[no-untyped-def]
    at = app("evals")
    at.session_state["reports_dir"] = str(folder)
    return at.run()


def test_without_a_report_the_page_says_so(tmp_path: Path) -> None:
    at = evals_page(tmp_path / "reports")
    assert not at.exception
    assert any("No eval report yet" in i for i in texts(at, "info"))


def test_the_latest_report_shows_rates_by_category_failures_with_reasons_and_a_history_chart(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    write_report(folder, "20261124T100000Z", [case("p1", "position", "fail", ["agreement: missing $220K"])])
    write_report(
        folder,
        "20261125T100000Z",
        [
            case("p1", "position", "pass"),
            case("p2", "position", "fail", ["agreement: says 'Data Scientist' for the top pay"]),
            case("o1", "out_of_scope", "pass"),
            case("a1", "adversarial", "pass"),
        ],
    )
    (folder / "20261126T000000Z.json").write_text("{not json", encoding="utf-8")  # a broken file is skipped
    at = evals_page(folder)
    assert not at.exception
    assert any("20261126T000000Z.json: not a readable eval report" in w for w in texts(at, "warning"))
    assert at.subheader[0].value == "Latest report: 20261125T100000Z"
    assert at.metric[0].value == "75.0%"
    table = at.dataframe[0].value.set_index("category")
    assert table.loc["position", "pass rate"] == 50.0 and table.loc["adversarial", "pass rate"] == 100.0
    assert [e.label for e in at.expander] == ["p2 · position · fail"]
    shown = "\n".join(texts(at, "markdown"))
    assert "says 'Data Scientist' for the top pay" in shown
    assert "![" not in shown
    assert len(at.get("vega_lite_chart")) == 1  # pass rate over the two readable reports


def test_report_files_missing_fields_are_read_without_crashing(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"summary": {"categories": {"position": {"passed": 3, "total": 4}}}}))
    (folder / "b.json").write_text(json.dumps({"summary": "oops", "cases": 5}))
    (folder / "c.json").write_text(json.dumps([1, 2, 3]))
    views, problems = load_reports(folder)
    assert [v.id for v in views] == ["a"] and views[0].categories[0].rate == 0.75
    assert len(problems) == 2
    at = evals_page(folder)
    assert not at.exception
    assert at.subheader[0].value == "Latest report: a"
