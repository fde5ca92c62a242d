"""The grounded answer: one to three sentences that answer, composed from the evidence, then the quotes.

For the bundled 135M model, which can't be trusted with facts, the model writes nothing here. The
answer plan (:mod:`advisor.answering.plan`) picks the shape:

- yes/no and leading questions open with the verdict (:mod:`advisor.answering.verdict`): "No: <the
  passage that says otherwise> [n]", "Yes: ...", or that the knowledge base doesn't say;
- a fact about one entity opens with that entity's own table cell ("<row> for <entity>: <cell>") or
  its best sentence; a comparison with both sides; a recommendation with the reader's background
  section; a decision with the knowledge base's guidance;
- specifics the knowledge base never mentions (a city, a currency) are named: "The knowledge base says
  nothing about London or pounds".

Then at most three supporting quotes (five for a list question), scoped to the entities and background
the question is about, each standing alone: a quote that leans on its heading carries it in brackets.
Every sentence is verbatim from a cited source or a fixed template around one, so every figure shown is
in a cited source. It deliberately never paraphrases a passage and never calls the chat model.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING

from advisor import prompts
from advisor.answering.evidence import ANAPHOR, Unit
from advisor.answering.plan import Plan
from advisor.answering.scoping import GUIDANCE, about, advice_first, each_document, narrow, scope
from advisor.answering.verdict import COMPARATIVE, columns, polarity, verdict
from advisor.kb.entities import EntityCatalog
from advisor.providers.chat_models import Usage
from advisor.retrieval.lexical import tokenize
from advisor.text import indefinite

if TYPE_CHECKING:  # answer.py imports this module; Source is only a type here
    from advisor.answering.answer import Source

# A sentence boundary: end punctuation then whitespace, or a blank line. The generative path splits the
# model's stream on it too (one home for what a "sentence" is).
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n{2,}")
MAX_QUOTES = 3  # supporting quotes after the opening: enough to back it, few enough to read
MAX_LIST_QUOTES = 5  # a question that asks for a list gets more
RANKING_WINDOW = 5  # "which pays the most?": how far down the units a ranking sentence may be found
QUANTIFIER = re.compile(r"^\W*(most|more|fewer|less)\b", re.I)
# A difference asked about or sized: "how far apart", "the gap", "within 20%", "$25K less", "10% more".
DIFFERENCE = re.compile(
    r"\b(differences?|gap|apart|within \d+%|compared)\b|\d[\d,.]*\s?[km%]?\s(more|less|higher|lower)\b", re.I
)
OWN_SECTION_RATIO = 0.85  # the asker's background section leads when it scores this close to the best unit
# The second-best unit opens a fact as its entity's table cell when it scores this close to the best, or when
# the question names what the cell holds.
CELL_RATIO = 0.95


def _tail(section: str) -> str:
    return section.rsplit(">", 1)[-1].strip()


def _end(text: str) -> str:
    text = text.strip().rstrip(";,:").strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _cite(unit: Unit) -> str:
    return f"[{unit.hit_rank + 1}]"


def standalone(unit: Unit, quoted: list[Unit], catalog: EntityCatalog) -> str:
    """The unit's text, carrying its heading when its subject is there: it opens by leaning on what came
    before and that isn't quoted, or it names no entity while its heading names one. Only the first
    quote from a section carries it (``quoted``: the units shown before this one)."""
    before_quoted = any(u.hit_rank == unit.hit_rank and u.position == unit.position - 1 for u in quoted)
    before_quoted = before_quoted or any(u.section == unit.section for u in quoted)
    tail = _tail(unit.section)
    leans = bool(ANAPHOR.match(unit.text)) and not before_quoted
    unnamed = unit.row is None and not catalog.find(unit.text) and len(catalog.find(tail)) == 1
    if tail and (leans or unnamed) and not before_quoted:
        return f"[{tail}] {unit.text}"
    return unit.text


def _names_dimension(unit: Unit, asked: set[str]) -> bool:
    """Whether the question names what a table row's cells are ("earn" and "Typical mid-level TC": pay)."""
    row = unit.row
    if row is None:
        return False
    return bool(asked & set(tokenize(" ".join([row.label, *(h for h, _ in row.cells)]))))


