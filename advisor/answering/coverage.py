"""What a question asks about that the knowledge base doesn't cover: the specifics it never mentions (a city, a
currency, a year, a seniority level: the answer names them) and a person whose job it never mentions (the question
is declined). English grammar and the vocabulary's ``specifics``; every entity comes from the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from advisor import vocabulary
from advisor.kb.entities import EntityCatalog
from advisor.retrieval.lexical import tokenize
from advisor.retrieval.units import INSTRUCTION_LIKE

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
