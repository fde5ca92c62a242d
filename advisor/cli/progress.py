"""A progress bar on stderr for long CLI commands (tqdm, imported only when a command needs one).

The bar shows done / total, the rate and the time left. The total may change while the work runs (an ingest
estimates it from the bytes still to read); the bar follows it.
"""

from __future__ import annotations

import sys
from typing import Any


def progress_bar(label: str, unit: str = "item") -> Any:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def update(done: int, total: int) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(
                total=total, desc=label, unit=unit, unit_scale=False, file=sys.stderr, leave=False, smoothing=0.1
            )
        progress = bar["bar"]
        if progress.disable:
            return
        if total != progress.total:
            progress.total = total
        progress.update(done - progress.n)
        if done >= total:
            progress.close()

    return update
