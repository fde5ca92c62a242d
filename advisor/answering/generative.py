"""The generative answer: the model writes from numbered sources; every sentence is checked before it is shown.

For OpenAI or a larger GGUF. The model never sees source sentences that address an AI or carry links
(indirect injection). Its stream is cut into sentences as it arrives, and each one passes
:class:`SentenceGuard` whole or is dropped whole. If nothing cited survives, the quotes are shown instead;
a stream cut mid-answer keeps the sentences that arrived whole and says it was interrupted.

The pieces it yields are the answer byte for byte: each separator goes *before* the piece it precedes,
never after the last one, so nothing is ever yielded that the stored answer lacks (see
:meth:`advisor.answering.answer.Answerer.stream`). It deliberately doesn't repair a failing sentence,
doesn't show half a sentence, and joins the sentences it keeps with one space (the model's line breaks
*between* sentences are not kept; those inside one, as in a table, are).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Generator
from string import Template
from typing import TYPE_CHECKING

from advisor import prompts
from advisor.answering.evidence import Unit
from advisor.answering.grounded import SENTENCE, compose, quote_block
from advisor.answering.guard import (
    demanded_phrases,
    echoes_instructions,
    figures,
    has_active_content,
    leaks_instructions,
    split_injections,
    strip_hidden,
    support,
    ungrounded_figures,
)
from advisor.answering.plan import Plan
from advisor.errors import StreamInterruptedError
from advisor.kb.entities import EntityCatalog
from advisor.providers.chat_models import ChatModel, Message, Usage
from advisor.retrieval.units import unit_parts
from advisor.settings import Settings
from advisor.text import CITATION

if TYPE_CHECKING:  # answer.py imports this module; Source is only a type here
    from advisor.answering.answer import Source

MIN_SUPPORT = 1 / 3  # share of a sentence's content words that must occur in the sources
MIN_ENTITY_SUPPORT = 0.5  # ... and, for a sentence about one entity, in what the sources say about that entity
MAX_REPEATS = 2  # repeated sentences dropped before the stream is taken to be looping and cut
LOOP_NGRAM, LOOP_COUNT = 3, 3  # a run of 3 words said 3 times in one sentence is a loop, not prose
ECHO_WORDS = 4  # a run of this many words from a planted instruction counts as echoing it
SENTENCE_GAP = " "  # between kept sentences
BLOCK_GAP = "\n\n"  # before the quotes shown instead, and before the interruption notice


class SentenceGuard:
    """What of the model's answer may be shown, one sentence at a time, for one question and its sources."""

    def __init__(
        self, question: str, sources: list[Source], plan: Plan | None = None, catalog: EntityCatalog | None = None
    ) -> None:
        split = {s.n: split_injections(s.text) for s in sources}
        self.catalog = catalog or EntityCatalog()
        self.plan = plan
        self.sections = {s.n: s.section for s in sources}
        self.question = question
        self.seen: set[str] = set()
        self.repeats = 0
        self.trusted = {n: trusted for n, (trusted, _) in split.items()}
        self.injected = "\n".join(bad for _, bad in split.values() if bad)
        self.all_text = "\n".join(self.trusted.values())
        self.demanded = demanded_phrases(question)
        # The scope is public (the decline states it); the rules aren't.
        self.rules = prompts.SYSTEM.substitute(scope="")

    def check(self, sentence: str) -> str | None:
        """The sentence as shown (hidden characters and outer whitespace removed), or None to drop it."""
        cleaned = strip_hidden(sentence).strip()
        # A link, image, address or HTML tag drops the sentence: nothing in an answer loads or links outside.
        if not cleaned or has_active_content(cleaned):
            return None
        if leaks_instructions(cleaned, self.rules) or (
            self.injected and echoes_instructions(cleaned, self.injected, ECHO_WORDS)
        ):
            return None
        if any(phrase in cleaned.lower() for phrase in self.demanded):
            return None  # parroting what the question ordered it to say
        cited = [int(n) for n in CITATION.findall(cleaned)]
        if any(n not in self.trusted for n in cited):
            return None  # cites a source that isn't there
        scope = "\n".join(self.trusted[n] for n in cited) if cited else self.all_text
        if figures(cleaned) and (not cited or ungrounded_figures(cleaned, scope)):
            return None
        if support(CITATION.sub(" ", cleaned), self.all_text) < MIN_SUPPORT:
            return None  # mostly words the sources don't use: role-play, invention, off-topic
        if self.repeated(cleaned):
            return None
        if not self.true_to_entities(cleaned, cited):
            return None  # gives an entity facts the sources give another
        return cleaned

    @property
    def looping(self) -> bool:
        """The model keeps repeating itself: stop reading its stream."""
        return self.repeats > MAX_REPEATS

    def repeated(self, sentence: str) -> bool:
        """A sentence said before, or one that loops on a few words ("The X vs. The X vs. ...")."""
        words = re.findall(r"\w+", CITATION.sub(" ", sentence).lower())
        key = " ".join(words)
        grams = Counter(tuple(words[i : i + LOOP_NGRAM]) for i in range(len(words) - LOOP_NGRAM + 1))
        if key in self.seen or (grams and max(grams.values()) >= LOOP_COUNT):
            self.repeats += 1
            return True
        self.seen.add(key)
        return False

    def about(self, entity: str, cited: list[int]) -> str:
        """What the (cited, else all) sources say about ``entity``: its table cells, the sentences naming
        it, and the sections its name heads."""
        parts = []
        for n in cited or list(self.trusted):
            section = self.sections.get(n, "")
            owner = self.catalog.section_entity(section)
            for text, row in unit_parts(self.trusted[n]):
                if row is not None:
                    if entity in self.catalog.find(row.label):
                        parts.append(text)
                    parts.extend(f"{h} {c}" for h, c in row.cells if entity in self.catalog.find(h))
                elif entity in self.catalog.find(text) or (owner == entity and not self.catalog.find(text)):
                    parts.append(text)
        return "\n".join(parts)

    def true_to_entities(self, sentence: str, cited: list[int]) -> bool:
        """A sentence about one entity (named, or the one the question is about) must be backed by what the
        sources say about that entity: its figures there, and most of its words."""
        if not len(self.catalog):
            return True
        named = self.catalog.find(sentence)
        if not named and self.plan is not None and len(self.plan.entities) == 1 and self.plan.kind == "fact":
            named = self.plan.entities
        if len(named) != 1:
            return True  # several entities: a comparison, checked by the figure and support rules above
        # What the cited sources say about the entity, else what any source says: citing another entity's
        # own row must not make a swapped figure unverifiable.
        own = self.about(named[0], cited) or self.about(named[0], [])
        if not own:
            return True  # the sources say nothing entity-specific; the general checks decide
        body = CITATION.sub(" ", sentence)
        if figures(body) and ungrounded_figures(body, own):
            return False
        names = " ".join([named[0], *self.catalog.aliases.get(named[0], ())])
        return support(body, f"{own} {names} {self.question}") >= MIN_ENTITY_SUPPORT


