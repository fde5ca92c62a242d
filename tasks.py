#!/usr/bin/env python3
"""The project's two commands, needing nothing but Python 3.11+:

    python3 tasks.py run     set up (first time only) and start the chat UI on the embedded models
    python3 tasks.py test    set up (first time only), lint (ruff check, ruff format --check, mypy), run the tests

Set-up means: a virtualenv in .venv, the package installed into it (re-done when pyproject.toml
changes), and for tests Debian's chromium for the browser test (installed with apt-get when running
as root). Extra arguments go to the UI (``run``) or to pytest (``test``): ``python3 tasks.py test -m "not slow"``
is the inner-loop tier. Any lint or type finding fails ``test`` before pytest starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
LINT = (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",))


def sh(*cmd: str, **kw: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def setup(extra: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]})")
    if not PY.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
        sh(str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extra.encode()).hexdigest()
    stamp = VENV / f".setup-{extra or 'base'}"
    if not stamp.exists() or stamp.read_text() != digest:
        print("Installing the advisor and its dependencies (the first time builds llama-cpp-python: ~5 min) ...")
        target = f".[{extra}]" if extra else "."
        sh(str(PY), "-m", "pip", "install", "--quiet", "-e", target, cwd=ROOT)
        stamp.write_text(digest)


def ensure_chromium() -> None:
    if shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's chromium for the browser test ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh("apt-get", "update", "-qq", env=env)
        sh("apt-get", "install", "-y", "-qq", "chromium", env=env)
    else:
        print("note: chromium is not installed and apt-get can't run here; the browser test will be skipped")


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test", "setup"):
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "run":
        setup("")
        return subprocess.call([str(PY), "-m", "advisor.cli", "ui", *rest], cwd=ROOT)
    setup("dev")
    if command == "setup":
        return 0
    ensure_chromium()
    for check in LINT:
        print("+", " ".join(check), flush=True)
        if subprocess.call([str(PY), "-m", *check], cwd=ROOT) != 0:
            print(f"lint failed: {' '.join(check)}", file=sys.stderr)
            return 1
    return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