def _cell_opening(unit: Unit, entity: str, question: str, catalog: EntityCatalog) -> str | None:
    row = unit.row
    if row is None:
        return None
    if entity in catalog.find(row.label):  # the entity is the row: pick the columns the question asks about
        terms = set(tokenize(question))
        cells = [(h, c) for h, c in row.cells if terms & set(tokenize(h))] or list(row.cells)
        return "; ".join(f"{h} for {row.label}: {c}" if h else f"{row.label}: {c}" for h, c in cells)
    cells = [(h, c) for h, c in row.cells if entity in catalog.find(h)]
    if len(cells) == 1:
        return f"{row.label} for {cells[0][0]}: {cells[0][1]}"
    return None


def _coverage(plan: Plan) -> str:
    missing = plan.uncovered
    named = missing[0] if len(missing) == 1 else f"{', '.join(missing[:-1])} or {missing[-1]}"
    return prompts.UNCOVERED.substitute(specifics=named)


def opening(question: str, plan: Plan, units: list[Unit], catalog: EntityCatalog) -> tuple[list[str], list[Unit]]:
    """The answer's first sentences, and the units they quote (so they aren't quoted twice)."""
    best = sorted(units, key=lambda u: -u.score)
    found = None
    if plan.kind == "yes_no":
        found = verdict(question, plan, best, catalog)
        plan.verdict = found.check if found else "none"
        if found is None and plan.leading:
            return [prompts.NO_VERDICT], []  # a premise that is neither backed nor refuted is said to be so
    if found is not None:
        word = "Yes" if found.answer == "yes" else "No"
        # The whole passage reads best; only one naming several entities is cut to the clause that decides.
        whole = found.text == found.unit.text or len(catalog.find(found.unit.text)) < 2
        text = _end(standalone(found.unit, [], catalog) if whole else found.text)
        # a FAQ that asks the reverse of the premise answers it "Yes" where the verdict is "No": its own word goes
        text = re.sub(rf"^(?!{word}\b)(?:yes|no)\b[.,:;!]?\s*(?=\w)", "", text, flags=re.I)
        text = text[:1].upper() + text[1:]
        if re.match(rf"^{word}\b", text, re.I):
            return [f"{text} {_cite(found.unit)}"], [found.unit]  # the passage itself opens with the verdict
        return [f"{word}: {text} {_cite(found.unit)}"], [found.unit]
    own = _own_section(plan, units)
    if plan.kind == "recommendation" and own:
        label = plan.background.label if plan.background else ""
        lead = f"For {indefinite(label)} {label}: "
        return [f"{lead}{_end(own[0].text)} {_cite(own[0])}"], [own[0]]
    if own and plan.kind in ("decision", "fact") and max(u.score for u in own) >= OWN_SECTION_RATIO * best[0].score:
        top_own = max(own, key=lambda u: u.score)  # the asker's own section answers as well as anything
        return [f"{_end(standalone(top_own, [], catalog))} {_cite(top_own)}"], [top_own]
    ranked = [w.lower() for w in COMPARATIVE.findall(question)]
    if plan.kind == "comparison" and len(plan.entities) >= 2:
        superlative = [w for w in ranked if _superlative(w)]
        ranking = _ranking(superlative, best, catalog, question)  # "Who earns the most: X, Y or Z?" is a ranking
        if ranking is not None:
            return [f"{_end(ranking.text)} {_cite(ranking)}"], [ranking]
        return _comparison(plan, best, catalog, question)
    if plan.kind == "decision":
        guiding = advice_first([u for u in best if GUIDANCE.search(u.text)], lambda u: u.text)
        if guiding:
            # Naming no entity, where several documents each advise on choosing among their own: each one's advice.
            guiding = each_document(guiding, 1)[: MAX_QUOTES if not plan.entities else 1]
            return [" ".join(f"{_end(u.text)} {_cite(u)}" for u in guiding)], guiding
    if plan.kind == "list" or not best:
        return [], []
    # "the fastest growing of X, Y and Z" ranks them all: not a fact about the first one named
    if plan.entities and not (ranked and len(plan.entities) >= 2):
        # a fact about one entity opens with what is said about that entity, not its neighbours
        if not any(about(u, plan.entities[0], catalog) for u in best):
            return [prompts.NOT_ABOUT.substitute(entity=catalog.plural(plan.entities[0]))], []
        best = [u for u in (narrow(b, plan.entities[:1], catalog) for b in best) if u is not None] or best
        # ... and what names it (or is its cell, or sits under its heading) before what names nothing
        best = sorted(best, key=lambda u: not about(u, plan.entities[0], catalog))
    ranking = _ranking(ranked, best, catalog, question)  # "Which pays the most?": the passage that ranks the same way
    if ranking is not None:
        ranks = [ranking]
        # "Which of the three pays the most?" names none: where several documents each compare their own, each
        # one's ranking answers it.
        while not plan.entities and len(ranks) < MAX_QUOTES:
            seen = {u.doc_id for u in ranks}
            more = _ranking(ranked, [u for u in best if u.doc_id not in seen], catalog, question)
            if more is None:
                break
            ranks.append(more)
        return [" ".join(f"{_end(u.text)} {_cite(u)}" for u in ranks)], ranks
    top = best[0]
    if plan.entities:
        asked = set(tokenize(question))
        for unit in [u for u in best[:2] if u.score >= CELL_RATIO * best[0].score or _names_dimension(u, asked)]:
            cell = _cell_opening(unit, plan.entities[0], question, catalog)
            if cell:
                return [f"{_end(cell)} {_cite(unit)}"], [unit]
    return [f"{_end(standalone(top, [], catalog))} {_cite(top)}"], [top]


