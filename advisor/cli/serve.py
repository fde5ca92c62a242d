"""``advisor serve``: the OpenAI-compatible API (see :mod:`advisor.api`) on uvicorn.

It refuses to listen beyond loopback without ``ADVISOR_API_KEYS``: the check runs before anything binds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from advisor import access
from advisor.answer_log import configure_logging
from advisor.errors import MissingDependencyError


def cmd_serve(args: argparse.Namespace, advisor: Any) -> int:
    access.check_bind(args.host, advisor.settings.chat_keys)
    try:
        import uvicorn

        from advisor.api.app import create_app
    except ImportError:
        raise MissingDependencyError("advisor[serve]", "advisor serve") from None
    # Python logging as the CLI set it (again: cmd_serve may be called without main); uvicorn's own loggers
    # follow `serve --log-level`, else the same level.
    level = getattr(args, "python_log_level", None)
    configure_logging(advisor.settings, level)
    uvicorn_level = args.log_level or (level or advisor.settings.log_level).lower()
    advisor.warm_up()  # the first request should not wait for the models
    print(f"Advisor API on http://{args.host}:{args.port}/v1 (model id: advisor)", file=sys.stderr, flush=True)
    uvicorn.run(create_app(advisor, args.host), host=args.host, port=args.port, log_level=uvicorn_level)
    return 0
