"""What a knowledge-base write reports: one :class:`Change` per document, gathered in a :class:`SyncReport`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Progress = Callable[[int, int], None]
Status = Literal["added", "replaced", "unchanged", "removed"]


@dataclass
class Change:
    doc_id: str
    status: Status
    chunks: int = 0
    title: str = ""
    source: str = ""
    old_hash: str | None = None  # None: the document was not there before
    new_hash: str | None = None  # None: the document is not there after
    entities: list[str] = field(default_factory=list)  # what the document compares, as learned on ingest


@dataclass
class SyncReport:
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.changes if c.status == status)

    @property
    def changed(self) -> list[Change]:
        """The changes that altered the knowledge base (what an eval diff needs to look at)."""
        return [c for c in self.changes if c.status != "unchanged"]
