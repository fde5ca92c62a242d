"""Is this job really...? A pasted job description -> which role it really is (logic: advisor.app.job_check)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from advisor.app import job_check as jobs
from advisor.app.display import safe_markdown
from advisor.app.pathfinder import ARTICLE_NAMES
from advisor.app.ui import get_advisor, render_cited
from advisor.errors import AdvisorError

st.title("Is this job really…?")
st.caption(
    "The article's advice: read the job description, not the title — look for what the team actually ships. "
    "Paste a posting and see what its own sentences say."
)

with st.form("job"):
    title = st.text_input("Job title (optional; otherwise the first line)", placeholder="e.g. AI Engineer")
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
        st.success(f"**This is really {ARTICLE_NAMES[verdict.role]} job**{blend}.")
        if verdict.title_mismatch:
            st.warning(
                f"The title says {', '.join(verdict.title_roles)}, but the work described is {verdict.role} work."
            )
    for note in verdict.notes:
        st.info(note, icon=":material/info:")
    scores = pd.DataFrame({"role": list(jobs.ROLES), "weight of evidence": [verdict.scores[r] for r in jobs.ROLES]})
    st.bar_chart(scores, x="role", y="weight of evidence", horizontal=True, height=180)
    if verdict.evidence:
        st.subheader("Evidence from the posting")
        for role in jobs.ROLES:
            items = [e for e in verdict.evidence if e.role == role]
            if not items:
                continue
            with st.expander(f"{role}: {len(items)} signal(s)", expanded=role == verdict.role):
                for e in items:
                    ships = " · *what the team ships*" if e.ships else ""
                    st.markdown(f"- **{e.signal}**{ships}: “{safe_markdown(e.sentence)}”")
    for section in verdict.sections:
        st.subheader(f"The article: {section.heading[0].lower()}{section.heading[1:]}")
        render_cited(section.answer)
