"""Conversation memory: turn a follow-up ("and how much do they make?") into a standalone question.

The rules below handle the common shapes without a model: "what about X?" swaps the role in the
previous question for X; a question that leans on "they"/"it"/"that role" gets the role the
conversation was about. A capable model may rewrite instead (see :mod:`advisor.answering.answer`); the rules
stay the fallback. It deliberately keeps no state: the caller passes the history each time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

ROLE_PATTERNS = {
    "AI Engineer": re.compile(r"\b(ai|a\.i\.|artificial intelligence)[ -]eng(ineer|ineers|ineering)?\b", re.I),
    "ML Engineer": re.compile(r"\b(ml|machine[ -]learning)[ -]eng(ineer|ineers|ineering)?\b", re.I),
    "Data Scientist": re.compile(r"\b(data[ -]scien(tist|tists|ce)|ds roles?)\b", re.I),
}
PLURAL = {"AI Engineer": "AI engineers", "ML Engineer": "ML engineers", "Data Scientist": "data scientists"}
FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|so|but|what about|how about|same for|and what about|what of|ok,?|okay,?)\b", re.I
)
WHAT_ABOUT = re.compile(r"^\s*(?:and |so |but )?(?:what|how) about\s+(.+?)\s*[?.!]*\s*$", re.I)
PRONOUN = re.compile(
    r"\b(they|them|their|theirs|it|its|that role|this role|that job|this job|that path|those roles|the latter|the former)\b",
    re.I,
)


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


def roles_in(text: str) -> list[str]:
    found = [(m.start(), name) for name, pattern in ROLE_PATTERNS.items() for m in [pattern.search(text)] if m]
    return [name for _, name in sorted(found)]


def is_follow_up(question: str, history: Sequence[Turn]) -> bool:
    if not any(t.role == "user" for t in history):
        return False
    if FOLLOW_UP_START.match(question):
        return True
    words = re.findall(r"\w+", question)
    return not roles_in(question) and (bool(PRONOUN.search(question)) or len(words) <= 3)


def _last_topic(history: Sequence[Turn]) -> tuple[str | None, list[str]]:
    """The most recent user question, and the roles the conversation was last about."""
    last_question = next((t.content for t in reversed(history) if t.role == "user"), None)
    for turn in reversed(history):
        roles = roles_in(turn.content)
        if roles and turn.role == "user":
            return last_question, roles
        # An answer that names one role set the topic ("Go AI Engineer."); one that names several (a quoted
        # table row) says nothing about which one "they" means, so look further back.
        if len(roles) == 1:
            return last_question, roles
    return last_question, []


def rewrite_follow_up(question: str, history: Sequence[Turn]) -> str:
    """A standalone form of ``question`` given ``history`` (unchanged when it already stands alone)."""
    if not is_follow_up(question, history):
        return question
    previous, topic_roles = _last_topic(history)
    if previous is None:
        return question
    new_roles = roles_in(question)
    match = WHAT_ABOUT.match(question)
    if match and new_roles:
        prev_roles = roles_in(previous)
        if prev_roles:
            rewritten = previous
            for old in prev_roles:
                rewritten = ROLE_PATTERNS[old].sub(PLURAL[new_roles[0]], rewritten)
            return rewritten
        return f"{previous} ({', '.join(PLURAL[r] for r in new_roles)})"
    if match and not new_roles:
        return f"{previous} {match.group(1)}?"
    if not new_roles and topic_roles:
        target = " and ".join(PLURAL[r] for r in topic_roles)
        replaced, n = PRONOUN.subn(target, question, count=1)
        rest = FOLLOW_UP_START.sub("", replaced).strip(" ,")
        return rest if n else f"{rest.rstrip('?')} for {target}?"
    return f"{previous} {question}"
