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

from collections.abc import Generator
from typing import TYPE_CHECKING

from advisor import prompts
from advisor.answering.evidence import Unit
from advisor.answering.grounded import SENTENCE, quote_block
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
from advisor.errors import StreamInterruptedError
from advisor.providers.chat_models import ChatModel, Message, Usage
from advisor.settings import Settings
from advisor.text import CITATION

if TYPE_CHECKING:  # answer.py imports this module; Source is only a type here
    from advisor.answering.answer import Source

MIN_SUPPORT = 1 / 3  # share of a sentence's content words that must occur in the sources
ECHO_WORDS = 4  # a run of this many words from a planted instruction counts as echoing it
SENTENCE_GAP = " "  # between kept sentences
BLOCK_GAP = "\n\n"  # before the quotes shown instead, and before the interruption notice


class SentenceGuard:
    """What of the model's answer may be shown, one sentence at a time, for one question and its sources."""

    def __init__(self, question: str, sources: list[Source]) -> None:
        split = {s.n: split_injections(s.text) for s in sources}
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
        return cleaned


def answer_messages(system_prompt: str, question: str, sources: list[Source], trusted: dict[int, str]) -> list[Message]:
    """The prompt: the numbered sources (their trusted sentences only) and the question."""
    block = "\n\n".join(
        prompts.SOURCE.substitute(
            n=s.n, title=strip_hidden(s.title), section=strip_hidden(s.section) or "-", text=trusted[s.n]
        )
        for s in sources
    )
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": prompts.ANSWER.substitute(sources=block, question=question)},
    ]


def generative_answer(
    chat: ChatModel,
    settings: Settings,
    system_prompt: str,
    question: str,
    sources: list[Source],
    units: list[Unit],
) -> Generator[str, None, tuple[Usage, bool]]:
    """Yield the answer's pieces (their concatenation is the answer); return (usage, interrupted)."""
    guard = SentenceGuard(question, sources)
    messages = answer_messages(system_prompt, question, sources, guard.trusted)
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
    except StreamInterruptedError:
        interrupted = True
        buffer = ""  # the half sentence that arrived is not presented as said
    ok = guard.check(buffer) if buffer.strip() else None
    if ok:
        yield piece(ok, SENTENCE_GAP)  # the last sentence, even without end punctuation
    if not CITATION.search("".join(shown)) and units:
        header = prompts.EVIDENCE_HEADER if shown else prompts.NO_SUPPORT
        yield piece(f"{header}\n{quote_block(units)}", BLOCK_GAP)
    if interrupted:
        yield piece(prompts.INTERRUPTED, BLOCK_GAP)
    return usage, interrupted
