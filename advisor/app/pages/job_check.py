"""Is this job really...? A pasted job description -> which role it really is (logic: advisor.app.job_check).

The roles it can tell apart are the ones the knowledge base's documents compare.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from advisor.app import job_check as jobs
from advisor.app.display import safe_markdown
from advisor.app.pathfinder import indefinite
from advisor.app.ui import get_advisor, render_cited
from advisor.errors import AdvisorError

st.title("Is this job really…?")
st.caption(
    "Titles are loose; the work a posting describes is not. Paste a posting: each of its sentences is compared "
    "with what the knowledge base says about each role, whatever the title says."
)

try:
    catalog = get_advisor().catalog()
except AdvisorError as exc:
    st.error(str(exc))
    st.stop()
if not catalog.names:
    st.info("The knowledge base compares no roles yet: add a career document on the Knowledge base page.")
    st.stop()

with st.form("job"):
    title = st.text_input("Job title (optional; otherwise the first line)", placeholder=f"e.g. {catalog.names[0]}")
    posting = st.text_area("Job description", height=220, placeholder="Paste the whole posting here")
    submitted = st.form_submit_button("Which role is it really?", type="primary")

if submitted:
    try:
        with st.spinner("Reading the posting ..."):
            st.session_state.job_verdict = jobs.assess(get_advisor(), posting, title)
    except AdvisorError as exc:
        st.session_state.pop("job_verdict", None)
        st.error(str(exc))

verdict: jobs.JobVerdict | None = st.session_state.get("job_verdict")
if verdict is not None:
    if verdict.role:
        blend = f", with a good part of {verdict.blend_with}" if verdict.blend_with else ""
        st.success(safe_markdown(f"**This is really {indefinite(verdict.role)} {verdict.role} job**{blend}."))
        if verdict.title_mismatch:
            st.warning(
                safe_markdown(
                    f"The title says {', '.join(verdict.title_roles)}, but the work described is {verdict.role} work."
                )
            )
    for note in verdict.notes:
        st.info(safe_markdown(note), icon=":material/info:")
    roles = list(verdict.scores)
    scores = pd.DataFrame({"role": roles, "weight of evidence": [verdict.scores[r] for r in roles]})
    st.bar_chart(scores, x="role", y="weight of evidence", horizontal=True, height=60 + 30 * len(roles))
    if verdict.evidence:
        st.subheader("Evidence from the posting")
        for role in roles:
            items = [e for e in verdict.evidence if e.role == role]
            if not items:
                continue
            with st.expander(safe_markdown(f"{role}: {len(items)} sentence(s)"), expanded=role == verdict.role):
                for e in items:
                    duty = " · *what the hire will do*" if e.duty else ""
                    st.markdown(
                        f"- “{safe_markdown(e.sentence)}”{duty}  \n"
                        f"  the knowledge base on {safe_markdown(role)}: “{safe_markdown(e.passage)}”"
                    )
    for section in verdict.sections:
        st.subheader(safe_markdown(f"The knowledge base: {section.heading[0].lower()}{section.heading[1:]}"))
        render_cited(section.answer)
