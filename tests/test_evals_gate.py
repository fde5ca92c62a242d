"""The CI gate: the deterministic eval tier on the embedded default (the suites of the documents in its
knowledge base) must not fall below evals/baseline.json, and a deliberately broken advisor must fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.cli import main
from advisor.core import Advisor
from advisor.evals import gate, load_baseline, load_suite, load_suites, not_gated, run_suite, write_report
from tests.conftest import advisor_env, use_env

pytestmark = pytest.mark.slow

UNRELATED = """---
title: Growing tomatoes
---

# Growing tomatoes

Tomatoes need six to eight hours of sun a day. Water them deeply twice a week, and stake the plants once
they reach a foot tall. Pick the fruit when it is fully coloured and slightly soft.
"""


def test_the_embedded_default_meets_the_committed_baseline(advisor: Advisor, tmp_path: Path) -> None:
    report = run_suite(advisor, load_suites(doc_ids=[d.doc_id for d in advisor.documents()]))
    json_path, md_path = write_report(report, tmp_path)
    baseline = load_baseline()
    problems = gate(report, baseline)
    for note in not_gated(report, baseline):  # kinds and suites the baseline doesn't list yet
        print(f"not in the baseline yet, reported only: {note}")
    assert problems == [], f"{problems}; failures in {md_path}:\n{md_path.read_text()[:4000]}"
    assert "wall time:" in md_path.read_text() and "median answer:" in md_path.read_text()
    assert json_path.exists()


def test_an_advisor_that_retrieves_nothing_relevant_fails_the_gate(advisor: Advisor) -> None:
    # The same models and store, but a relevance threshold nothing reaches: every question is declined.
    # Share the loaded models, not their state.
    blind = Advisor(advisor.settings.with_(relevance_threshold=1.0), embedder=advisor.embedder, chat=advisor.chat)
    suite = load_suite().select(kinds=["direct"], categories=["position"])
    report = run_suite(blind, suite)
    assert report["summary"]["categories"]["position"]["rate"] == 0.0
    problems = gate(report, load_baseline())
    assert any(p.startswith("position pass rate 0.0%") for p in problems)


def test_a_knowledge_base_without_the_article_fails_loudly(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "tomatoes.md").write_text(UNRELATED, encoding="utf-8")
    out = tmp_path / "reports"
    with use_env(advisor_env(tmp_path / "data", ADVISOR_KNOWLEDGE_DIR=str(knowledge))):
        code = main(
            ["eval", "--category", "position", "--kind", "direct", "--limit", "12", "--gate", "--out", str(out)]
        )
    assert code == 1
    [report_md] = out.glob("*.md")
    text = report_md.read_text()
    assert "Failures (12)" in text
    assert "| **position** | **0** | **12** |" in text


def test_min_pass_and_changed_work_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = advisor_env(tmp_path / "data")
    out = tmp_path / "reports"
    args = ["eval", "--category", "out_of_scope", "--limit", "2", "--out", str(out)]
    with use_env(env):
        assert main([*args, "--min-pass", "1.0"]) == 0
        assert main([*args, "--changed"]) == 0
    printed = capsys.readouterr().out
    assert "Compared with" in printed and "flipped: 0" in printed
    assert len(list(out.glob("*.json"))) == 2
