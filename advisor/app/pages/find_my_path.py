"""Find my path: a short profile -> which role fits, with cited reasons (logic: advisor.app.pathfinder).

The backgrounds offered are the ones the knowledge base's documents advise; the roles, the ones they compare.
"""

from __future__ import annotations

import streamlit as st

from advisor.app import pathfinder
from advisor.app.display import safe_markdown
from advisor.app.ui import get_advisor, render_cited
from advisor.errors import AdvisorError

st.title("Find my path")
st.caption(
    "Tell the advisor where you are; it points you to the role the knowledge base says fits, and shows why. "
    "What the knowledge base doesn't cover, it says."
)

try:
    catalog = get_advisor().catalog()
except AdvisorError as exc:
    st.error(str(exc))
    st.stop()
if not catalog.names:
    st.info("The knowledge base compares no roles yet: add a career document on the Knowledge base page.")
    st.stop()
st.caption(f"Roles in the knowledge base: {safe_markdown(', '.join(catalog.names))}.")

with st.form("profile"):
    background = st.selectbox("Current role or background", pathfinder.background_choices(catalog))
    years = st.number_input("Years of experience", min_value=0, max_value=60, value=3, step=1)
    skills = st.text_input("Skills", placeholder="e.g. the tools and languages you use")
    enjoys = st.text_area("What do you enjoy doing?", placeholder="e.g. the kind of work you like best", height=80)
    degree = st.selectbox("Highest degree", pathfinder.DEGREES, index=1)
    submitted = st.form_submit_button("Recommend a path", type="primary")

if submitted:
    profile = pathfinder.Profile(background, int(years), skills, enjoys, degree)
    try:
        with st.spinner("Reading the knowledge base for you ..."):
            st.session_state.recommendation = pathfinder.recommend(get_advisor(), profile)
    except AdvisorError as exc:
        st.session_state.pop("recommendation", None)
        st.error(f"Sorry, I couldn't make a recommendation: {exc}")

rec: pathfinder.Recommendation | None = st.session_state.get("recommendation")
if rec is not None:
    if rec.role:
        also = f" (or {rec.runner_up})" if rec.runner_up else ""
        st.success(safe_markdown(f"**Recommended: {rec.role}**{also}"))
    else:
        st.warning("The knowledge base doesn't point to one role for this profile.")
    if rec.reasons:
        st.markdown("**Why**")
        for reason in rec.reasons:
            st.markdown(f"- {safe_markdown(reason)}")  # reasons quote the documents
    for note in rec.not_covered:
        st.info(safe_markdown(note), icon=":material/info:")
    for section in rec.sections:
        st.subheader(safe_markdown(section.heading))
        render_cited(section.answer)
