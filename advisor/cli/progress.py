"""A progress bar on stderr for long CLI commands (tqdm, imported only when a command needs one)."""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(label: str) -> Any:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, desc=label, unit="item", file=sys.stderr, leave=False)
        bar["bar"].n = done
        bar["bar"].refresh()
        if done >= total:
            bar["bar"].close()

    return update
