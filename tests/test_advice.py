"""A decision's advice on choosing: the passages that advise come first, and a question that names no entity gets
each document's own (advisor/answering/scoping.py). Pure functions, on made-up passages of two documents."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.answering.scoping import advice_first, each_document


@dataclass
class Passage:
    doc_id: str
    text: str


def test_passages_that_open_with_advice_come_first_then_those_that_advise_later_then_the_rest() -> None:
    passages = [
        Passage("ships", "Sailors earn more than clerks."),
        Passage("ships", "Most crews are small. Weigh the length of the voyage before you sign."),
        Passage("ships", "Choose the ship whose routine you can live with. The rest can be learned."),
        Passage("ships", "A deckhand picks up knots quickly."),  # "picks" mid-sentence, not advice
    ]
    order = [p.text.split()[0] for p in advice_first(passages, lambda p: p.text)]
    assert order == ["Choose", "Most", "Sailors", "A"]  # otherwise the order they came in (best first)


def test_each_document_keeps_the_best_few_of_every_document_in_order() -> None:
    passages = [Passage(doc, f"{doc} {n}") for doc, n in [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 1), ("b", 2)]]
    assert [p.text for p in each_document(passages, 1)] == ["a 1", "b 1", "c 1"]
    assert [p.text for p in each_document(passages, 2)] == ["a 1", "a 2", "b 1", "c 1", "b 2"]
    assert each_document([], 3) == []
