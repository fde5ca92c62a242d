"""Where the advisor's own files are: the bundled knowledge and eval data, the Streamlit app, the data dir.

Run from a source checkout, these are the checkout's folders: ``knowledge/``, ``evals/`` (reports in
``evals/reports/``) and ``data/``. Installed from a wheel, they are the copies the wheel ships in
``advisor/bundled/`` (pyproject.toml maps ``knowledge/`` and ``evals/`` there at build time) and the
platform's user data directory (``$XDG_DATA_HOME/advisor`` on Linux): never a folder next to the
installed code. ``ADVISOR_DATA_DIR`` and ``ADVISOR_KNOWLEDGE_DIR`` override these defaults in
:mod:`advisor.settings`. It deliberately creates nothing: whoever writes to a folder creates it.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLED_DIR = PACKAGE_DIR / "bundled"  # only in an installed package: the wheel's copies of knowledge/ and evals/
APP_NAME = "advisor"  # the platform data directory's name


def checkout_dir() -> Path | None:
    """The source checkout the package runs from (an editable install counts), or None when installed."""
    if BUNDLED_DIR.is_dir():
        return None
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else None


def _data_root() -> Path:
    """The folder holding ``knowledge/`` and ``evals/``."""
    return checkout_dir() or BUNDLED_DIR


def knowledge_dir() -> Path:
    """The knowledge the advisor ships with (the default of ``ADVISOR_KNOWLEDGE_DIR``)."""
    return _data_root() / "knowledge"


def evals_dir() -> Path:
    """The eval suite: ``positions.yaml``, ``cases.yaml`` and the CI baseline ``baseline.json``."""
    return _data_root() / "evals"


def app_dir() -> Path:
    """The Streamlit app: ``main.py`` and its ``pages/``."""
    return PACKAGE_DIR / "app"


def app_script() -> Path:
    """The script ``advisor ui`` hands to ``streamlit run``."""
    return app_dir() / "streamlit_main.py"


def default_data_dir() -> Path:
    """The default of ``ADVISOR_DATA_DIR``: ``data/`` in a checkout, else the platform's user data directory."""
    root = checkout_dir()
    if root is not None:
        return root / "data"
    import platformdirs

    # appauthor=False: %LOCALAPPDATA%\advisor on Windows rather than advisor\advisor.
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def reports_dir(data_dir: Path) -> Path:
    """Where ``advisor eval`` writes reports: ``evals/reports/`` in a checkout, else the data dir's ``reports/``."""
    root = checkout_dir()
    return root / "evals" / "reports" if root is not None else data_dir / "reports"
