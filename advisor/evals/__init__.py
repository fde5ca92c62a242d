"""The eval suite: check the advisor's answers against the positions the source article states.

- :mod:`.suite`   loads the claim ledger (``evals/positions.yaml``) and the other cases (``evals/cases.yaml``).
- :mod:`.metrics` one small unit per check, each returning a value and a reason.
- :mod:`.judge`   the optional LLM-as-judge tier (``ADVISOR_JUDGE_MODEL``).
- :mod:`.runner`  runs the suite against an :class:`~advisor.core.Advisor` and builds a report.
- :mod:`.report`  writes JSON + Markdown reports, diffs two reports and checks the committed baseline.
"""

from advisor.evals.report import diff_reports, gate, load_report, write_report
from advisor.evals.runner import run_suite
from advisor.evals.suite import Case, Position, Suite, load_suite

__all__ = [
    "Case",
    "Position",
    "Suite",
    "diff_reports",
    "gate",
    "load_report",
    "load_suite",
    "run_suite",
    "write_report",
]
