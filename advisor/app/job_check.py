""" "Is this job really...?": a pasted job description -> which of the knowledge base's roles the work really is.

Titles are loose; the work a posting describes is not. So the verdict comes from the posting's own
sentences, not its title:
- each sentence is compared with what the knowledge base says about each role
  (:mod:`advisor.app.entity_match`) and counts for the role whose passages it matches most closely;
- a sentence that says what the hire will do ("You will ...", "Responsibilities: ...") counts double: it
  describes the work, where the others describe the company, the perks or the requirements;
- the role with the most weight wins; a close second makes it a blend of the two.
The role the title names is found by the knowledge base's catalog. The knowledge base's side (how to read
a posting, what the role does, whether the title's role is sometimes the other one's work) is asked for
and cited through :class:`~advisor.core.Advisor`.
It deliberately uses no chat model for the verdict: the evidence must be sentences the user can check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from advisor.answering.answer import Answer
from advisor.app.entity_match import MIN_SIMILARITY, EntityProfiles, Match
from advisor.app.pathfinder import Section
from advisor.app.questions import DAY_TO_DAY_QUESTION, READING_QUESTION, TITLE_QUESTION, indefinite
from advisor.errors import InputError
from advisor.kb.entities import EntityCatalog
from advisor.text import strip_invisible

MAX_POSTING_CHARS = 20_000
MIN_POSTING_WORDS = 8
MAX_SENTENCE_CHARS = 400  # a sentence shown as evidence is cut here
TITLE_CHARS = 120  # the first line stands for the title when none is given
DUTY = re.compile(
    r"\b(you will|you'll|you would|you'd|you are going to|your (work|role|job|day)|responsibilit(y|ies)|"
    r"what you('ll)? do|day[- ]to[- ]day)\b",
    re.I,
)
DUTY_WEIGHT = 2.0  # a sentence about what the hire will do, against 1 for the rest of the posting
BLEND_RATIO = 0.75  # a second role with at least this share of the winner's weight makes it a blend
_SENTENCES = re.compile(r"(?<=[.!?;])\s+|\n+")
WRAPPED = re.compile(r"\n[ \t]*(?=[a-z])")  # a line that starts in lower case continues the sentence before it
# A posting's sentences are long, so sharing a word with a passage happens by chance: only a close match counts.
MIN_SENTENCE_SIMILARITY = MIN_SIMILARITY


class Profiles(Protocol):
    """What :func:`classify` needs of :class:`~advisor.app.entity_match.EntityProfiles`."""

    catalog: EntityCatalog
    entities: list[str]

    def matches(self, texts: list[str]) -> list[list[Match]]: ...


@dataclass
class Evidence:
    role: str
    sentence: str
    passage: str  # what the knowledge base says about the role, that the sentence matched
    similarity: float
    duty: bool  # the sentence says what the hire will do


@dataclass
class JobVerdict:
    role: str | None
    scores: dict[str, float]
    evidence: list[Evidence]
    title: str
    title_roles: list[str]
    blend_with: str | None = None
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def title_mismatch(self) -> bool:
        return bool(self.role and self.title_roles and self.role not in self.title_roles)


def clean(posting: str) -> str:
    """The posting's text, checked: enough of it to judge, not too much."""
    if not isinstance(posting, str):
        raise InputError("the job description must be text")
    text = strip_invisible(posting).replace("\r\n", "\n").strip()
    if len(text.split()) < MIN_POSTING_WORDS:
        raise InputError("paste the whole job description (at least a few sentences): the title alone says little")
    if len(text) > MAX_POSTING_CHARS:
        raise InputError(f"the job description is too long ({len(text):,} characters; at most {MAX_POSTING_CHARS:,})")
    return text


def classify(posting: str, profiles: Profiles, title: str = "") -> JobVerdict:
    """The deterministic part: which role the posting's sentences describe, with the evidence."""
    text = clean(posting)
    title = title.strip() or next((line.strip() for line in text.splitlines() if line.strip()), "")[:TITLE_CHARS]
    body = WRAPPED.sub(" ", text)
    sentences = [s for s in (raw.strip(" -•*\t") for raw in _SENTENCES.split(body)) if s and s != title]
    roles = list(profiles.entities)
    scores = dict.fromkeys(roles, 0.0)
    evidence: list[Evidence] = []
    for sentence, found in zip(sentences, profiles.matches(sentences), strict=True):
        if not found or found[0].entity not in scores or found[0].similarity < MIN_SENTENCE_SIMILARITY:
            continue
        best = found[0]
        duty = bool(DUTY.search(sentence))
        scores[best.entity] += DUTY_WEIGHT if duty else 1.0
        evidence.append(Evidence(best.entity, sentence[:MAX_SENTENCE_CHARS], best.passage, best.similarity, duty))
    ranked = sorted(roles, key=lambda r: (-scores[r], roles.index(r)))
    best_role = ranked[0] if ranked and scores[ranked[0]] > 0 else None
    second = ranked[1] if len(ranked) > 1 else None
    blend = (
        second
        if best_role and second and scores[second] > 0 and scores[second] >= BLEND_RATIO * scores[best_role]
        else None
    )
    verdict = JobVerdict(best_role, scores, evidence, title, profiles.catalog.find(title), blend)
    if best_role is None:
        known = ", ".join(roles) if roles else "none yet"
        verdict.notes.append(
            "None of the posting's sentences match what the knowledge base says about any of its roles "
            f"({known}), so it can't tell which role this is. Ask the hiring team what the job's work is, day to day."
        )
    if best_role and blend:
        verdict.notes.append(f"The work is split between {best_role} and {blend}: this looks like a blend of the two.")
    return verdict


def assess(advisor: Any, posting: str, title: str = "") -> JobVerdict:
    """``classify`` against the knowledge base's roles, plus the knowledge base's view, asked for and cited."""
    clean(posting)  # a bad posting is refused before anything is loaded
    verdict = classify(posting, EntityProfiles(advisor), title)
    asks: list[tuple[str, str]] = [("How to read a job posting", READING_QUESTION)]
    if verdict.role:
        a = indefinite(verdict.role)
        asks.append((f"What {a} {verdict.role} does", DAY_TO_DAY_QUESTION.format(a=a, entity=verdict.role)))
    if verdict.title_mismatch:
        named = verdict.title_roles[0]
        asks.append((f"When the title says {named}", TITLE_QUESTION.format(named=named, entity=verdict.role)))
    for heading, question in asks:
        answer: Answer = advisor.ask(question)
        if not answer.refused:
            verdict.sections.append(Section(heading, answer))
    return verdict
