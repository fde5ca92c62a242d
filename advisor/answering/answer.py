"""The answer path: question (+ history) -> retrieval -> evidence -> a grounded, cited answer.

This module holds what every answer shares: the :class:`Answer` and its :class:`Source` list, the
:class:`AnswerStream` a UI iterates, input checks, the follow-up rewrite and the refusals. How the text
itself is made is one of two modes:
- ``grounded`` (:mod:`advisor.answering.grounded`, the default for the bundled 135M model): the answer
  *is* the quoted evidence, plus at most one lead sentence the quotes back entirely.
- ``generative`` (:mod:`advisor.answering.generative`, OpenAI or a larger GGUF): the model writes from
  numbered sources and every sentence passes the guard before it is shown.
Questions the knowledge base has nothing on are declined. It deliberately never answers from the
model's own memory.

A stream and its stored answer are the same text, byte for byte: :meth:`Answerer.stream` stores exactly
the concatenation of the pieces it yielded, in every mode, refusals and interrupted streams included.
Each step (rewrite, embed, retrieve, select, model) is timed on the stream's :class:`~advisor.answer_log.Trace`,
which the answer carries (``Answer.trace``) for the answer log.

Long: the one place the steps meet (rewrite, retrieve, plan, per-entity and guidance retrieval, select,
compose); each step lives in its own module, this one only orders them and records what they did.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from advisor import prompts
from advisor.answer_log import Trace
from advisor.answering.conversation import Turn, is_follow_up, rewrite_follow_up
from advisor.answering.evidence import MAX_UNITS, MIN_RATIO, EvidenceSelector, Unit
from advisor.answering.generative import generative_answer
from advisor.answering.grounded import grounded_answer
from advisor.answering.guard import split_injections
from advisor.answering.plan import Plan, make_plan
from advisor.answering.scoping import GUIDANCE, about, advice_first, each_document, narrow
from advisor.errors import InputError
from advisor.kb.entities import EntityCatalog, catalog_for
from advisor.providers.chat_models import ChatModel, Usage, complete
from advisor.retrieval.lexical import tokenize
from advisor.retrieval.retriever import Hit, Retriever
from advisor.retrieval.units import unit_parts
from advisor.settings import Settings
from advisor.text import CITATION, indefinite

__all__ = ["Answer", "AnswerStream", "Answerer", "Source", "clean_question", "make_sources", "to_turns"]

SNIPPET_CHARS = 240
ABBREVIATION = re.compile(r"[A-Z][A-Z0-9.&]{1,7}")  # an abbreviation in capitals ("NASA", "U.N.")
ENTITY_CACHE = "entities-cache.json"  # what was learned from documents stored before ingest kept it
PROFILE_HITS = 8  # passages searched for what the knowledge base says about one entity
PER_ENTITY_HITS = 2  # passages fetched for a comparison's side that the first retrieval missed
GUIDANCE_HITS = 2  # passages fetched for a decision's "how to choose"
GUIDANCE_WIDE = 30  # ... searched, when it names no entity, for each document's own
ADVICE_HITS = 3  # ... of which each document's best, those that give advice ("Pick the ...") first
BACKGROUND_HITS = 2  # chunks of the asker's background section added when the search found none
TABLE_HITS = 12  # chunks of an entity's table added to a fact about it (a chunk may hold a single row)
MAX_DOCUMENT_CHUNKS = 400  # ... looked for in documents up to this many chunks
# A verdict, a decision or a comparison's other side may rest on a passage that ranks lower; a list has many:
# their candidate units are more, and from further down the ranking.
WIDE_KINDS = ("yes_no", "decision", "list", "comparison")
WIDE_UNITS, WIDE_RATIO = 12, 0.6


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
    trace: Trace = field(default_factory=Trace, repr=False, compare=False)  # steps and timings (the answer log)

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
            "log_id": self.trace.record_id,  # this answer's answer-log record (None: not logged)
        }


class AnswerStream:
    """Iterate for text deltas; afterwards ``.answer`` holds the complete :class:`Answer`, whose text is
    the deltas joined."""

    def __init__(self, gen: Generator[str, None, Answer], trace: Trace | None = None) -> None:
        self._gen = gen
        self.answer: Answer | None = None
        self.trace = trace or Trace()  # filled as the stream runs; a stream that stops early has it too

    def __iter__(self) -> Generator[str, None, None]:
        self.answer = yield from self._gen

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
        raise InputError("the question is empty: type a question about careers")
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


class Answerer:
    def __init__(self, settings: Settings, retriever: Retriever, selector: EvidenceSelector, chat: ChatModel) -> None:
        self.settings = settings
        self.retriever = retriever
        self.selector = selector
        self.chat = chat
        self._catalog: tuple[tuple[str, int], EntityCatalog] | None = None

    def catalog(self) -> EntityCatalog:
        """The entities and backgrounds of the knowledge base as it is now (rebuilt when it changes)."""
        kb = self.retriever.kb
        key = (kb.manifest.collection, kb.manifest.generation)
        if self._catalog is None or self._catalog[0] != key:
            records = list(kb.manifest.documents.values())
            cache = self.settings.data_dir / ENTITY_CACHE
            self._catalog = (key, catalog_for(records, kb.collection.fetch, cache))
        return self._catalog[1]

    def entity_profile(self, entity: str, k: int = PROFILE_HITS) -> list[str]:
        """The passages the knowledge base has on ``entity`` alone: its table cells and the sentences that
        name it or sit under a heading that names only it."""
        catalog = self.catalog()
        article = indefinite(entity)
        retrieval = self.retriever.search(prompts.PROFILE_QUERY.substitute(article=article, entity=entity), k=k)
        out: list[str] = []
        for rank, hit in enumerate(retrieval.hits):
            for pos, (text, row) in enumerate(unit_parts(hit.text)):
                unit = narrow(Unit(rank, pos, text, row=row, section=hit.section), [entity], catalog)
                about = unit is not None and (
                    entity in catalog.find(unit.text) or catalog.section_entity(hit.section) == entity
                )
                if unit is not None and about and unit.text not in out:
                    out.append(unit.text)
        return out

    def scope(self) -> str:
        """What the advisor covers, from its knowledge base: the entities its documents compare, else their titles."""
        names = self.catalog().names or [d.title for d in self.retriever.kb.manifest.documents.values()]
        if not names:
            return prompts.SCOPE_EMPTY
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        return prompts.SCOPE.substitute(topics=shown)

    @property
    def system_prompt(self) -> str:
        return prompts.SYSTEM.substitute(scope=self.scope())

    # -- public ---------------------------------------------------------------------------------
    def stream(self, question: str, history: Sequence[Any] | None = None) -> AnswerStream:
        question = clean_question(question, self.settings.max_question_chars)
        turns = to_turns(history, self.settings.max_history_turns)
        trace = Trace(question=question, mode=self.settings.effective_answer_mode, model=self.chat.name)
        return AnswerStream(self._run(question, turns, trace), trace)

    def ask(self, question: str, history: Sequence[Any] | None = None) -> Answer:
        return self.stream(question, history).consume()

    # -- steps ----------------------------------------------------------------------------------
    def standalone(self, question: str, turns: list[Turn]) -> tuple[str, Usage]:
        catalog = self.catalog()
        rewritten = rewrite_follow_up(question, turns, catalog)
        if self.settings.effective_answer_mode != "generative" or not is_follow_up(question, turns, catalog):
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
        if 3 <= len(text) <= 400 and (catalog.find(text) or not catalog.find(rewritten)):
            return text, usage
        return rewritten, usage

    def _per_entity_hits(self, plan: Plan, question: str, hits: list[Hit], catalog: EntityCatalog) -> list[Hit]:
        """A comparison quotes every side: an entity no retrieved passage is about gets its own retrieval
        (it may live in another document)."""
        if plan.kind != "comparison":
            return []
        extra: list[Hit] = []
        seen = {h.chunk_id for h in hits}
        for entity in plan.entities[1:4] if len(plan.entities) > 1 else []:
            if any(entity in catalog.find(f"{h.section} {h.text}") for h in hits + extra):
                continue
            others = [n for n in plan.entities if n != entity]
            query = question
            for start, end, name in sorted(catalog.spans(question), reverse=True):
                if name in others:
                    query = query[:start] + query[end:]
            found = self.retriever.search(query, k=PER_ENTITY_HITS)
            extra += [
                h for h in found.hits if h.chunk_id not in seen and entity in catalog.find(f"{h.section} {h.text}")
            ]
            seen.update(h.chunk_id for h in extra)
        return extra

    def _document_chunks(self, docs: set[str], hits: list[Hit]) -> list[Hit]:
        """Every chunk of these documents that ``hits`` lacks (none for a very long document: what it holds is
        found by searching, not by reading it all)."""
        seen = {h.chunk_id for h in hits}
        documents = self.retriever.kb.manifest.documents
        ids = [cid for d in sorted(docs) if d in documents for cid in documents[d].chunk_ids if cid not in seen]
        return self.retriever.chunks(ids) if len(ids) <= MAX_DOCUMENT_CHUNKS else []

    def _background_hits(self, plan: Plan, hits: list[Hit]) -> list[Hit]:
        """An asker who says who they are gets their background's section, whatever the search ranks: the
        advice written for them is the answer to "which role?" and the context of "should I take it?"."""
        background = plan.background
        if background is None or plan.kind not in ("recommendation", "decision", "fact", "yes_no"):
            return []
        if any(background.advises(h.section, h.doc_id) for h in hits):
            return []
        own = [h for h in self._document_chunks({background.doc_id}, hits) if background.advises(h.section, h.doc_id)]
        return own[:BACKGROUND_HITS]

    def _table_hits(self, plan: Plan, hits: list[Hit], catalog: EntityCatalog) -> list[Hit]:
        """A fact about one entity may be a cell of its document's table ("which tools", "where do they come from")
        that no search ranks high: the chunks holding the rows of a table about the entity come along, and the
        selector scores the entity's own cells against the question. A comparison gets every side's rows (the
        column on the question's topic sets them side by side)."""
        one = len(plan.entities) == 1 and plan.kind in ("fact", "list", "yes_no")
        if not one and not (plan.kind == "comparison" and len(plan.entities) >= 2):
            return []
        wanted = set(plan.entities)
        docs = {d for entity in wanted for d in catalog.entity_docs.get(entity, ())}
        out = []
        for hit in self._document_chunks(docs, hits):
            rows = [row for _, row in unit_parts(hit.text) if row is not None]
            if any(wanted & set(catalog.find(f"{row.label} {' '.join(h for h, _ in row.cells)}")) for row in rows):
                out.append(hit)
        return out[:TABLE_HITS]

    def _guidance_hits(self, plan: Plan, question: str, hits: list[Hit]) -> list[Hit]:
        """A decision gets the knowledge base's guidance on deciding, wherever it is written."""
        if plan.kind != "decision":
            return []
        seen = {h.chunk_id for h in hits}
        query = prompts.DECISION_QUERY.substitute(question=question)
        if plan.entities:
            found = self.retriever.search(query, k=GUIDANCE_HITS).hits
        else:  # "How should I choose between the three?" names none: each document's guidance on choosing its own
            advice = [h for h in self.retriever.search(query, k=GUIDANCE_WIDE).hits if GUIDANCE.search(h.text)]
            found = each_document(advice_first(advice, lambda h: h.text), ADVICE_HITS)
        return [h for h in found if h.chunk_id not in seen]

    def _with_guidance(self, question: str, plan: Plan, hits: list[Hit], units: list[Unit]) -> list[Unit]:
        query = prompts.DECISION_QUERY.substitute(question=question)
        vector = self.retriever.embedder.embed([query])[0]
        have = {(u.hit_rank, u.position) for u in units}
        weights = self.retriever.term_weights(set(tokenize(query)))
        if plan.entities:
            extra = self.selector.select(query, vector, hits, max_units=GUIDANCE_HITS, weights=weights)
        else:  # each document's own advice on choosing, however far its score is from another document's
            every = self.selector.select(query, vector, hits, max_units=len(hits) * 50, min_ratio=0.0, weights=weights)
            advice = [u for u in sorted(every, key=lambda u: -u.score) if GUIDANCE.search(u.text)]
            extra = each_document(advice_first(advice, lambda u: u.text), GUIDANCE_HITS)
        return units + [u for u in extra if (u.hit_rank, u.position) not in have]

    @staticmethod
    def _credit(plan: Plan, catalog: EntityCatalog) -> tuple[set[str], Callable[[Unit], bool]] | None:
        """In a question about one entity, a passage about it (naming it, its table cell, under its heading) has
        the entity's name whether or not it spells it out: "Their customers are ..." under "The platform engineer"."""
        if len(plan.entities) != 1 or plan.kind not in ("fact", "list"):
            return None
        entity = plan.entities[0]
        terms = set(tokenize(" ".join([entity, *catalog.aliases.get(entity, ())])))
        return terms, lambda unit: about(unit, entity, catalog)

    @staticmethod
    def _focus(plan: Plan, catalog: EntityCatalog) -> Callable[[Unit], Unit | None] | None:
        """A fact about one entity scores table rows by that entity's cells alone."""
        if plan.kind not in ("fact", "list") or len(plan.entities) != 1:
            return None
        return lambda unit: narrow(unit, plan.entities, catalog)

    @staticmethod
    def _background_sections(plan: Plan, hits: list[Hit], catalog: EntityCatalog) -> dict[int, bool]:
        """Which hits are the asker's background's section (True) or another background's (False)."""
        if plan.background is None:
            return {}
        out: dict[int, bool] = {}
        for rank, hit in enumerate(hits):
            for background in catalog.backgrounds:
                if background.advises(hit.section, hit.doc_id):
                    out[rank] = background == plan.background
        return out

    def _run(self, question: str, turns: list[Turn], trace: Trace) -> Generator[str, None, Answer]:
        started = trace.started = time.perf_counter()
        mode = self.settings.effective_answer_mode
        with trace.step("rewrite"):
            standalone, usage = self.standalone(question, turns)
        trace.standalone_question = standalone
        trace.plan.update(mode=mode, follow_up=standalone != question)
        # The passages may call an entity by its abbreviation (the question says "space agency", a passage "NASA"):
        # the word search looks for that too.
        catalog = self.catalog()
        short = [a for n in catalog.find(standalone) for a in catalog.aliases.get(n, ()) if ABBREVIATION.fullmatch(a)]
        also = " ".join(t for t in tokenize(" ".join(short)) if t not in set(tokenize(standalone)))
        retrieval = self.retriever.search(standalone, also=also)
        trace.retrieved(retrieval)
        base: dict[str, Any] = dict(
            question=question, standalone_question=standalone, mode=mode, model=self.chat.name, trace=trace
        )

        if self.retriever.chunk_count == 0 or not retrieval.relevant:
            text = (
                prompts.EMPTY_KB if self.retriever.chunk_count == 0 else prompts.REFUSAL.substitute(scope=self.scope())
            )
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

        catalog = self.catalog()
        with trace.step("plan"):
            plan = make_plan(standalone, catalog, self.retriever.knows, [h.doc_id for h in retrieval.hits])
        trace.plan.update(plan.to_log())
        if plan.stranger and not plan.entities:  # someone else's career: declined like any question it doesn't cover
            text = prompts.REFUSAL.substitute(scope=self.scope())
            yield text
            elapsed = time.perf_counter() - started
            return Answer(
                text, [], True, usage, latency_s=elapsed, first_token_s=elapsed, reason="out_of_scope", **base
            )
        hits = retrieval.hits + self._per_entity_hits(plan, standalone, retrieval.hits, catalog)
        hits += self._guidance_hits(plan, standalone, hits)
        hits += self._table_hits(plan, hits, catalog)
        hits += self._background_hits(plan, hits)
        sources = make_sources(hits)
        assert retrieval.query_vector is not None
        with trace.step("select"):
            wide = plan.kind in WIDE_KINDS
            units = self.selector.select(
                standalone,
                retrieval.query_vector,
                hits,
                max_units=WIDE_UNITS if wide else MAX_UNITS,
                mine=self._background_sections(plan, hits, catalog),
                min_ratio=WIDE_RATIO if wide else MIN_RATIO,
                focus=self._focus(plan, catalog),
                weights=self.retriever.term_weights(set(tokenize(standalone))),
                credit=self._credit(plan, catalog),
                on_topic=(lambda u: narrow(u, plan.entities, catalog) is not None) if plan.entities else None,
                ranking=plan.kind != "yes_no" and len(plan.entities) != 1,
            )
            if plan.kind == "decision":  # and the units that say how to decide, by what they say
                units = self._with_guidance(standalone, plan, hits, units)
        trace.selected(units)
        chat = trace.timed(self.chat)  # the time inside the model's stream is the "model" step
        if mode == "grounded":
            gen = grounded_answer(standalone, plan, catalog, sources, units)
        else:
            gen = generative_answer(chat, self.settings, self.system_prompt, standalone, sources, units, plan, catalog)
        # The stored text is built here, from the very pieces the caller is given, and nowhere else.
        deltas: list[str] = []
        first_token_s = 0.0
        while True:
            try:
                delta = next(gen)
            except StopIteration as stop:
                gen_usage, interrupted = stop.value
                break
            if not deltas:
                first_token_s = time.perf_counter() - started
            deltas.append(delta)
            yield delta
        trace.plan.update(plan.to_log())  # composing may add to the plan (the verdict's check)
        text = "".join(deltas)
        cited = {int(n) for n in CITATION.findall(text)}
        used = [s for s in sources if s.n in cited] or sources[:1]
        return Answer(
            text,
            used,
            False,
            usage + gen_usage,
            latency_s=time.perf_counter() - started,
            first_token_s=first_token_s,
            interrupted=interrupted,
            **base,
        )
