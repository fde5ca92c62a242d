"""The grounded answer: the quoted evidence *is* the answer; the model may add one lead sentence.

For the bundled 135M model, which can't be trusted with facts. The selected evidence units stream at
once as one Markdown blockquote, each quote cited [n]. Then the model is asked for a one-sentence
summary, shown after "In short:" only if :func:`lead_sentence` finds every word and figure in it backed
by one quote, no negation flipped and no comparison or role the quote doesn't make.

It deliberately never lets a model-written figure through (figures reach the user only inside verbatim
quotes), never shows more than that one model sentence, and doesn't stream the lead (it must pass its
checks whole before any of it is shown).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING

from advisor import prompts
from advisor.answering.conversation import roles_in
from advisor.answering.evidence import EvidenceSelector, Unit
from advisor.answering.guard import figures, sanitize, support, ungrounded_figures
from advisor.providers.chat_models import ChatModel, Message, Usage, complete

if TYPE_CHECKING:  # answer.py imports this module; Source is only a type here
    from advisor.answering.answer import Source

# A sentence boundary: end punctuation then whitespace, or a blank line. The generative path splits the
# model's stream on it too (one home for what a "sentence" is).
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n{2,}")
LEADING = re.compile(
    r"(,?\s*(right|correct|true|isn'?t (it|that)|don'?t they|aren'?t they|no)\s*\?\s*$)|^\s*(is it true|isn'?t it true)",
    re.I,
)
NEGATION = re.compile(r"\b(not|no|never|none|rarely|n't|cannot|nor)\b|n't\b", re.I)
COMPARATIVE = re.compile(r"\b(most|highest|best|more|less|least|lowest|better|worse|top|higher|lower|richest)\b", re.I)
TABLE_ROW = re.compile(r"^(?P<label>[^:;]{1,60}): (?P<cells>.+;.+)\.$")

LEAD_MAX_TOKENS = 48  # room for one short sentence; a longer reply is cut to its first sentence anyway
LEAD_WORDS = (3, 40)  # fewer says nothing; more is a paragraph, not a lead
MIN_LEAD_SUPPORT = 0.6  # share of the lead's content words that must come from the quotes (not the question)
MIN_ANCHOR_SIMILARITY = 0.6  # below this the lead is not about any one quote, so no quote can back it


def role_clause(unit: str, roles: list[str]) -> str:
    """The part of a table-row unit about ``roles`` ("Primary job: AI Engineer Build systems ..."); other units whole."""
    match = TABLE_ROW.match(unit)
    if not match or not roles:
        return unit
    cells = [c.strip() for c in match["cells"].split(";")]
    kept = [c for c in cells if any(c.lower().startswith(r.lower()) for r in roles)]
    return f"{match['label']}: {'; '.join(kept)}" if kept else unit


def quote_block(units: list[Unit]) -> str:
    """One Markdown blockquote, a paragraph per quote (a bare ">" line keeps them from running together)."""
    return "\n>\n".join(f"> {u.text} [{u.hit_rank + 1}]" for u in units)


def grounded_answer(
    chat: ChatModel, selector: EvidenceSelector, question: str, sources: list[Source], units: list[Unit]
) -> Generator[str, None, tuple[Usage, bool]]:
    """Yield the answer's pieces (their concatenation is the answer); return (usage, interrupted=False)."""
    if not units:
        yield "\n".join(f"> {s.snippet} [{s.n}]" for s in sources[:2])
        return Usage(), False
    # Quotes first: they carry the answer and stream at once; the model's one-line summary, which
    # takes the model's time and must pass its checks, follows when (and if) it does.
    yield from quote_block(units).splitlines(keepends=True)
    lead, usage = lead_sentence(chat, selector, question, units)
    if lead:
        yield f"\n\n{prompts.IN_SHORT} {lead}"
    return usage, False


def lead_sentence(chat: ChatModel, selector: EvidenceSelector, question: str, units: list[Unit]) -> tuple[str, Usage]:
    """One model-written sentence, cited, kept only if the quotes back every part of it; else ""."""
    if LEADING.search(question):
        return "", Usage()  # a leading question invites "yes"; let the quotes answer it
    facts = "\n".join(f"- {u.text}" for u in units)
    messages: list[Message] = [
        {"role": "system", "content": prompts.LEAD_SYSTEM.substitute()},
        {"role": "user", "content": prompts.LEAD.substitute(facts=facts, question=question)},
    ]
    raw, usage = complete(chat, messages, max_tokens=LEAD_MAX_TOKENS, temperature=0.0)
    lead = SENTENCE.split(raw.strip().strip('"'), maxsplit=1)[0].strip() if raw.strip() else ""
    evidence = " ".join(u.text for u in units)
    words = lead.split()
    if not LEAD_WORDS[0] <= len(words) <= LEAD_WORDS[1] or not lead.endswith((".", "!")) or sanitize(lead) != lead:
        return "", usage
    # Figures reach the user only inside verbatim quotes: a lead that states one is dropped, since a
    # figure can be in the evidence yet belong to another role ("ML engineers earn $400K–$800K").
    if figures(lead):
        return "", usage
    # Every content word must come from the quotes or the question, and most from the quotes.
    if (
        ungrounded_figures(lead, evidence)
        or support(lead, f"{evidence} {question}") < 1.0
        or support(lead, evidence) < MIN_LEAD_SUPPORT
    ):
        return "", usage
    sims = selector.similarity(lead, [u.text for u in units])
    best = int(sims.argmax())
    anchor = units[best]
    if len(roles_in(anchor.text)) >= 2:
        return "", usage  # a passage about several roles (a table row): too easy to give one role another's value
    if sims[best] < MIN_ANCHOR_SIMILARITY:
        return "", usage
    if not set(roles_in(lead)) <= set(roles_in(anchor.text)):
        return "", usage  # a role the anchor doesn't name: the model may have swapped roles
    # Every content word from one passage (role names aside): words gathered across quotes, across a
    # table row's cells, or from the question's premise can say what none of the quotes says
    # ("AI engineers build and train models", "AI engineers train models" after "Do AI engineers train models?").
    if support(lead, f"{role_clause(anchor.text, roles_in(lead))} {' '.join(roles_in(question))}") < 1.0:
        return "", usage
    if bool(NEGATION.search(lead)) != bool(NEGATION.search(anchor.text)):
        return "", usage
    if re.match(r"^(yes|no)\b", lead, re.I) and not re.match(rf"^{lead.split()[0].strip(',.!')}\b", anchor.text, re.I):
        return "", usage
    for word in {w.lower() for w in COMPARATIVE.findall(lead)}:
        if not re.search(rf"\b{word}\b", anchor.text, re.I):
            return "", usage
    return f"{lead} [{anchor.hit_rank + 1}]", usage
