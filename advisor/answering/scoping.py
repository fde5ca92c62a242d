"""Units cut down to what a question is about: its entities and the asker's background.

- :func:`about`: whether a unit says something about an entity (names it, is its table cell, sits under its heading).
- :func:`narrow`: a unit cut to what it says about some entities (a table row to their cells), or None when it is
  only about others.
- :func:`scope`: the units an answer may quote for a plan (the asker's own background section whole, other
  backgrounds' advice never).
- :func:`each_document`: the best few of each document (a question that names no entity, in a knowledge base
  where several documents each compare their own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from advisor.answering.evidence import Unit
from advisor.answering.plan import Plan
from advisor.kb.entities import EntityCatalog


class _FromDocument(Protocol):
    @property
    def doc_id(self) -> str: ...


T = TypeVar("T", bound=_FromDocument)


GUIDANCE = re.compile(
    r"\b(pick|choose|decide|decision|weigh|prefer|worth|based on|bet on|matters?|look for|read the|evaluate|optimi[sz]e)\b",
    re.I,
)
# Advice says what to do: a sentence that opens with the verb ("Pick the role whose ...", "Weigh instead ...")
ADVICE = re.compile(r"(?:^|[.!?]\s+)(pick|choose|decide|weigh|prefer|bet on|look for|read|evaluate)\b", re.I)


def advice_first(items: Sequence[T], text: Callable[[T], str]) -> list[T]:
    """``items`` (best first): those that open with advice first, then those with a sentence that does, else in
    the same order."""

    def rank(item: T) -> int:
        found = ADVICE.search(text(item))
        return 2 if found is None else 0 if found.start() == 0 else 1

    return sorted(items, key=rank)


def each_document(items: Sequence[T], per: int) -> list[T]:
    """Of ``items`` (best first), the best ``per`` of each document, in the same order."""
    out: list[T] = []
    count: dict[str, int] = {}
    for item in items:
        count[item.doc_id] = count.get(item.doc_id, 0) + 1
        if count[item.doc_id] <= per:
            out.append(item)
    return out


def about(unit: Unit, entity: str, catalog: EntityCatalog) -> bool:
    """Whether the unit says something about ``entity``: names it, has its table cell, or sits under its heading."""
    if unit.row is not None and any(entity in catalog.find(h) for h, _ in unit.row.cells):
        return True
    return entity in catalog.find(unit.text) or catalog.section_entity(unit.section) == entity


def narrow(unit: Unit, entities: list[str], catalog: EntityCatalog) -> Unit | None:
    """``unit`` cut down to what it says about ``entities``: a table row's cells for them, or the unit whole
    when it is about them or about no entity. None: it is only about other entities."""
    row = unit.row
    if row is not None and entities:
        if set(catalog.find(row.label)) & set(entities):
            return unit
        cells = tuple((h, c) for h, c in row.cells if set(catalog.find(h)) & set(entities))
        if cells:
            text = f"{row.label}: {'; '.join(f'{h} {c}' for h, c in cells)}."
            return replace(unit, text=text, row=replace(row, cells=cells))
        if any(catalog.find(h) for h, _ in row.cells) or catalog.find(row.label):
            return None
        return unit
    named = set(catalog.find(unit.text))
    owner = catalog.section_entity(unit.section)
    section_named = {owner} if owner else set()
    if entities and (named or section_named) and not (named | section_named) & set(entities):
        return None
    return unit


def scope(units: list[Unit], plan: Plan, catalog: EntityCatalog, entities: list[str]) -> list[Unit]:
    """The units about what the question is about: its entities and the asker's background."""
    kept = []
    for unit in units:
        other_background = [
            b for b in catalog.backgrounds if b.advises(unit.section, unit.doc_id) and b != plan.background
        ]
        if plan.background is not None and other_background:
            continue  # advice meant for a different reader
        if plan.background is not None and plan.background.advises(unit.section, unit.doc_id):
            kept.append(unit)  # the asker's own section: whatever role it names, it is the advice
            continue
        narrowed = narrow(unit, entities, catalog)
        if narrowed is not None:
            kept.append(narrowed)
    return kept or units
