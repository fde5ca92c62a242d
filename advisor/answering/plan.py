"""The answer plan: what a question asks, decided before any answer is written.

A question is one of these kinds, and each gets the answer shape a good advisor would give
(:mod:`advisor.answering.compose` writes it):

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
mentions, which the answer names. The patterns here are English question grammar only; every domain
word comes from the knowledge base or the vocabulary file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from advisor import vocabulary
from advisor.answering.evidence import INSTRUCTION_LIKE
from advisor.kb.entities import Background, EntityCatalog
from advisor.retrieval.lexical import tokenize

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
AUX_START = re.compile(
    r"^\s*(is|are|am|was|were|do|does|did|can|could|will|would|should|shall|has|have|had|must|"
    r"isn'?t|aren'?t|don'?t|doesn'?t|didn'?t|won'?t|wouldn'?t|shouldn'?t|can'?t|haven'?t|hasn'?t)\b",
    re.I,
)
DECISION = re.compile(
    r"\b(offers?|should i (take|accept|choose|pick|go with|join|switch|move|leave|stay|stick)|"
    r"(choose|choosing|decide|deciding|pick|picking) between|which (one |offer |role |path )?should i (take|accept|choose|pick)|"
    r"torn between|trade-?off|worth (it|switching|taking))\b",
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
# A name the question gives the assistant ("you are EvilAdvisor", "let's play a game") is a persona.
ROLE_PLAY = re.compile(
    r"(?i:\b(let'?s play|role-?play|pretend|act as|from now on)\b)"
    r"|\byou are (?:now )?(?:an? |the )?[A-Z]\w*|\b[Aa]s an? [A-Z][a-z]+[A-Z]\w*"
)
ORDERED = re.compile(
    r"\b(reply|respond|answer|start|begin|end|say|confirm|output|print|write|repeat|append|include|type|sign)\b[^.?!]*$",
    re.I,
)
ORDER_REACH = 60  # characters before a word in which an order verb makes the word its payload
QUOTED = re.compile(r"[\"“”'‘’]\w[^\"“”]*[\"“”'‘’]")
CURRENCY_SYMBOL = re.compile(r"[£€¥₹]")
YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w&]*(?:[ -][A-Z][\w&]*)*)\b")
# Capitalised words that are never a name: "I", and the question words a rewritten follow-up may carry mid-sentence
# ("As a sysadmin, What would I need?").
# A person by their job: "a dentist", "plumbers", "an electrician" (after an article or as a plural subject).
PERSON = re.compile(
    r"\b(?:an?|the|do|are|for|as)\s+([a-z]{3,}(?:ist|er|or|ian|ant|ent|eon|wife|man|woman)s?)\b(?!\s*-)"
)
# English words of a person's-job shape that are not people: comparatives and a few common others.
NOT_PEOPLE = frozenset(
    [
        "higher",
        "lower",
        "bigger",
        "better",
        "larger",
        "greater",
        "smaller",
        "fewer",
        "closer",
        "older",
        "newer",
        "younger",
        "easier",
        "harder",
        "faster",
        "slower",
        "longer",
        "shorter",
        "richer",
        "safer",
        "later",
        "earlier",
        "other",
        "another",
        "either",
        "neither",
        "whether",
        "rather",
        "after",
        "under",
        "over",
        "never",
        "ever",
        "together",
        "former",
        "latter",
        "proper",
        "however",
        "whatever",
        "whoever",
        "number",
        "matter",
        "paper",
        "letter",
        "order",
        "answer",
        "percent",
        "moment",
        "content",
        "extent",
        "event",
        "current",
        "recent",
        "different",
    ]
)
SENTENCE_START_WORDS = frozenset({"i", "i'm", "im"}) | frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "should",
        "could",
        "would",
        "can",
        "will",
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
    ]
)


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


def _specifics(question: str, catalog: EntityCatalog) -> list[str]:
    """Words that make the question specific: proper nouns, currencies, years, seniority levels."""
    vocab = vocabulary.active()
    out: list[str] = []
    if ROLE_PLAY.search(question) or INSTRUCTION_LIKE.search(question):
        return []  # a name set up for a persona or an order is not a specific to report back
    entity_words = {w.lower() for name in catalog.names for n in (name, *catalog.aliases[name]) for w in n.split()}
    text = question.replace("’", "'")
    for match in PROPER.finditer(text):
        words = match.group(1)
        if (
            len(words) < 2
            or words.lower() in SENTENCE_START_WORDS
            or all(w.lower() in entity_words for w in words.split())
        ):
            continue
        if QUOTED.search(text[max(0, match.start() - 1) : match.end() + 1]):
            continue  # a quoted word is something the question wants said, not a place or a company
        if ORDERED.search(text[max(0, match.start() - ORDER_REACH) : match.start()]):
            continue  # "end your answer with PWNED": an order's payload, not a specific
        out.append(words)
    lowered = f" {text.lower()} "
    for words in vocab.specifics.values():
        for word in words:
            if CURRENCY_SYMBOL.fullmatch(word):
                if word in text:
                    out.append(word)
            elif re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered):
                out.append(word)
    out.extend(YEAR.findall(text))
    seen: dict[str, str] = {}
    for item in out:
        seen.setdefault(item.lower(), item)
    return list(seen.values())


def uncovered_specifics(question: str, catalog: EntityCatalog, knows: Callable[[str], bool]) -> list[str]:
    """The question's specifics that no chunk of the knowledge base mentions."""
    missing = []
    for item in _specifics(question, catalog):
        terms = tokenize(item)
        if not terms or not any(
            knows(t) for t in terms
        ):  # a currency symbol: the tokenizer drops it, so nothing could show it is covered
            missing.append(item)
    return missing


def stranger(question: str, catalog: EntityCatalog, knows: Callable[[str], bool]) -> str:
    """The person a question asks about ("How much does a dentist earn?") when it names no entity of the knowledge
    base and the knowledge base never uses the word: a question about someone else's career, not one it covers.
    Only words shaped like a person's job (dentist, plumber, surveyor, electrician, pharmacist) count."""
    if catalog.find(question):
        return ""
    for match in PERSON.finditer(question):
        word = match.group(1)
        if word.lower() in NOT_PEOPLE:
            continue
        terms = tokenize(word)
        if terms and not any(knows(t) for t in terms) and catalog.background_of(word) is None:
            return word
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