def guidance(plan: Plan | None) -> str:
    """The answer plan's instructions for the model: the shape for the question's kind, the entities to
    keep apart, and the specifics to say aren't covered."""
    if plan is None:
        return ""
    lines = [
        Template(prompts.PLAN_GUIDANCE[plan.kind]).safe_substitute(
            entities=" and ".join(plan.entities) or "the options",
            background=plan.background_phrase or (plan.background.label if plan.background else "-"),
        )
    ]
    if plan.entities:
        lines.append(prompts.ENTITY_GUIDANCE.substitute(entities=" and ".join(plan.entities)))
    if plan.uncovered:
        lines.append(prompts.UNCOVERED_GUIDANCE.substitute(specifics=" or ".join(plan.uncovered)))
    return "\n" + "\n".join(lines)


def answer_messages(
    system_prompt: str, question: str, sources: list[Source], trusted: dict[int, str], plan: Plan | None = None
) -> list[Message]:
    """The prompt: the numbered sources (their trusted sentences only), the question and the plan's shape."""
    block = "\n\n".join(
        prompts.SOURCE.substitute(
            n=s.n, title=strip_hidden(s.title), section=strip_hidden(s.section) or "-", text=trusted[s.n]
        )
        for s in sources
    )
    return [
        {"role": "system", "content": system_prompt},
        {
            "role": "user",
            "content": prompts.ANSWER.substitute(sources=block, question=question, guidance=guidance(plan)),
        },
    ]


def generative_answer(
    chat: ChatModel,
    settings: Settings,
    system_prompt: str,
    question: str,
    sources: list[Source],
    units: list[Unit],
    plan: Plan | None = None,
    catalog: EntityCatalog | None = None,
) -> Generator[str, None, tuple[Usage, bool]]:
    """Yield the answer's pieces (their concatenation is the answer); return (usage, interrupted)."""
    guard = SentenceGuard(question, sources, plan, catalog)
    messages = answer_messages(system_prompt, question, sources, guard.trusted, plan)
    shown: list[str] = []
    usage = Usage()
    interrupted = False
    buffer = ""

    def piece(text: str, gap: str) -> str:
        """The next delta: ``text`` after ``gap``, or alone if it is the first (no gap leads or trails)."""
        delta = gap + text if shown else text
        shown.append(delta)
        return delta

    try:
        for item in chat.stream(messages, settings.max_answer_tokens, settings.temperature):
            if isinstance(item, Usage):
                usage = item
                continue
            buffer += item
            # All but the last part are whole sentences; the last may still be growing.
            *whole, buffer = SENTENCE.split(buffer)
            for sentence in whole:
                ok = guard.check(sentence)
                if ok:
                    yield piece(ok, SENTENCE_GAP)
            if guard.looping:
                buffer = ""
                break
    except StreamInterruptedError:
        interrupted = True
        buffer = ""  # the half sentence that arrived is not presented as said
    ok = guard.check(buffer) if buffer.strip() else None
    if ok:
        yield piece(ok, SENTENCE_GAP)  # the last sentence, even without end punctuation
    if not CITATION.search("".join(shown)) and units:
        header = prompts.EVIDENCE_HEADER if shown else prompts.NO_SUPPORT
        # The grounded answer the plan shapes (verdict, opening, scoped quotes), not every unit selected.
        fallback = compose(question, plan, units, catalog) if plan is not None and catalog is not None else ""
        yield piece(f"{header}\n{fallback or quote_block(units)}", BLOCK_GAP)
    if interrupted:
        yield piece(prompts.INTERRUPTED, BLOCK_GAP)
    return usage, interrupted
