"""``advisor ui`` (start the Streamlit app) and ``advisor info`` (the configuration in use)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from advisor import resources
from advisor.errors import InputError

# The checkout's .streamlit/config.toml, on the command line: Streamlit reads that file from the current
# directory only, and an installed app runs from anywhere. Offline (no usage statistics, no "Deploy"
# toolbar linking out), XSRF protection, the upload limit in MB. tests/test_install.py keeps the two equal.
STREAMLIT_OPTIONS = {
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "client.showErrorDetails": "none",
    "server.headless": "true",
    "server.maxUploadSize": "10",
    "server.enableXsrfProtection": "true",
    "theme.base": "light",
    "theme.primaryColor": "#3b5bdb",
}


def streamlit_command(host: str, port: int) -> list[str]:
    """``streamlit run`` on the packaged app, with every option it needs given explicitly."""
    app = resources.app_script()
    if not app.is_file():
        raise InputError(f"the Streamlit app is not found at {app}")
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port)]
    command += ["--server.address", host]
    for option, value in STREAMLIT_OPTIONS.items():
        command += [f"--{option}", value]
    return command


def cmd_ui(args: argparse.Namespace, advisor: Any) -> int:
    command = streamlit_command(args.host, args.port)
    print(f"Advisor UI on http://{args.host}:{args.port}", flush=True)
    if os.name == "posix":
        # Streamlit takes this process's place, so signals (Ctrl-C, `docker stop`, a test's terminate())
        # reach the server itself rather than a parent that would leave it running.
        os.execv(sys.executable, command)
    return subprocess.call(command, env=os.environ.copy())


def cmd_info(args: argparse.Namespace, advisor: Any) -> int:
    print(json.dumps(advisor.settings.describe(), indent=2))
    return 0