def _ranking(ranked: list[str], best: list[Unit], catalog: EntityCatalog, question: str) -> Unit | None:
    """Of the best units, the sentence that ranks entities the way the question's words do (the same word, else
    the same direction), or None. A table row doesn't rank: "Best background" is a header."""
    if not ranked:
        return None
    window = [u for u in best[:RANKING_WINDOW] if catalog.find(u.text) and u.row is None]
    # "Most teams want ..." is a quantifier, not a ranking
    said = [(u, [w.lower() for w in COMPARATIVE.findall(QUANTIFIER.sub("", u.text))]) for u in window]
    same = [u for u, words in said if set(words) & set(ranked)]
    alike = [(u, words) for u, words in said if {polarity(w) for w in words} & {polarity(w) for w in ranked} - {0}]
    if any(_superlative(w) for w in ranked):  # "earns the most": "the best paid", not "$15K more", "biggest raise"
        asked = set(tokenize(question)) - set(tokenize(" ".join(catalog.find(question))))  # the topic
        alike.sort(key=lambda p: (not any(map(_superlative, p[1])), -len(asked & set(tokenize(p[0].text)))))
    found = same or [u for u, _ in alike]
    return found[0] if found else None


def _superlative(word: str) -> bool:
    return word in ("most", "least") or word.endswith("est")


def _own_section(plan: Plan, units: list[Unit]) -> list[Unit]:
    """The units from the section that advises the asker's background, in document order."""
    if plan.background is None:
        return []
    background = plan.background
    return sorted((u for u in units if background.advises(u.section, u.doc_id)), key=lambda u: (u.hit_rank, u.position))


