"""The eval suites: check the advisor's answers against the positions each document states.

- :mod:`.suite`   loads the suites: per document, its claim ledger (``evals/positions.yaml`` + ``cases.yaml``
                  for the article, ``evals/suites/*.yaml`` for the others) with its cases.
- :mod:`.metrics` one small unit per check, each returning a value and a reason.
- :mod:`.judge`   the optional LLM-as-judge tier (``ADVISOR_JUDGE_MODEL``).
- :mod:`.runner`  runs a suite against an :class:`~advisor.core.Advisor` and builds a report.
- :mod:`.report`  writes JSON + Markdown reports and diffs two reports.
- :mod:`.baseline` compares a report with the committed baseline (CI).
"""

from advisor.evals.baseline import gate, load_baseline, not_gated
from advisor.evals.report import diff_reports, load_report, write_report
from advisor.evals.runner import run_suite
from advisor.evals.suite import Case, Position, Suite, load_suite, load_suites

__all__ = [
    "Case",
    "Position",
    "Suite",
    "diff_reports",
    "gate",
    "load_baseline",
    "load_report",
    "load_suite",
    "load_suites",
    "not_gated",
    "run_suite",
    "write_report",
]
