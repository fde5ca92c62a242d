"""The answer path: question (+ history) -> retrieval -> evidence -> a grounded, cited answer.

Two modes, one path:
- ``grounded`` (the default for the bundled 135M model, which can't be trusted with facts): the answer
  *is* the quoted evidence, each quote cited [n]. The model may add one lead sentence, kept only if
  every word and figure in it is backed by the quotes and it neither flips a negation nor asserts a
  comparison the quotes don't make.
- ``generative`` (OpenAI, or a larger GGUF): the model writes the answer from numbered sources and
  streams it; every sentence passes the guard (figures must be in the cited sources, no links or
  images, no echo of the instructions) before it is shown. If nothing cited survives, the quotes
  are shown instead.
Questions the knowledge base has nothing on are declined. It deliberately never answers from the
model's own memory.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from advisor import prompts
from advisor.providers.chat_models import ChatModel, Message, Usage, complete
from advisor.answering.conversation import Turn, is_follow_up, rewrite_follow_up, roles_in
from advisor.errors import InputError, StreamInterruptedError
from advisor.answering.evidence import EvidenceSelector, Unit
from advisor.answering.guard import (
    demanded_phrases,
    echoes_instructions,
    figures,
    has_active_content,
    leaks_instructions,
    sanitize,
    split_injections,
    strip_hidden,
    support,
    ungrounded_figures,
)
from advisor.retrieval.retriever import Hit, Retriever
from advisor.settings import Settings
from advisor.text import CITATION

SNIPPET_CHARS = 240
LEADING = re.compile(
    r"(,?\s*(right|correct|true|isn'?t (it|that)|don'?t they|aren'?t they|no)\s*\?\s*$)|^\s*(is it true|isn'?t it true)",
    re.I,
)
NEGATION = re.compile(r"\b(not|no|never|none|rarely|n't|cannot|nor)\b|n't\b", re.I)
COMPARATIVE = re.compile(r"\b(most|highest|best|more|less|least|lowest|better|worse|top|higher|lower|richest)\b", re.I)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n{2,}")
MIN_SUPPORT = 1 / 3  # generative mode: share of a sentence's content words that must occur in the sources


@dataclass
class Source:
    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    snippet: str
    score: float
    text: str = field(repr=False, default="")

    def public(self) -> dict[str, Any]:
        return {
            "id": self.chunk_id,
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "snippet": self.snippet,
            "score": round(self.score, 4),
        }


@dataclass
class Answer:
    text: str
    sources: list[Source]
    refused: bool
    usage: Usage
    question: str = ""
    standalone_question: str = ""
    mode: str = ""
    model: str = ""
    latency_s: float = 0.0
    first_token_s: float = 0.0
    interrupted: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "sources": [s.public() for s in self.sources],
            "refused": self.refused,
            "usage": {**asdict(self.usage), "total_tokens": self.usage.total_tokens},
            "question": self.question,
            "standalone_question": self.standalone_question,
            "mode": self.mode,
            "model": self.model,
            "latency_s": round(self.latency_s, 3),
            "interrupted": self.interrupted,
            "reason": self.reason,
        }


class AnswerStream:
    """Iterate for text deltas; afterwards ``.answer`` holds the complete :class:`Answer`."""

    def __init__(self, gen: Iterator[str]) -> None:
        self._gen = gen
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        result = yield from self._gen
        self.answer = result  # type: ignore[assignment]

    def consume(self) -> Answer:
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


def clean_question(question: str, max_chars: int) -> str:
    if not isinstance(question, str):
        raise InputError("the question must be text")
    text = "".join(
        c for c in unicodedata.normalize("NFC", question) if c in "\n\t" or unicodedata.category(c)[0] != "C"
    )
    text = text.strip()
    if not text:
        raise InputError("the question is empty: type a question about AI careers")
    if len(text) > max_chars:
        raise InputError(f"the question is too long ({len(text):,} characters; the limit is {max_chars:,}): shorten it")
    return text


def to_turns(history: Sequence[Any] | None, max_turns: int) -> list[Turn]:
    turns: list[Turn] = []
    for item in history or []:
        if isinstance(item, Turn):
            turns.append(item)
        elif (
            isinstance(item, dict)
            and item.get("role") in ("user", "assistant")
            and isinstance(item.get("content"), str)
        ):
            turns.append(Turn(item["role"], item["content"]))
        else:
            raise InputError("each history item must be {'role': 'user'|'assistant', 'content': text}")
    return turns[-2 * max_turns :] if max_turns else []


def make_sources(hits: list[Hit]) -> list[Source]:
    out = []
    for n, hit in enumerate(hits, 1):
        snippet = re.sub(r"\s+", " ", split_injections(hit.text)[0]).strip()  # no planted instructions or links
        if len(snippet) > SNIPPET_CHARS:
            snippet = snippet[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"
        out.append(Source(n, hit.chunk_id, hit.doc_id, hit.title, hit.section, snippet, hit.score, hit.text))
    return out


TABLE_ROW = re.compile(r"^(?P<label>[^:;]{1,60}): (?P<cells>.+;.+)\.$")


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


class Answerer:
    def __init__(self, settings: Settings, retriever: Retriever, selector: EvidenceSelector, chat: ChatModel) -> None:
        self.settings = settings
        self.retriever = retriever
        self.selector = selector
        self.chat = chat
        self.system_prompt = prompts.SYSTEM.substitute(scope=prompts.SCOPE)

    # -- public ---------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[Any] | None = None) -> AnswerStream:
        question = clean_question(question, self.settings.max_question_chars)
        turns = to_turns(history, self.settings.max_history_turns)
        return AnswerStream(self._run(question, turns))

    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        return self.stream(question, history).consume()

    # -- steps ----------------------------------------------------------------------------------
    def standalone(self, question: str, turns: list[Turn]) -> tuple[str, Usage]:
        rewritten = rewrite_follow_up(question, turns)
        if self.settings.effective_answer_mode != "generative" or not is_follow_up(question, turns):
            return rewritten, Usage()
        history = "\n".join(f"{t.role}: {t.content[:500]}" for t in turns[-6:])
        text, usage = complete(
            self.chat,
            [{"role": "user", "content": prompts.REWRITE.substitute(history=history, question=question)}],
            max_tokens=80,
            temperature=0.0,
        )
        text = text.strip().strip('"').splitlines()[0].strip() if text.strip() else ""
        # A rewrite must stay a question about the same things; otherwise keep the rule-based one.
        if 3 <= len(text) <= 400 and (roles_in(text) or not roles_in(rewritten)):
            return text, usage
        return rewritten, usage

    def _run(self, question: str, turns: list[Turn]) -> Iterator[str]:
        started = time.perf_counter()
        mode = self.settings.effective_answer_mode
        standalone, usage = self.standalone(question, turns)
        retrieval = self.retriever.search(standalone)
        base = dict(question=question, standalone_question=standalone, mode=mode, model=self.chat.name)

        if self.retriever.chunk_count == 0 or not retrieval.relevant:
            text = prompts.EMPTY_KB if self.retriever.chunk_count == 0 else prompts.REFUSAL
            yield text
            elapsed = time.perf_counter() - started
            return Answer(
                text,
                [],
                True,
                usage,
                latency_s=elapsed,
                first_token_s=elapsed,
                reason="empty_kb" if self.retriever.chunk_count == 0 else "out_of_scope",
                **base,
            )

        sources = make_sources(retrieval.hits)
        assert retrieval.query_vector is not None
        units = self.selector.select(standalone, retrieval.query_vector, retrieval.hits)
        runner = self._grounded if mode == "grounded" else self._generative
        first: list[float] = []
        gen = runner(standalone, sources, units)
        try:
            while True:
                delta = next(gen)
                if not first:
                    first.append(time.perf_counter() - started)
                yield delta
        except StopIteration as stop:
            text, gen_usage, interrupted = stop.value
        cited = {int(n) for n in CITATION.findall(text)}
        used = [s for s in sources if s.n in cited] or sources[:1]
        return Answer(
            text,
            used,
            False,
            usage + gen_usage,
            latency_s=time.perf_counter() - started,
            first_token_s=first[0] if first else 0.0,
            interrupted=interrupted,
            **base,
        )

    # -- grounded: quotes carry the facts ------------------------------------------------------
    def _grounded(self, question: str, sources: list[Source], units: list[Unit]) -> Iterator[str]:
        if not units:
            text = "\n".join(f"> {s.snippet} [{s.n}]" for s in sources[:2])
            yield text
            return text, Usage(), False
        # Quotes first: they carry the answer and stream at once; the model's one-line summary, which
        # takes the model's time and must pass its checks, follows when (and if) it does.
        quotes = quote_block(units)
        yield from quotes.splitlines(keepends=True)
        lead, usage = self._lead(question, units)
        if not lead:
            return quotes, usage, False
        summary = f"\n\n{prompts.IN_SHORT} {lead}"
        yield summary
        return quotes + summary, usage, False

    def _lead(self, question: str, units: list[Unit]) -> tuple[str, Usage]:
        """One model-written sentence, kept only if the quotes back every part of it."""
        if LEADING.search(question):
            return "", Usage()  # a leading question invites "yes"; let the quotes answer it
        facts = "\n".join(f"- {u.text}" for u in units)
        messages: list[Message] = [
            {"role": "system", "content": prompts.LEAD_SYSTEM.substitute()},
            {"role": "user", "content": prompts.LEAD.substitute(facts=facts, question=question)},
        ]
        raw, usage = complete(self.chat, messages, max_tokens=48, temperature=0.0)
        lead = SENTENCE.split(raw.strip().strip('"'), maxsplit=1)[0].strip() if raw.strip() else ""
        evidence = " ".join(u.text for u in units)
        words = lead.split()
        if not 3 <= len(words) <= 40 or not lead.endswith((".", "!")) or sanitize(lead) != lead:
            return "", usage
        # Figures reach the user only inside verbatim quotes: a lead that states one is dropped, since a
        # figure can be in the evidence yet belong to another role ("ML engineers earn $400K–$800K").
        if figures(lead):
            return "", usage
        # Every content word must come from the quotes or the question, and most from the quotes.
        if (
            ungrounded_figures(lead, evidence)
            or support(lead, f"{evidence} {question}") < 1.0
            or support(lead, evidence) < 0.6
        ):
            return "", usage
        sims = self.selector.similarity(lead, [u.text for u in units])
        best = int(sims.argmax())
        anchor = units[best]
        if len(roles_in(anchor.text)) >= 2:
            return "", usage  # a passage about several roles (a table row): too easy to give one role another's value
        if sims[best] < 0.6:
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
        if re.match(r"^(yes|no)\b", lead, re.I) and not re.match(
            rf"^{lead.split()[0].strip(',.!')}\b", anchor.text, re.I
        ):
            return "", usage
        for word in {w.lower() for w in COMPARATIVE.findall(lead)}:
            if not re.search(rf"\b{word}\b", anchor.text, re.I):
                return "", usage
        return f"{lead} [{anchor.hit_rank + 1}]", usage

    # -- generative: the model writes, the guard checks every sentence -------------------------
    def _generative(self, question: str, sources: list[Source], units: list[Unit]) -> Iterator[str]:
        # The model never sees source sentences that address an AI or carry links (indirect injection),
        # and the guard below drops any answer sentence that echoes them anyway.
        split = {s.n: split_injections(s.text) for s in sources}
        by_n = {n: trusted for n, (trusted, _) in split.items()}
        injected = "\n".join(bad for _, bad in split.values() if bad)
        block = "\n\n".join(
            prompts.SOURCE.substitute(
                n=s.n, title=strip_hidden(s.title), section=strip_hidden(s.section) or "-", text=by_n[s.n]
            )
            for s in sources
        )
        messages: list[Message] = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": prompts.ANSWER.substitute(sources=block, question=question)},
        ]
        all_text = "\n".join(by_n.values())
        demanded = demanded_phrases(question)
        rules = prompts.SYSTEM.substitute(scope="")  # the scope is public (the decline states it); the rules aren't
        kept: list[str] = []
        usage = Usage()
        buffer = ""
        interrupted = False

        def check(sentence: str) -> str | None:
            cleaned = strip_hidden(sentence).strip()
            # A link, image, address or HTML tag drops the sentence: nothing in an answer loads or links outside.
            if not cleaned or has_active_content(cleaned):
                return None
            if leaks_instructions(cleaned, rules) or (injected and echoes_instructions(cleaned, injected, 4)):
                return None
            if any(phrase in cleaned.lower() for phrase in demanded):
                return None  # parroting what the question ordered it to say
            cited = [int(n) for n in CITATION.findall(cleaned)]
            if any(n not in by_n for n in cited):
                return None  # cites a source that isn't there
            scope = "\n".join(by_n[n] for n in cited) if cited else all_text
            if figures(cleaned) and (not cited or ungrounded_figures(cleaned, scope)):
                return None
            if support(CITATION.sub(" ", cleaned), all_text) < MIN_SUPPORT:
                return None  # mostly words the sources don't use: role-play, invention, off-topic
            return cleaned

        try:
            for item in self.chat.stream(messages, self.settings.max_answer_tokens, self.settings.temperature):
                if isinstance(item, Usage):
                    usage = item
                    continue
                buffer += item
                parts = SENTENCE.split(buffer)
                for sentence in parts[:-1]:
                    ok = check(sentence)
                    if ok:
                        kept.append(ok)
                        yield ok + (" " if not sentence.endswith("\n") else "\n")
                buffer = parts[-1]
        except StreamInterruptedError:
            interrupted = True
            buffer = ""
        if buffer.strip():
            ok = check(buffer)
            if ok:
                kept.append(ok)
                yield ok
        text = " ".join(kept).strip()
        if not CITATION.search(text) and units:
            extra = f"\n\n{prompts.NO_SUPPORT if not text else prompts.EVIDENCE_HEADER}\n{quote_block(units)}"
            yield extra
            text += extra
        if interrupted:
            yield f"\n\n{prompts.INTERRUPTED}"
            text += f"\n\n{prompts.INTERRUPTED}"
        return text.strip(), usage, interrupted