def _comparison(
    plan: Plan, best: list[Unit], catalog: EntityCatalog, question: str = ""
) -> tuple[list[str], list[Unit]]:
    targets = plan.entities[:3]
    if DIFFERENCE.search(question):  # "how big is the gap?": the sentence that sizes the difference answers it
        terms = set(tokenize(question))
        sizing = [u for u in best if DIFFERENCE.search(u.text) and terms & set(tokenize(u.text))]
        sizing = [u for u in sizing if narrow(u, targets, catalog) is not None]  # not a gap between others
        if sizing:
            return [f"{_end(sizing[0].text)} {_cite(sizing[0])}"], [sizing[0]]
    # Of the passages that set the entities side by side, the one on the question's topic ("on-call") answers.
    topic = set(tokenize(question)) - set(tokenize(" ".join(n for t in targets for n in (t, *catalog.aliases[t]))))
    # (topic words it has, is it table cells, score, its text, the units it is drawn from)
    side_by_side: list[tuple[int, bool, float, str, list[Unit]]] = []
    for unit in best:
        row = unit.row
        if row is not None:
            cells = [(h, c) for h, c in row.cells if set(catalog.find(h)) & set(targets)]
            if len(cells) >= 2:
                text = f"{row.label}: {'; '.join(f'{h} {c}' for h, c in cells)}."
                side_by_side.append((len(topic & set(tokenize(text))), True, unit.score, text, [unit]))
        elif len(set(catalog.find(unit.text)) & set(targets)) >= 2:
            side_by_side.append((len(topic & set(tokenize(unit.text))), False, unit.score, _end(unit.text), [unit]))
    for first, header, by_entity in columns(best, catalog):  # one row per entity: the column on the topic
        mine = {n: by_entity[n] for n in targets if n in by_entity}
        if len(mine) >= 2:
            text = f"{header}: {'; '.join(f'{n} {c}' for n, (_, c) in mine.items())}."
            rows = list({(u.hit_rank, u.position): u for u, _ in mine.values()}.values())  # a row may be a passage
            side_by_side.append((len(topic & set(tokenize(f"{header} {text}"))), True, first.score, text, rows))
    if side_by_side:
        # On the same topic, a row that gives each entity its own cell before a sentence (which may measure both
        # against a third: "X earn $10K less than Z, and Y $25K less"). Every passage it draws on is cited.
        *_, text, drawn = max(side_by_side, key=lambda item: item[:3])
        cites = "".join(dict.fromkeys(_cite(u) for u in sorted(drawn, key=lambda u: u.hit_rank)))
        return [f"{text} {cites}"], drawn
    lines, used = [], []
    for entity in targets:
        about = [u for u in best if entity in catalog.find(u.text) or catalog.section_entity(u.section) == entity]
        if about and about[0] not in used:
            lines.append(f"{_end(standalone(about[0], [], catalog))} {_cite(about[0])}")
            used.append(about[0])
    return lines, used


def compose(question: str, plan: Plan, units: list[Unit], catalog: EntityCatalog) -> str:
    """The whole grounded answer for ``question`` from the selected ``units``."""
    lines, used = opening(question, plan, units, catalog)
    if plan.uncovered:
        lines.insert(1 if plan.kind == "yes_no" else 0, _coverage(plan))
    entities = list(dict.fromkeys([*plan.entities, *(n for u in used for n in catalog.find(u.text))]))
    own = _own_section(plan, units)
    if plan.kind in ("recommendation", "decision", "fact") and own and all(u in own for u in used):
        pool = own  # advice for the asker's background: nothing meant for other readers
    elif plan.kind in ("comparison", "yes_no", "recommendation", "decision"):
        pool = scope([u for u in units if u not in used], plan, catalog, entities)
    else:
        pool = scope([u for u in units if u not in used], plan, catalog, plan.entities[:1])
    used_keys = {(u.hit_rank, u.position) for u in used}
    pool = [u for u in pool if (u.hit_rank, u.position) not in used_keys]
    shown_keys = used_keys | {(u.hit_rank, u.position) for u in pool}
    # A sentence that leans on the one before it mid-way ("can match this at top labs") can't stand alone
    # when that sentence isn't shown.
    pool = [
        u
        for u in pool
        if ANAPHOR.match(u.text) or not ANAPHOR.search(u.text) or (u.hit_rank, u.position - 1) in shown_keys
    ]
    limit = MAX_LIST_QUOTES if plan.kind == "list" else MAX_QUOTES
    quotes = sorted(sorted(pool, key=lambda u: -u.score)[:limit], key=lambda u: (u.hit_rank, u.position))
    block = "\n>\n".join(f"> {standalone(u, [*used, *quotes[:i]], catalog)} {_cite(u)}" for i, u in enumerate(quotes))
    return "\n\n".join([" ".join(lines)] if lines else []) + ("\n\n" if lines and block else "") + block


def quote_block(units: list[Unit]) -> str:
    """One Markdown blockquote, a paragraph per quote (a bare ">" line keeps them from running together)."""
    return "\n>\n".join(f"> {u.text} [{u.hit_rank + 1}]" for u in units)


def grounded_answer(
    question: str, plan: Plan, catalog: EntityCatalog, sources: list[Source], units: list[Unit]
) -> Generator[str, None, tuple[Usage, bool]]:
    """Yield the answer's pieces (their concatenation is the answer); return (usage, interrupted=False)."""
    if not units:
        yield "\n".join(f"> {s.snippet} [{s.n}]" for s in sources[:2])
        return Usage(), False
    yield from compose(question, plan, units, catalog).splitlines(keepends=True)
    return Usage(), False
