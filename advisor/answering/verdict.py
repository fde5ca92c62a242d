"""The verdict on a yes/no or leading question: does the evidence support its premise, contradict it, or neither?

A list of named checks, tried in order; the first that reaches a verdict wins, and its passage backs it:

- ``source_says``: a passage that itself opens with "Yes"/"No", under a heading that asks the same thing.
- ``opposite``: a passage on the premise's topic that says the reverse of one of its words ("postings are
  shrinking" against "postings grew"), the pairs of words from the vocabulary's ``opposites``.
- ``figure_claim``: a money figure, duration or percentage in the premise against the entity's own figures
  (a range, "within 20%").
- ``background_choice``: "As a <background> I should become X, right?" against the entity that background's
  section names first (its recommendation).
- ``table_cell``: a table row on the premise's topic, where another entity's cell matches the premise
  better than the named entity's own cell ("X mostly ships Y" when the table gives Y to another entity).
- ``negated``: a passage about the entity, on the premise's words, that negates what the premise affirms.
- ``comparative``: a superlative or comparative in the premise against the passage that ranks the entities
  ("X has the highest ceiling" vs "Y has ... the highest ceiling"), or that ranks the
  premise's subject the other way ("most common" vs "rarest").
- ``supported``: a passage about the entity, without a negation, that holds most of the premise's words.

No check fires: the knowledge base doesn't say, and the answer says so.

Long: the checks are one ordered list, and their order is part of the logic (a figure outranks a
negation, a ranking outranks a bare overlap); split across modules, that order could not be read in one place. The checks read English grammar
(negations, comparatives, units of time); every entity comes from the knowledge base.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from advisor import vocabulary
from advisor.answering.evidence import ANAPHOR, Unit
from advisor.answering.guard import figures
from advisor.answering.plan import Plan, premise
from advisor.kb.entities import EntityCatalog
from advisor.retrieval.lexical import tokenize

NEGATION = re.compile(r"\b(not|no|never|none|rarely|seldom|hardly|nor|cannot|without)\b|n't\b", re.I)
UNIVERSAL = re.compile(r"\b(all|every|everyone|everything|only|always|entirely|completely|whole)\b", re.I)
NEGATION_WORDS = "not no never none rarely seldom hardly nor cannot without"
HEDGES = frozenset({"ever", "any", "really", "always", "usually", "often", "just", "even", "actually", "still"})
EXCLUSIVE = re.compile(
    r"\b(just|only|merely|purely|rather than|instead of)\b|,\s*not\b|\bnot (an?|the) (real|actual)\b", re.I
)
CONTRAST = re.compile(r",\s*not\b[^,.;]*", re.I)  # "X, not Y": rejects only Y
STOP = frozenset(
    {"the", "and", "not", "but", "for", "you", "your", "are", "that", "this", "with", "what", "all", "can"}
)
POSITIVE: tuple[str, ...] = ("most", "highest", "best", "greatest", "largest", "biggest", "more", "higher")
POSITIVE += ("greater", "larger", "bigger", "better", "closer", "commonest", "common")
NEGATIVE: tuple[str, ...] = ("least", "lowest", "worst", "fewest", "smallest", "rarest", "less", "lower", "fewer")
NEGATIVE += ("smaller", "worse", "rarer", "farther", "further", "rare")
NOT_SUPERLATIVE: tuple[str, ...] = (
    "interest",
    "request",
    "honest",
    "forest",
    "test",
    "rest",
    "suggest",
    "guest",
    "invest",
    "protest",
)
NOT_SUPERLATIVE += ("digest", "contest", "manifest", "west", "arrest", "modest", "harvest", "nest", "chest", "quest")
# The listed words, plus any other superlative ("heaviest", "fastest-growing", "youngest").
COMPARATIVE = re.compile(
    r"\b(" + "|".join(POSITIVE + NEGATIVE) + r"|(?!(?:" + "|".join(NOT_SUPERLATIVE) + r")\b)[a-z]{2,}i?est)\b", re.I
)
MONTHS = {"day": 1 / 30, "week": 0.25, "month": 1.0, "year": 12.0}
DURATION = re.compile(
    r"\b(?P<n>\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|eighteen|twenty)\s+"
    r"(?P<unit>day|week|month|year)s?\b(?!\s+(?:in|out of)\s+(?:a|an|one|two|three|four|five|six|\d+)\b)",
    re.I,
)
ORDINALS = {"other": 2, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_COUNT = r"\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve"
RATE = re.compile(
    rf"\bevery (?P<every>other|second|third|fourth|fifth|sixth) (?:day|week|month|year)\b"
    rf"|\b(?P<n>{_COUNT}) (?:day|week|month|year)s? (?:in|out of) (?:every )?(?P<d>{_COUNT})\b",
    re.I,
)
WORD_VALUES = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
WORD_VALUES |= {"eight": 8, "nine": 9, "ten": 10, "twelve": 12, "eighteen": 18, "twenty": 20}
ABOVE = re.compile(r"\b(over|more than|above|at least|north of|upwards of|exceed\w*|beyond)\s*$", re.I)
BELOW = re.compile(r"\b(under|less than|below|at most|up to|within|no more than)\s*$", re.I)
MULTIPLE = {"double": 100.0, "twice": 100.0, "triple": 200.0, "thrice": 200.0, "half": -50.0}  # % more
MIN_OVERLAP = 2  # premise words a passage (with its heading) must share to speak to the premise
MIN_HEADING_OVERLAP = 2  # ... and a FAQ heading to be the premise's question
MIN_SUPPORTED = 0.7  # share of the premise's words a passage must hold to back it ("Yes")
NOT_COMPARATIVE = re.compile(r"\b(at (most|least)|most of|for the most part|at the (most|least)|more or less)\b", re.I)
FIGURE_SLACK = 0.05  # "about $400K" still matches a range ending at $400K
RATIO_SLACK = 0.25  # "double" holds for a ratio of 1.5 to 2.5
SINGLE_SLACK = 0.1  # "about $165K" matches a stated $170K


@dataclass
class Verdict:
    answer: str  # "yes" | "no"
    unit: Unit
    text: str  # the passage (or its clause) that backs the verdict
    check: str


WITHOUT = re.compile(
    r"\b(?:can't|cannot|can not|couldn't|won't)\s+(?P<act>[^,;]+?)\s+without\s+(?P<thing>[^,;]+)", re.I
)
# Verbs that date a beginning: a year in a premise that says when something began meets a year in a passage that
# says when it began, whatever the verb ("invented in the 2010s" against "coined the term in 2003").
ORIGIN = re.compile(
    r"\b(invent\w*|coin(ed|s)?|creat(ed|es)|start(ed|s)|began|begun|found(ed|s)|introduc\w+|originat\w+|emerg\w+"
    r"|took off|came up|barely existed)\b",
    re.I,
)
CLEFT = re.compile(r"\b(the )?ones? (who|that|which)\b", re.I)  # "X are the ones who own Y": X own Y


def _premise_terms(question: str, catalog: EntityCatalog) -> set[str]:
    text = CLEFT.sub(" ", question)
    for start, end, _ in sorted(catalog.spans(text), reverse=True):
        text = text[:start] + " " + text[end:]
    terms = set(tokenize(text))
    return terms - {"right", "true", "correct", "three"}


def _words(text: str) -> set[str]:
    """Plain words (no synonyms folded): whether a contrast names what the premise names."""
    return {w.rstrip("s") for w in re.findall(r"[a-z]{3,}", text.lower())} - STOP


def _contrasted(clause: str, q: str) -> bool:
    """The clause rejects something the premise says: "trust the data, not the hunch"."""
    return any(_words(m.group(0)) & _words(q) for m in CONTRAST.finditer(clause))


def _tail(section: str) -> str:
    return section.rsplit(">", 1)[-1].strip()


def _clauses(text: str) -> list[str]:
    parts = re.split(
        r"(?<=[;:])\s+|(?<=\.)\s+|,\s+(?:but|while|whereas|and)\s+|\s+(?:and|while|whereas)\s+(?=(?:the|an?)\s)", text
    )
    return [c.strip() for c in parts if c.strip()]


def _about(unit: Unit, entity: str | None, catalog: EntityCatalog) -> bool:
    if entity is None:
        return True
    return entity in catalog.find(unit.text) or catalog.section_entity(unit.section) == entity


def claimed_entity(question: str, plan: Plan, catalog: EntityCatalog) -> str | None:
    """The entity the premise is about: the first one named outside the asker's background and not after "than"."""
    skip: tuple[int, int] | None = None
    if plan.background_phrase:
        at = question.lower().find(plan.background_phrase.lower())
        if at >= 0:
            skip = (at, at + len(plan.background_phrase))
    for start, _, name in catalog.spans(question):
        if skip and skip[0] <= start < skip[1]:
            continue
        if re.search(r"\bthan\s+(an?\s+|the\s+)?$", question[:start], re.I):
            continue
        return name
    return None


