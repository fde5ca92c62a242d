"""Find my path: a short profile -> which role fits, with cited reasons (logic: advisor.app.pathfinder)."""

from __future__ import annotations

import streamlit as st

from advisor.app import pathfinder
from advisor.app.ui import get_advisor, render_cited
from advisor.errors import AdvisorError

st.title("Find my path")
st.caption(
    "Tell the advisor where you are; it points you to the role the article says fits, and shows why. "
    "What the article doesn't cover, it says."
)

with st.form("profile"):
    background = st.selectbox("Current role or background", list(pathfinder.BACKGROUNDS))
    years = st.number_input("Years of experience", min_value=0, max_value=60, value=3, step=1)
    skills = st.text_input("Skills", placeholder="e.g. Python, APIs, SQL, PyTorch")
    enjoys = st.text_area("What do you enjoy doing?", placeholder="e.g. building products people use", height=80)
    degree = st.selectbox("Highest degree", pathfinder.DEGREES, index=1)
    submitted = st.form_submit_button("Recommend a path", type="primary")

if submitted:
    profile = pathfinder.Profile(background, int(years), skills, enjoys, degree)
    try:
        with st.spinner("Reading the article for you ..."):
            st.session_state.recommendation = pathfinder.recommend(get_advisor(), profile)
    except AdvisorError as exc:
        st.session_state.pop("recommendation", None)
        st.error(f"Sorry, I couldn't make a recommendation: {exc}")

rec: pathfinder.Recommendation | None = st.session_state.get("recommendation")
if rec is not None:
    if rec.role:
        also = f" (or {rec.runner_up})" if rec.runner_up else ""
        st.success(f"**Recommended: {rec.role}**{also}")
    else:
        st.warning("The article doesn't point to one role for this profile.")
    if rec.reasons:
        st.markdown("**Why**")
        for reason in rec.reasons:
            st.markdown(f"- {reason}")
    for note in rec.not_covered:
        st.info(note, icon=":material/info:")
    for section in rec.sections:
        st.subheader(section.heading)
        render_cited(section.answer)
