"""Conversation memory: turn a follow-up ("and how much do they make?") into a standalone question.

The rules below handle the common shapes without a model, using the entities and backgrounds the
knowledge base holds (:class:`~advisor.kb.entities.EntityCatalog`): "what about X?" swaps the background
or the entity the previous question was about for X; a question that leans on "they"/"it"/"that role"
gets the entity the conversation was about. A capable model may rewrite instead (see
:mod:`advisor.answering.answer`); the rules stay the fallback. It deliberately keeps no state: the
caller passes the history each time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from advisor.answering.plan import BACKGROUND
from advisor.kb.entities import EntityCatalog, name_pattern

FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|so|but|what about|how about|same for|and what about|what of|ok,?|okay,?)\b", re.I
)
WHAT_ABOUT = re.compile(r"^\s*(?:and |so |but |ok,? |okay,? )?(?:what|how) about\s+(.+?)\s*[?.!]*\s*$", re.I)
PRONOUN = re.compile(
    r"\b(they|them|their|theirs|it|its|that role|this role|that job|this job|that path|those roles|the latter|the former)\b",
    re.I,
)
ARTICLE = re.compile(r"^(an?|the)\s+", re.I)


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


def is_follow_up(question: str, history: Sequence[Turn], catalog: EntityCatalog) -> bool:
    if not any(t.role == "user" for t in history):
        return False
    if FOLLOW_UP_START.match(question):
        return True
    words = re.findall(r"\w+", question)
    return not catalog.find(question) and (bool(PRONOUN.search(question)) or len(words) <= 3)


def _last_topic(history: Sequence[Turn], catalog: EntityCatalog) -> tuple[str | None, list[str]]:
    """The most recent user question, and the entities the conversation was last about."""
    last_question = next((t.content for t in reversed(history) if t.role == "user"), None)
    for turn in reversed(history):
        named = catalog.find(turn.content)
        if named and turn.role == "user":
            return last_question, named
        # An answer that names one entity set the topic; one that names several (a quoted table row)
        # says nothing about which one "they" means, so look further back.
        if len(named) == 1:
            return last_question, named
    return last_question, []


def _swap_entities(text: str, old: list[str], new: str, catalog: EntityCatalog) -> str:
    for name in old:
        for surface in sorted((name, *catalog.aliases.get(name, ())), key=len, reverse=True):
            text = re.sub(name_pattern(surface), catalog.plural(new), text, flags=re.I)
    return text


def rewrite_follow_up(question: str, history: Sequence[Turn], catalog: EntityCatalog) -> str:
    """A standalone form of ``question`` given ``history`` (unchanged when it already stands alone)."""
    if not is_follow_up(question, history, catalog):
        return question
    previous, topic = _last_topic(history, catalog)
    if previous is None:
        return question
    new = catalog.find(question)
    match = WHAT_ABOUT.match(question)
    if match:
        subject = ARTICLE.sub("", match.group(1).strip())
        asked_as = BACKGROUND.search(previous.replace("’", "'"))
        # The previous question was about the asker's background: "what about X?" asks the same for
        # someone with background X (when the knowledge base advises that background).
        if asked_as and catalog.background_of(subject) is not None:
            start, end = asked_as.span("who")
            return f"{previous[:start]}{subject}{previous[end:]}"
        before = catalog.find(previous)
        if new and before:
            return _swap_entities(previous, before, new[0], catalog)
        if new:
            return f"{previous} ({', '.join(catalog.plural(n) for n in new)})"
        return f"{previous} {match.group(1)}?"
    if not new and topic:
        target = " and ".join(catalog.plural(n) for n in topic)
        replaced, n = PRONOUN.subn(target, question, count=1)
        rest = FOLLOW_UP_START.sub("", replaced).strip(" ,")
        return rest if n else f"{rest.rstrip('?')} for {target}?"
    return f"{previous} {question}"
