"""Thumbs up / down on answers, kept on disk under ``settings.feedback_dir``.

Every vote is one line in ``feedback.jsonl``. A thumbs-down also becomes a *draft eval case* in
``drafts/<id>.json``: the question, the history it was asked in, the answer given and its sources, with
``status: "draft"`` and an empty ``expected`` for a maintainer to fill in before promoting it into the
eval set. It deliberately decides nothing about what the right answer was.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from advisor.errors import InputError
from advisor.fileio import atomic_write
from advisor.settings import Settings

Vote = Literal["up", "down"]
MAX_COMMENT_CHARS = 2000


@dataclass
class FeedbackResult:
    id: str
    vote: Vote
    draft_path: Path | None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2))


def record(
    settings: Settings,
    vote: Vote,
    question: str,
    answer: dict[str, Any],
    history: list[dict[str, str]] | None = None,
    comment: str = "",
) -> FeedbackResult:
    """Store a vote on ``answer`` (an ``Answer.to_dict()``); a thumbs-down also writes a draft eval case."""
    if vote not in ("up", "down"):
        raise InputError("feedback must be 'up' or 'down'")
    now = datetime.now(UTC)
    digest = hashlib.sha256(f"{question}\n{answer.get('answer', '')}".encode()).hexdigest()[:10]
    feedback_id = f"{now.strftime('%Y%m%dT%H%M%S')}-{digest}"
    entry = {
        "id": feedback_id,
        "created": now.isoformat(timespec="seconds"),
        "vote": vote,
        "comment": comment[:MAX_COMMENT_CHARS],
        "question": question,
        "answer": answer.get("answer", ""),
        "sources": answer.get("sources", []),
        "refused": answer.get("refused", False),
        "model": answer.get("model", ""),
        "mode": answer.get("mode", ""),
    }
    folder = settings.feedback_dir
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "feedback.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    draft_path = None
    if vote == "down":
        draft_path = folder / "drafts" / f"{feedback_id}.json"
        _write_json(
            draft_path,
            {
                "id": f"feedback-{feedback_id}",
                "status": "draft",
                "category": "feedback",
                "created": entry["created"],
                "question": question,
                "history": history or [],
                "answer": entry["answer"],
                "sources": entry["sources"],
                "refused": entry["refused"],
                "model": entry["model"],
                "comment": entry["comment"],
                "expected": {"position": "", "must_include": [], "must_not_include": []},
            },
        )
    return FeedbackResult(feedback_id, vote, draft_path)


def votes(settings: Settings) -> list[dict[str, Any]]:
    """All recorded votes, oldest first (unreadable lines are skipped, not fatal)."""
    path = settings.feedback_dir / "feedback.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def drafts(settings: Settings) -> list[Path]:
    """Draft eval cases waiting for a maintainer, oldest first."""
    return sorted((settings.feedback_dir / "drafts").glob("*.json"))
