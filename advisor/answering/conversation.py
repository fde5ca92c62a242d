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
from advisor.kb.entities import EntityCatalog
from advisor.retrieval.lexical import tokenize
from advisor.text import indefinite

FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|so|but|what about|how about|same for|and what about|what of|ok,?|okay,?)\b", re.I
)
WHAT_ABOUT = re.compile(r"^\s*(?:and |so |but |ok,? |okay,? )?(?:what|how) about\s+(.+?)\s*[?.!]*\s*$", re.I)
# "And SREs?", "And for platform engineers?", "Same for analysts?": a bare subject after a connective.
BARE_SUBJECT = re.compile(
    r"^\s*(?:and|also|same|so|but|ok,?|okay,?)(?:\s+(?:for|with|of|the same for))?\s+(?P<subject>[^?.!]{2,60}?)\s*[?.!]*\s*$",
    re.I,
)
QUESTION_WORD = re.compile(r"(what|which|who|when|where|why|how|should|could|would|can|will|do|does|is|are)\b", re.I)
PRONOUN = re.compile(
    r"\b(they|them|their|theirs|it|its|that role|this role|that job|this job|that path|those roles|the latter|the former)\b",
    re.I,
)
ARTICLE = re.compile(r"^(an?|the)\s+", re.I)
PERSONAL = re.compile(r"\b(i|me|my|i'm|i'd|i've)\b", re.I)
PERSONAL_MAX_WORDS = 8  # longer questions about oneself usually say what they are about


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
    if catalog.find(question):
        return False
    # "What would I need to learn?": short, about the asker, naming nothing: it continues the thread.
    personal = len(words) <= PERSONAL_MAX_WORDS and bool(PERSONAL.search(question))
    return bool(PRONOUN.search(question)) or len(words) <= 3 or personal


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


def _with_article(text: str, start: int, word: str) -> tuple[str, int]:
    """``text`` with the "a"/"an" just before ``start`` made right for ``word`` (and the new start)."""
    match = re.search(r"\b(an?)\s+$", text[:start], re.I)
    if not match:
        return text, start
    head = text[: match.start(1)] + indefinite(word) + " "
    return head + text[start:], len(head)


def _swap_entities(text: str, old: list[str], new: str, catalog: EntityCatalog) -> str:
    """``text`` with every mention of the ``old`` entities replaced by ``new``, singular or plural as it was."""
    for start, end, name in sorted(catalog.spans(text), reverse=True):
        if name not in old:
            continue
        said = text[start:end].lower().replace("’", "'")
        possessive = "'s" if said.endswith("'s") else "'" if said.endswith("s'") else ""
        said = said.removesuffix("'s").removesuffix("'")
        plural = said.endswith("s") and not name.lower().endswith("s")
        word = (catalog.plural(new) if plural else singular(new)) + (
            possessive if not plural or not possessive else "'"
        )
        text = text[:start] + word + text[end:]
        if not plural:
            text, _ = _with_article(text, start, word)
    return text


def singular(name: str) -> str:
    """How a name reads in running text: "Platform Engineer" -> "platform engineer" (acronyms and inner capitals kept)."""
    return " ".join(w.lower() if w[:1].isupper() and w[1:].islower() else w for w in name.split())


def rewrite_follow_up(question: str, history: Sequence[Turn], catalog: EntityCatalog) -> str:
    """A standalone form of ``question`` given ``history`` (unchanged when it already stands alone)."""
    if not is_follow_up(question, history, catalog):
        return question
    previous, topic = _last_topic(history, catalog)
    if previous is None:
        return question
    new = catalog.find(question)
    asked_before = BACKGROUND.search(previous.replace("’", "'"))
    asked_now = BACKGROUND.search(question.replace("’", "'"))
    if asked_before and asked_now and not new:  # "What if I come from operations instead?": same question, new asker
        start = asked_before.start("who")
        end = start + len(re.split(r"[.?!;]", previous[start:], maxsplit=1)[0])  # the whole of who they were
        who = re.sub(r"\s+instead$", "", asked_now["who"].strip(), flags=re.I)
        who = re.sub(r"^(already|now|also|still)\s+(an?\s+)?", "", who, flags=re.I)
        rest = re.split(r"[?!.]", question[asked_now.end("who") :], maxsplit=1)[0].strip(" ,")
        who = f"{who} {rest}".strip() if rest else who
        rewritten, _ = _with_article(previous[:start] + who + previous[end:], start, who)
        return rewritten
    match = WHAT_ABOUT.match(question)
    bare = BARE_SUBJECT.match(question)
    if not match and bare and (new or catalog.background_of(bare["subject"])) and not PRONOUN.search(question):
        match = re.match(r"(?P<s>.*)", bare["subject"])
    if match and re.search(r"[,;:]\s*\w+", match.group(1)) and new:
        return match.group(1).strip()  # "what about X, who is that a fit for?": its own question, about X
    if match:
        subject = ARTICLE.sub("", match.group(1).strip())
        asked_as = BACKGROUND.search(previous.replace("’", "'"))
        # The previous question was about the asker's background: "what about X?" asks the same for
        # someone with background X (when the knowledge base advises that background).
        background = catalog.background_of(subject)
        if asked_as and background is not None:
            start, end = asked_as.span("who")
            option = next((o for o in background.options if set(tokenize(o)) & set(tokenize(subject))), subject)
            rewritten, start = _with_article(previous[:start] + option + previous[end:], start, option)
            return rewritten
        before = catalog.find(previous)
        if new and before:
            return _swap_entities(previous, before, new[0], catalog)
        if new:
            rest = subject
            for start, end, _ in sorted(catalog.spans(subject), reverse=True):
                rest = rest[:start] + rest[end:]
            rest = re.sub(r"^'s\b|\s+", " ", rest).strip(" ?'")
            if rest:  # "And what about SRE demand?": that topic, for the new entity
                return f"What about the {rest} for {' and '.join(catalog.plural(n) for n in new)}?"
            return f"{previous} ({', '.join(catalog.plural(n) for n in new)})"
        return f"{previous} {match.group(1)}?"
    if not new and topic:
        target = " and ".join(catalog.plural(n) for n in topic)
        replaced, n = PRONOUN.subn(target, question, count=1)
        rest = FOLLOW_UP_START.sub("", replaced).strip(" ,")
        rewritten = rest if n else f"{rest.rstrip('?')} for {target}?"
        asked_as = BACKGROUND.search(previous.replace("’", "'"))
        if asked_as and not BACKGROUND.search(rewritten):  # the asker is still who they said they were
            opening = rewritten[:1].lower() + rewritten[1:] if QUESTION_WORD.match(rewritten) else rewritten
            rewritten = f"As {indefinite(asked_as['who'])} {asked_as['who']}, {opening}"
        return rewritten
    return f"{previous} {question}"
