"""The app's pages. Each module is a Streamlit page script that :func:`advisor.app.main.run` hands to
``st.navigation``; Streamlit runs it on every rerun. They are scripts, not modules to import."""
