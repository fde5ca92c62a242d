"""The script ``advisor ui`` hands to ``streamlit run``: the whole app (see :mod:`advisor.app.main`)."""

from advisor.app.main import run

run()
