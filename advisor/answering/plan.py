"""The answer plan: what a question asks, decided before any answer is written.

A question is one of these kinds, and each gets the answer shape a good advisor would give
(:mod:`advisor.answering.grounded` writes it):

- ``yes_no``: a yes/no or leading question ("..., right?"). Verdict first: Yes, No, or "the knowledge
  base doesn't say"; a wrong premise is never left standing.
- ``comparison``: two or more entities side by side; both sides are quoted, retrieved per entity.
- ``decision``: the reader weighs options (offers, paths); the knowledge base's guidance on deciding.
- ``recommendation``: which path fits the reader's background; quotes from that background's section.
- ``list``: asks for several things; more quotes are allowed.
- ``fact``: a fact or figure about one entity (or none); the entity's own cell or sentence.

Besides the kind, the plan holds the entities the question is about (from the knowledge base's
:class:`~advisor.kb.entities.EntityCatalog`), the reader's background, and the *uncovered specifics*:
a city, company, currency, year or seniority level in the question that the knowledge base never
mentions, which the answer names, and a person whose job it never mentions, which declines the question
(both from :mod:`advisor.answering.coverage`). The patterns here are English question grammar only; every domain
word comes from the knowledge base or the vocabulary file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from advisor.answering.coverage import stranger, uncovered_specifics
from advisor.kb.entities import Background, EntityCatalog

KINDS = ("yes_no", "comparison", "decision", "recommendation", "list", "fact")

TAG_QUESTION = re.compile(
    r"(,|\s)\s*(right|correct|true|yes|no|am i right|is that (right|so|true|correct)|"
    r"(is|are|do|does|did|was|were|ca|can|could|would|wo|will|have|has|should)n'?t\s+(it|that|this|they|he|she|we|you|there|i)"
    r"|(is|are|do|does|did)\s+(it|that|they)\s+not)\s*\?*\s*$",
    re.I,
)
IS_IT_TRUE = re.compile(
    r"^\s*(is it (really )?true|isn'?t it true|am i right|would you agree|wouldn'?t you agree)\b", re.I
)
AUX_START = re.compile(  # ... after a fronted phrase too: "At the same labs, do they match ...?"
    r"^\s*(?:(?:at|in|on|for|with|by|after|before|during|today|now|nowadays|these days|in general|generally|honestly)"
    r"\b[^,?;]{0,60},\s*)?(is|are|am|was|were|do|does|did|can|could|will|would|should|shall|has|have|had|must|"
    r"isn'?t|aren'?t|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|shouldn'?t|can'?t|haven'?t|hasn'?t)\b",
    re.I,
)
DECISION = re.compile(
    r"\b(offers?|should i (take|accept|choose|pick|go with|join|switch|move|leave|stay|stick)|"
    r"(choose|choosing|decide|deciding|pick|picking) between|which (one |offer |role |path )?should i (take|accept|choose|pick)|"
    r"torn between|trade-?off|worth (it|switching|taking)|"
    r"how (do|should|can|could|would) (i|you|one|we) (choose|decide|pick)|(choose|decide|pick) (which|whether))\b",
    re.I,
)
COMPARE = re.compile(
    r"\b(vs\.?|versus|compared?( to| with)?|comparison|difference|differences|differ|differs|different|between|gap|apart|"
    r"which (\w+ ){0,2}(more|less|higher|lower|better|worse)|(more|less|higher|lower|better|worse) than)\b",
    re.I,
)
RECOMMEND = re.compile(
    r"\b(which|what) (\w+ ){0,2}(role|path|job|title|career|one|track|direction)s?\b|\b(fits?|suits?|suited|recommend\w*|"
    r"for me|should i (become|go|pursue|aim|target|pick|choose|do)|best (option|choice|path|move)|next (step|move)|"
    r"go (for|into))\b",
    re.I,
)
LIST = re.compile(
    r"^\s*(list|name|enumerate|give me (all|the|some)|what are (all|the))\b|\b(all the|every|steps|reasons|ways)\b",
    re.I,
)
# "I'm a data analyst", "As a backend developer", "coming from marketing": the asker's background.
BACKGROUND = re.compile(
    r"\b(?:i'?m|i am|as|i work as|i'm working as|i have been|i've been|coming from|i come from|my background is(?: in)?)"
    r"\s+(?:an?\s+|the\s+)?(?P<who>[\w /-]{2,40}?)"
    r"(?=[,.?!;:—–]|\s+[-—–]\s|\s+(?:and|but|who|with|i|should|which|what|how|can|do|looking|wanting|trying|thinking|for|at)\b|$)",
    re.I,
)
# Weaker shapes, kept only when the phrase is a background the knowledge base advises: "fits a software
# engineer", "for a nurse", "should an analyst pick up", "a nurse needs to learn".
BACKGROUND_HINT = re.compile(
    r"\b(?:for|fits?|suits?|if i'?m|if i am)\s+(?:an?)\s+(?P<who>[\w /-]{2,40}?)(?=[,.?!;]|\s+(?:and|but|who|with|to|in|is|are|,)\b|$)"
    r"|\ban?\s+(?P<mover>[\w /-]{2,30}?)\s+(?:needs?|should|must|has to|have to|wants? to|learn\w*|pick up|move|moving|"
    r"switch\w*|transition\w*|make the jump|pivot\w*|become|becoming|can really)\b",
    re.I,
)
WHY = re.compile(r"^\s*(why|how come)\b", re.I)  # asks for a reason, even when it names two roles


@dataclass
class Plan:
    kind: str
    entities: list[str] = field(default_factory=list)
    background: Background | None = None  # the knowledge base's background the asker has
    background_phrase: str = ""  # as the asker put it ("backend developer")
    uncovered: list[str] = field(default_factory=list)  # specifics the knowledge base never mentions
    leading: bool = False  # a yes/no question that states a premise ("..., right?")
    stranger: str = ""  # the person the question is about, whom the knowledge base never mentions ("a dentist")
    verdict: str = ""  # yes/no questions: the check that reached the verdict ("none": none could tell)

    def to_log(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entities": self.entities,
            "background": self.background.label if self.background else None,
            "uncovered": self.uncovered,
            "leading": self.leading,
            **({"stranger": self.stranger} if self.stranger else {}),
            **({"verdict": self.verdict} if self.verdict else {}),
        }


def premise(question: str) -> str:
    """What a yes/no question claims, without its tag or lead-in: "Isn't it true that X, right?" -> "X"."""
    text = question.replace("’", "'").strip()
    text = TAG_QUESTION.sub("", text)
    text = re.sub(
        r"^\s*(is it (really )?true|isn'?t it true|am i right|would you agree|wouldn'?t you agree)"
        r"( that)?[,:]?\s*",
        "",
        text,
        flags=re.I,
    )
    return text.strip(" ?")


def background_phrase(question: str, catalog: EntityCatalog | None = None) -> str:
    """How the asker states their background ("backend developer"), or ""."""
    text = question.replace("’", "'")
    match = BACKGROUND.search(text)
    if match:
        return match["who"].strip()
    if catalog is not None:
        for hint in BACKGROUND_HINT.finditer(text):
            who = (hint["who"] or hint["mover"] or "").strip()
            if who and catalog.background_of(who) is not None:
                return who
    return ""


def make_plan(question: str, catalog: EntityCatalog, knows: Callable[[str], bool], docs: Sequence[str] = ()) -> Plan:
    """The plan for a standalone question (a follow-up is rewritten first). ``docs``: the documents its
    passages come from, best first (which document's advice for the asker's background applies)."""
    text = question.replace("’", "'").strip()
    entities = catalog.find(text)
    phrase = background_phrase(text, catalog)
    background = catalog.background_of(phrase, near=entities, docs=docs) if phrase else None
    leading = bool(TAG_QUESTION.search(text) or IS_IT_TRUE.search(text))
    choice = bool(re.search(r"\bor\b", premise(text), re.I))  # "Do they build models or use them?" asks which
    if leading or (
        AUX_START.match(text) and not choice and not DECISION.search(text) and not RECOMMEND.search(text.split(",")[-1])
    ):
        kind = "yes_no"  # "..., right?" states a premise to confirm or refute, whatever it is about
    elif DECISION.search(text):
        kind = "decision"
    elif len(entities) >= 2 and not WHY.match(text) and (COMPARE.search(text) or choice):
        kind = "comparison"
    elif phrase and RECOMMEND.search(text):
        kind = "recommendation"
    elif LIST.search(text):
        kind = "list"
    else:
        kind = "fact"
    if kind == "yes_no" and not leading and phrase and RECOMMEND.search(text):
        kind = "recommendation"  # "Should I, as a data analyst, go for ML?" asks for a path
    who = "" if phrase else stranger(text, catalog, knows)  # an asker's own background is advice they want
    return Plan(kind, entities, background, phrase, uncovered_specifics(text, catalog, knows), leading, who)
