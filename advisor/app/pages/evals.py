"""Evals: the latest report ``advisor eval`` wrote (``evals/reports/`` in a checkout) and pass rates over time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from advisor.app.display import safe_markdown
from advisor.app.eval_dashboard import history, load_reports
from advisor.app.ui import get_advisor
from advisor.evals.report import reports_dir

st.title("Evals")
st.caption("How often the advisor says what the article says: `advisor eval` writes a report; the latest is shown.")

folder = Path(st.session_state.get("reports_dir") or reports_dir(get_advisor().settings))
views, problems = load_reports(folder)
for problem in problems:
    st.warning(problem)
if not views:
    st.info("No eval report yet. Run `advisor eval` to write one to evals/reports/.")
    st.stop()

latest = views[-1]
st.subheader(f"Latest report: {latest.id}")
st.caption(
    f"{latest.provider} / {latest.model} · {latest.cases} cases"
    + (f" · {latest.wall_time_s:.0f} s" if latest.wall_time_s is not None else "")
)
overall, *_ = st.columns(3)
overall.metric("Overall pass rate", "n/a" if latest.overall is None else f"{latest.overall:.1%}")

if latest.categories:
    st.markdown("**Pass rate by category**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "category": c.name,
                    "passed": c.passed,
                    "total": c.total,
                    "errors": c.errors,
                    "pass rate": None if c.rate is None else round(100 * c.rate, 1),
                }
                for c in latest.categories
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"pass rate": st.column_config.ProgressColumn("pass rate", format="%.1f%%", max_value=100)},
    )

rows = history(views)
if len(views) > 1 and rows:
    st.markdown("**Pass rate over past reports**")
    frame = pd.DataFrame(rows).pivot_table(index="report", columns="category", values="pass_rate")
    st.line_chart(frame * 100, y_label="pass rate (%)")

st.markdown(f"**Failures ({len(latest.failures)})**")
if not latest.failures:
    st.success("Every case passed.")
for f in latest.failures:
    with st.expander(f"{f.id} · {f.category} · {f.status}"):
        st.markdown(f"**Question:** {safe_markdown(f.question)}")
        if f.expected:
            st.markdown(f"**Expected:** {safe_markdown(f.expected)}")
        st.markdown("**Why it failed:**\n" + "\n".join(f"- {safe_markdown(r)}" for r in f.reasons or ["(no reason)"]))
        st.markdown("**Answer:**")
        st.text(f.answer or "(empty)")
