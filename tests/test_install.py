"""An install that works anywhere: the wheel carries the app, its pages, the knowledge and the eval data.

The slow test builds the wheel from a copy of the checkout, installs it into a fresh virtualenv (the
dependencies come from this venv through a ``.pth`` file, so nothing is compiled or downloaded), and from
a directory outside the checkout, with no ``ADVISOR_DATA_DIR``, asks a question, loads the eval suite,
runs the packaged app under AppTest, starts ``advisor ui`` and checks that the data went to the platform
data directory, not next to the installed code or into the checkout. The fast tests keep the packaging
config honest: every package is listed, and ``advisor ui`` passes every option of .streamlit/config.toml.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from advisor.cli.ui import STREAMLIT_OPTIONS
from advisor.settings import PROJECT_DIR
from tests.llama_server import free_port, stop, wait_http

PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
QUESTION = "What's the mid-level pay range for ML engineers?"
# What the wheel is built from: the files the Dockerfile copies too (not the checkout's data, venv or build/).
SOURCES = ("pyproject.toml", "README.md", "advisor", "knowledge", "evals")
# Run in the new venv: where the installed advisor finds its files, and the packaged app under AppTest.
PROBE = """
import json, sys
from streamlit.testing.v1 import AppTest
import advisor
from advisor import resources
from advisor.evals import load_suite
from advisor.evals import report
from advisor.settings import load_settings

settings = load_settings()
app = AppTest.from_file(str(resources.app_script()), default_timeout=600).run()
print(json.dumps({
    "package": advisor.__file__,
    "checkout": str(resources.checkout_dir()),
    "data_dir": str(settings.data_dir),
    "knowledge_dir": str(settings.knowledge_dir),
    "eval_cases": len(load_suite().cases),
    "reports_dir": str(report.REPORTS_DIR),
    "app_errors": [str(e.value) for e in app.exception] + [str(e.value) for e in app.error],
    "app_titles": [str(t.value) for t in app.title],
}))
"""


def _subpackages() -> set[str]:
    """Every folder of advisor/ holding Python code, as a package name."""
    package = PROJECT_DIR / "advisor"
    return {
        ".".join(path.parent.relative_to(PROJECT_DIR).parts)
        for path in package.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_pyproject_lists_every_package_of_the_advisor() -> None:
    # The list is explicit (knowledge/ and evals/ are mapped into the wheel as data packages, which package
    # discovery can't do), so a new sub-package must be added to it or the wheel ships without it.
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert sorted(_subpackages() - listed) == []
    mapped = PYPROJECT["tool"]["setuptools"]["package-dir"]
    assert {name: (PROJECT_DIR / folder).is_dir() for name, folder in mapped.items()} == dict.fromkeys(mapped, True)


def test_advisor_ui_passes_every_option_of_the_checkout_streamlit_config() -> None:
    # Streamlit reads .streamlit/config.toml from the current directory only: an installed `advisor ui` passes
    # the same options on the command line.
    config = tomllib.loads((PROJECT_DIR / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    options = {f"{section}.{key}": value for section, values in config.items() for key, value in values.items()}
    expected = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in options.items()}
    assert expected == STREAMLIT_OPTIONS


def _build_wheel(tmp: Path) -> Path:
    """The wheel, built from a copy of the checkout's sources (a build in place leaves a build/ folder behind,
    whose stale files a later build would ship)."""
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        if (PROJECT_DIR / name).is_dir():
            shutil.copytree(PROJECT_DIR / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "reports"))
        else:
            shutil.copy2(PROJECT_DIR / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"), str(source)]
    if _has_build_backend():
        command.insert(5, "--no-build-isolation")  # the backend of this venv: no network
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp / "dist").glob("advisor-*.whl")
    return wheel


def _has_build_backend() -> bool:
    """Whether this venv has the setuptools pyproject.toml builds with (a fresh Python 3.12 venv has none)."""
    from packaging.requirements import Requirement

    for line in PYPROJECT["build-system"]["requires"]:
        requirement = Requirement(line)
        if requirement.name == "setuptools":
            try:
                return requirement.specifier.contains(version("setuptools"))
            except PackageNotFoundError:
                return False
    return True


def _venv(tmp: Path, wheel: Path) -> tuple[Path, Path]:
    """A fresh virtualenv with the wheel installed and this venv's packages importable: (bin dir, site-packages)."""
    home = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(home)
    bin_dir = home / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps", "--no-index"]
    result = subprocess.run([*install, str(wheel)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    where = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(
        subprocess.run([python, "-c", where], capture_output=True, text=True, check=True).stdout.strip()
    )
    # After the install, so pip never sees this venv's own (editable) advisor.
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "_advisor_test_dependencies.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    return bin_dir, site_packages


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_runs_anywhere_with_data_in_the_platform_data_dir(
    tmp_path: Path,
) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/", 1)[0] for n in names} == {"advisor", wheel.name.split("-py3")[0] + ".dist-info"}
    for shipped in (
        "advisor/app/streamlit_main.py",
        "advisor/app/pages/chat.py",
        "advisor/app/pages/knowledge_base.py",
        "advisor/bundled/knowledge/ai-engineer-vs-ml-engineer-vs-data-scientist.md",
        "advisor/bundled/evals/positions.yaml",
        "advisor/bundled/evals/cases.yaml",
        "advisor/bundled/evals/baseline.json",
        "advisor/providers/data/all-MiniLM-L6-v2/tokenizer.json",
    ):
        assert shipped in names

    bin_dir, site_packages = _venv(tmp_path, wheel)
    installed = _files(site_packages)
    elsewhere, xdg = tmp_path / "elsewhere", tmp_path / "home" / ".local" / "share"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "OPENAI_", "PYTHON", "XDG_"))}
    env |= {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(xdg), "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}
    env.pop("VIRTUAL_ENV", None)
    advisor = str(bin_dir / "advisor")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, env=env, cwd=elsewhere, timeout=900)

    answer = run(advisor, "ask", QUESTION)
    assert answer.returncode == 0, answer.stderr
    assert "$200K–$380K" in answer.stdout

    probe = run(str(bin_dir / "python"), "-c", PROBE)
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    data = xdg / "advisor"
    assert Path(found["package"]).is_relative_to(site_packages)
    assert found["checkout"] == "None"
    assert Path(found["data_dir"]) == data
    assert Path(found["knowledge_dir"]) == site_packages / "advisor" / "bundled" / "knowledge"
    assert found["eval_cases"] > 50
    assert Path(found["reports_dir"]) == data / "reports"
    assert found["app_errors"] == [] and found["app_titles"] == ["Career advisor"]

    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        ui = subprocess.Popen(
            [advisor, "ui", "--port", str(port)], env=env, cwd=elsewhere, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/_stcore/health", 120, ui)
        finally:
            stop(ui, timeout=20)
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]

    assert (data / "manifest.json").is_file() and (data / "chroma").is_dir()
    written = {p for p in _files(site_packages) - installed if p.suffix != ".pyc"}
    assert written == set()  # nothing next to the installed code
    assert not any(Path(found[key]).is_relative_to(PROJECT_DIR) for key in ("package", "data_dir", "knowledge_dir"))