def _source_says(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    words = set(tokenize(q))
    named = set(catalog.find(q))
    vocab = vocabulary.active()
    asked = _plain(q)
    for unit in units:
        match = re.match(r"^(yes|no|both)\b", unit.text, re.I)
        heading = unit.section.rsplit(">", 1)[-1]
        same_subject = set(catalog.find(heading)) <= named  # the FAQ asks about what the premise is about
        # "... you're stuck with it" against the FAQ "Can I switch ...?": the FAQ asks the reverse, so its "Yes"
        # is the premise's "No" (and the pair of opposites counts as a word they share)
        said = _plain(heading)
        reverse = any(vocab.opposite(a, b) for a in asked - said for b in said - asked)
        if (
            match
            and heading.strip().endswith("?")
            and same_subject
            and len(words & set(tokenize(heading))) + reverse >= MIN_HEADING_OVERLAP
        ):
            answer = match[1].lower()
            if reverse:
                if answer == "both":
                    continue
                answer = "no" if answer == "yes" else "yes"
            if answer == "both":  # "Is it A or B?" "Both.": a premise that it is only one of them is wrong
                if not re.search(r"\bor\b", heading, re.I):
                    continue
                answer = "no" if EXCLUSIVE.search(q) else "yes" if re.search(r"\bboth\b", q, re.I) else ""
                if not answer:
                    continue
            return Verdict(answer, unit, unit.text, "source_says")
    return None


def _background_choice(
    q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None
) -> Verdict | None:
    if plan.background is None or entity is None:
        return None
    background = plan.background
    own = [u for u in units if background.advises(u.section, u.doc_id)]
    for unit in sorted(own, key=lambda u: (u.hit_rank, u.position)):
        named = catalog.find(unit.text)
        if named:
            return Verdict("yes" if named[0] == entity else "no", unit, unit.text, "background_choice")
    return None


def _plain(text: str) -> set[str]:
    """Words as written (lower case, no synonyms folded): "grew" must not become "grow"'s synonym."""
    return set(re.findall(r"[a-z][a-z-]*", text.lower()))


def _opposite(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    """The premise says one side of a pair of opposites; a clause about its entity and topic says the other (and
    not the premise's side too): "Data engineer postings are shrinking" against "postings ... grew about 30%"."""
    vocab = vocabulary.active()
    if not vocab.opposites or NEGATION.search(q):
        return None
    asked = _plain(q)
    terms = _premise_terms(q, catalog)
    for unit in units:
        general = not catalog.find(unit.text) and catalog.section_entity(unit.section) is None  # said of every entity
        if not (_about(unit, entity, catalog) or general):
            continue
        for clause in _clauses(unit.text):
            named = catalog.find(clause)
            if entity and named and entity not in named:
                continue
            said = _plain(clause)
            pairs = [(a, b) for b in said - asked for a in asked - said if vocab.opposite(a, b)]
            if not pairs or NEGATION.search(CONTRAST.sub(" ", clause)):
                continue
            rest = terms - set(tokenize(" ".join(a for a, _ in pairs)))  # what the premise says it of
            topic = rest & set(tokenize(f"{_tail(unit.section)} {clause}"))
            if topic and len(topic) >= min(MIN_OVERLAP, len(rest)):
                return Verdict("no", unit, clause, "opposite")
    return None


def _months(text: str) -> list[float]:
    out = []
    for match in DURATION.finditer(text):
        n = match["n"].lower()
        value = float(n) if n[0].isdigit() else WORD_VALUES.get(n, 1)
        out.append(value * MONTHS[match["unit"].lower()])
    return out


def _rates(text: str) -> list[float]:
    """How often, as a share: "one week in four" -> 0.25, "every other week" -> 0.5, "every third month" -> 1/3."""
    out = []
    for match in RATE.finditer(text):
        if match["every"]:
            out.append(1 / ORDINALS[match["every"].lower()])
        else:
            n, d = (float(x) if x[0].isdigit() else WORD_VALUES.get(x.lower(), 0) for x in (match["n"], match["d"]))
            if n and d:
                out.append(n / d)
    return out


def _money(text: str) -> list[float]:
    return sorted(float(f[1:]) for f in figures(text) if f.startswith("$"))


def _percents(text: str) -> list[float]:
    return sorted(float(f[:-1]) for f in figures(text) if f.endswith("%"))


def _years(text: str) -> list[tuple[int, int]]:
    """Years and decades as (first, last) year: "2003" -> (2003, 2003), "the 2010s" -> (2010, 2019)."""
    return [(int(y), int(y) + (9 if s else 0)) for y, s in re.findall(r"\b(19\d0|20\d0|19\d\d|20\d\d)('?s)?\b", text)]


def _matches(value: float, stated: list[float], direction: str) -> bool:
    lo, hi = stated[0], stated[-1]
    if direction == "above":
        return hi >= value
    if direction == "below":
        return lo <= value
    slack = FIGURE_SLACK if len(stated) > 1 else SINGLE_SLACK
    return lo * (1 - slack) <= value <= hi * (1 + slack)


def _direction(q: str, pattern: str) -> str:
    first = re.search(pattern, q)
    if not first:
        return ""
    before = q[: first.start()]
    return "above" if ABOVE.search(before) else "below" if BELOW.search(before) else ""


def _figure_claim(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    """A figure in the premise against the same kind of figure the passages give the entity (or, for an asker
    with a background, the passages of that background's section: "someone like me needs three years")."""
    background = plan.background
    mine = [
        u
        for u in units
        if _about(u, entity, catalog) or (background is not None and background.advises(u.section, u.doc_id))
    ]
    terms = _premise_terms(q, catalog)
    for kind, read, pattern in (("money", _money, r"\$\s?\d"), ("percent", _percents, r"\d\s?%|\d\s?percent")):
        claimed = read(q)
        if not claimed:
            continue
        for unit in mine:
            text = _entity_part(unit, entity, catalog)
            stated = read(text)
            if not stated or (kind == "percent" and not terms & set(tokenize(text))):
                continue
            ok = _matches(claimed[-1], stated, _direction(q, pattern))
            # The right figure in a passage that rejects the premise ("don't pick on a 15% difference").
            ok = ok and bool(NEGATION.search(CONTRAST.sub(" ", text))) == bool(NEGATION.search(q))
            return Verdict("yes" if ok else "no", unit, text, "figure_claim")
    asked = _months(q)
    if asked:
        for unit in mine:
            stated_months = _months(unit.text)
            if stated_months:
                same = any(abs(a - s) <= 0.25 * s for a in asked for s in stated_months)
                return Verdict("yes" if same else "no", unit, unit.text, "figure_claim")
    asked_rates = _rates(q)
    if asked_rates:  # "on call every other week" against "one week in four is normal"
        for unit in mine:
            for clause in _clauses(unit.text):
                stated_rates = _rates(clause)
                if stated_rates and terms & set(tokenize(RATE.sub(" ", clause))):
                    same = any(abs(a - r) <= 0.01 for a in asked_rates for r in stated_rates)
                    return Verdict("yes" if same else "no", unit, clause, "figure_claim")
    asked_years = _years(q)
    if asked_years:
        for unit in mine:
            stated_years = _years(unit.text)
            same_topic = terms & set(tokenize(unit.text)) - {str(y) for y, _ in stated_years}
            same_origin = bool(ORIGIN.search(q) and ORIGIN.search(unit.text))  # "invented in" vs "coined in"
            if stated_years and (same_topic or same_origin):
                same = any(a0 <= s1 and s0 <= a1 for a0, a1 in asked_years for s0, s1 in stated_years)
                return Verdict("yes" if same else "no", unit, unit.text, "figure_claim")
    multiple = next((v for w, v in MULTIPLE.items() if re.search(rf"\b{w}\b", q, re.I)), None)
    if multiple is not None:  # a passage that bounds the difference answers the claim itself ("within 20%")
        for unit in units:
            bound = re.search(r"\b(within|under|less than|at most|no more than)\s+(\d+(?:\.\d+)?)\s?%", unit.text, re.I)
            if bound and terms & set(tokenize(unit.text)):
                return Verdict("no" if multiple > float(bound[2]) else "yes", unit, unit.text, "figure_claim")
    named = catalog.find(q)
    if multiple is not None and len(named) >= 2:  # "X earn double what Y make": the ratio of their own figures
        for _first, _header, cells in columns(units, catalog):
            pay = {n: _money(cells[n][1]) for n in named[:2] if n in cells}
            if len(pay) == 2 and all(pay.values()):
                a, b = (sum(v) / len(v) for v in pay.values())
                claimed_ratio = 1 + multiple / 100
                ratio = a / b if b else 0.0
                unit, _cell = cells[named[0]]
                ok = abs(ratio - claimed_ratio) <= RATIO_SLACK * claimed_ratio
                return Verdict("yes" if ok else "no", unit, unit.text, "figure_claim")
    return None


def _entity_part(unit: Unit, entity: str | None, catalog: EntityCatalog) -> str:
    """The part of a unit about ``entity``: its cell in a table row, its clause in a sentence."""
    if entity is None:
        return unit.text
    if unit.row is not None:
        if entity in catalog.find(unit.row.label):
            return unit.text
        cells = [f"{head} {cell}" for head, cell in unit.row.cells if entity in catalog.find(head)]
        if cells:
            return f"{unit.row.label}: {'; '.join(cells)}"
    clauses = [c for c in _clauses(unit.text) if entity in catalog.find(c)]
    return " ".join(clauses) if clauses else unit.text


def _base(word: str) -> str:
    """A superlative's base word, so "heaviest" meets "Heavy" and "lightest" meets "Light"."""
    if len(word) > 6 and word.endswith("iest"):
        return word[:-4] + "y"
    if len(word) > 5 and word.endswith("est") and word not in NOT_SUPERLATIVE:
        return word[:-3]
    return word


def _stems(text: str) -> set[str]:
    return {_base(t) for t in tokenize(text)}


def columns(units: list[Unit], catalog: EntityCatalog) -> list[tuple[Unit, str, dict[str, tuple[Unit, str]]]]:
    """Each table column as (a unit, its header, {entity: (unit, cell)}): from a row of cells per entity
    (entities as columns) or from one row per entity (entities as rows) gathered across units."""
    out: list[tuple[Unit, str, dict[str, tuple[Unit, str]]]] = []
    by_header: dict[str, dict[str, tuple[Unit, str]]] = {}
    first: dict[str, Unit] = {}
    for unit in units:
        row = unit.row
        if row is None:
            continue
        owners = catalog.find(row.label)
        if len(owners) == 1:  # one row per entity: its cells are that entity's
            for head, cell in row.cells:
                by_header.setdefault(head, {})[owners[0]] = (unit, cell)
                first.setdefault(head, unit)
            continue
        cells = {n: (unit, cell) for head, cell in row.cells for n in catalog.find(head)[:1]}
        if len(cells) >= 2:
            out.append((unit, row.label, cells))
    out += [(first[h], h, cells) for h, cells in by_header.items() if len(cells) >= 2]
    return out


def _table_cell(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    """The premise against one table column: is what it says in the entity's own cell, or in another's?"""
    if entity is None:
        return None
    terms = _stems(q) - _stems(" ".join(catalog.aliases.get(entity, ())) + " " + entity)
    for _first, header, cells in columns(units, catalog):
        if entity not in cells:
            continue
        scored = {name: len(terms & _stems(cell)) for name, (_, cell) in cells.items()}
        best = max(scored.values())
        if best == 0 or (best < MIN_OVERLAP and not terms & _stems(header)):
            continue
        own_unit, own_cell = cells[entity]
        text = f"{header} for {entity}: {own_cell}"
        if scored[entity] < best:
            return Verdict("no", own_unit, text, "table_cell")  # another entity's cell says what the premise says
        cell_terms = _stems(own_cell)
        if cell_terms and len(cell_terms & terms) >= MIN_SUPPORTED * len(cell_terms):
            return Verdict("yes", own_unit, text, "table_cell")
    return None


def _context(unit: Unit, units: list[Unit]) -> str:
    before = [u.text for u in units if u.hit_rank == unit.hit_rank and u.position == unit.position - 1]
    return " ".join([unit.section.rsplit(">", 1)[-1], *before, unit.text])


def _negated(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    if NEGATION.search(q):
        return None  # a negative premise: a negated passage would agree with it, not refute it
    terms = _premise_terms(q, catalog)
    for unit in units:
        shared = terms & set(tokenize(_context(unit, units)))
        if not _about(unit, entity, catalog) or len(shared) < min(MIN_OVERLAP, math.ceil(len(terms) / 2)):
            continue
        for clause in _clauses(unit.text):
            names = catalog.find(clause)
            if entity and names and entity not in names:
                continue
            denial = NEGATION.search(CONTRAST.sub(" ", clause)) or _contrasted(clause, q)
            if denial and (terms & set(tokenize(clause)) or ANAPHOR.match(clause)):
                return Verdict("no", unit, unit.text, "negated")
    return None


def _denied_premise(
    q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None
) -> Verdict | None:
    """A negative premise ("SRE interviews don't involve coding") against a passage that affirms it."""
    if not NEGATION.search(q):
        return None
    terms = _premise_terms(q, catalog) - set(tokenize(NEGATION_WORDS)) - HEDGES
    for unit in units:
        if not _about(unit, entity, catalog):
            continue
        part = _entity_part(unit, entity, catalog)
        if NEGATION.search(CONTRAST.sub(" ", part)):
            continue
        if len(terms & set(tokenize(part))) >= min(MIN_OVERLAP, len(terms)):
            return Verdict("no", unit, part, "denied_premise")
    return None


def _other_entity(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    """The premise's words in a clause about another entity, and not in any about this one: "the SRE owns the SLOs"
    against "DevOps engineers own the SLOs"."""
    if entity is None:
        return None
    terms = _premise_terms(q, catalog)
    if len(terms) < MIN_OVERLAP:
        return None
    own_text = " ".join(
        _context(u, units) if ANAPHOR.search(u.text) else _entity_part(u, entity, catalog)
        for u in units
        if _about(u, entity, catalog)
    )
    if len(terms & set(tokenize(own_text))) >= MIN_SUPPORTED * len(terms):
        return None
    for unit in units:
        for clause in _clauses(unit.text):
            named = catalog.find(clause)
            if (
                len(named) == 1
                and named[0] != entity
                and len(terms & set(tokenize(clause))) >= MIN_SUPPORTED * len(terms)
            ):
                return Verdict("no", unit, clause, "other_entity")
    return None


def _supported(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    """A passage that holds most of the premise's words backs it, unless the premise claims a universal ("nearly
    all their time", "every", "only") the passage doesn't make."""
    terms = _premise_terms(q, catalog) - HEDGES
    universals = {w.lower() for w in UNIVERSAL.findall(q)}
    if len(terms) < 2:
        return None
    if len(catalog.find(q)) >= 2:
        entity = None  # a claim about several entities at once ("transitions between X, Y and Z are common")
    for unit in units:
        if not _about(unit, entity, catalog):
            continue
        part = _entity_part(unit, entity, catalog)
        if bool(NEGATION.search(CONTRAST.sub(" ", part))) != bool(NEGATION.search(q)) or _contrasted(part, q):
            continue
        context = _context(unit, units) if part == unit.text else f"{_tail(unit.section)} {part}"
        if universals - {w.lower() for w in UNIVERSAL.findall(context)}:
            continue
        if len(terms & set(tokenize(context))) >= MIN_SUPPORTED * len(terms):
            return Verdict("yes", unit, part, "supported")
    return None


def polarity(word: str) -> int:
    """1 for "more"-like, -1 for "less"-like, 0 for a superlative of unknown direction ("heaviest")."""
    low = word.lower()
    return 1 if low in POSITIVE else -1 if low in NEGATIVE else 0


def _subject(clause: str, at: int, catalog: EntityCatalog) -> str | None:
    """The entity a ranking word at ``at`` ranks: the last one named before it, else the first named."""
    before = [n for s, _, n in catalog.spans(clause) if s < at]
    named = before or catalog.find(clause)
    return named[-1] if before else (named[0] if named else None)


def _ranks_same(said: re.Match[str], q: str) -> bool:
    """ "best paid" meets "best paid", not "the best teams": the word after the ranking word, when the premise
    has one, must match too."""
    asked = re.search(rf"\b{re.escape(said[1])}\s+(\w+)", q, re.I)
    after = re.match(r"\s+(\w+)", said.string[said.end() :])
    if not asked or not after:
        return True
    wanted, found = tokenize(asked[1]), tokenize(after[1])
    return not wanted or not found or wanted == found


def _same_ranking(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    """The premise's own ranking word ("best paid", "heaviest") in a passage, or in the question heading a
    passage answers ("Which one is easiest to break into?" > "Data analyst."): who does it rank? The same
    entity ranked by another superlative ("lightest" against "heaviest") refutes it."""
    asked = [w.lower() for w in COMPARATIVE.findall(NOT_COMPARATIVE.sub(" ", q))]
    if not asked or entity is None:
        return None
    for unit in units:
        heading = _tail(unit.section)
        ranked_by_heading = any(
            m[1].lower() in asked and _ranks_same(m, q) for m in COMPARATIVE.finditer(heading)
        ) and heading.endswith("?")
        if ranked_by_heading and catalog.find(unit.text[:60]):
            answer = catalog.find(unit.text[:60])[0]
            return Verdict("yes" if answer == entity else "no", unit, unit.text, "same_ranking")
        section_owner = catalog.section_entity(unit.section)
        for clause in _clauses(unit.text):
            masked = NOT_COMPARATIVE.sub(lambda m: " " * len(m.group(0)), clause)
            said = next((m for m in COMPARATIVE.finditer(masked) if m[1].lower() in asked and _ranks_same(m, q)), None)
            subject = _subject(clause, said.start(), catalog) if said else None
            if said and subject:
                return Verdict("yes" if subject == entity else "no", unit, clause, "same_ranking")
            other = next((m for m in COMPARATIVE.finditer(masked) if m[1].lower() not in asked), None)
            if other is None or polarity(other[1]) != 0 or any(polarity(w) != 0 for w in asked):
                continue
            owner = _subject(clause, other.start(), catalog) or section_owner
            shares = _premise_terms(q, catalog) & set(tokenize(clause))
            if owner == entity and shares:  # "the lightest" said of the entity the premise calls "the heaviest"
                return Verdict("no", unit, clause, "same_ranking")
    return None


def _comparative(q: str, plan: Plan, units: list[Unit], catalog: EntityCatalog, entity: str | None) -> Verdict | None:
    asked = COMPARATIVE.findall(NOT_COMPARATIVE.sub(" ", q))
    if not asked:
        return None
    direction = polarity(asked[0])
    terms = _premise_terms(q, catalog) - set(tokenize(" ".join(POSITIVE + NEGATIVE)))
    for unit in units:
        for clause in _clauses(unit.text):
            said = COMPARATIVE.search(NOT_COMPARATIVE.sub(lambda m: " " * len(m.group(0)), clause))
            if not said or direction == 0 or polarity(said[1]) == 0:
                continue
            subject = _subject(clause, said.start(), catalog)
            if entity is not None and subject:
                agree = subject == entity and polarity(said[1]) == direction
                return Verdict("yes" if agree else "no", unit, clause, "comparative")
            if entity is None and not catalog.find(clause) and terms & set(tokenize(clause)):
                agree = polarity(said[1]) == direction
                return Verdict("yes" if agree else "no", unit, clause, "comparative")
    return None


Check = Callable[[str, Plan, list[Unit], EntityCatalog, str | None], Verdict | None]
CHECKS: tuple[Check, ...] = (
    _source_says,
    _opposite,
    _figure_claim,
    _background_choice,
    _table_cell,
    _same_ranking,
    _negated,
    _denied_premise,
    _other_entity,
    _comparative,
    _supported,
)


def affirmative(claim: str) -> str:
    """A double negative said plainly: "you can't get these jobs without a degree" claims "getting these jobs
    requires a degree" (so a passage saying none requires one refutes it)."""
    match = WITHOUT.search(claim)
    if not match:
        return claim
    return f"{claim[: match.start()]}{match['act']} requires {match['thing']}".strip()


def verdict(question: str, plan: Plan, units: list[Unit], catalog: EntityCatalog) -> Verdict | None:
    """The verdict on the premise of ``question`` from ``units`` (best first), or None when none of the checks can tell."""
    claim = affirmative(premise(question))
    entity = claimed_entity(claim, plan, catalog)
    for check in CHECKS:
        found = check(claim, plan, units, catalog, entity)
        if found is not None:
            return found
    return None
