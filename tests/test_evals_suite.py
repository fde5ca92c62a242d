"""The eval suite's data: the claim ledger covers the article, its quotes are verbatim, its checks are sound."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from advisor.errors import ConfigError
from advisor.evals.metrics import normalise
from advisor.evals.suite import load_suite
from advisor.kb.chunking import split_sections
from advisor.settings import PROJECT_DIR

ARTICLE = PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md"


@pytest.fixture(scope="module")
def suite():  # type: ignore[no-untyped-def]
    return load_suite()


@pytest.fixture(scope="module")
def article() -> str:
    return ARTICLE.read_text(encoding="utf-8").split("---", 2)[2]


def test_the_ledger_holds_forty_or_more_positions_with_unique_ids(suite) -> None:  # type: ignore[no-untyped-def]
    ids = [p.id for p in suite.positions]
    assert len(ids) >= 40
    assert len(ids) == len(set(ids))


def test_every_section_of_the_article_has_a_position(suite, article: str) -> None:  # type: ignore[no-untyped-def]
    sections = {path for path, _ in split_sections(article)}
    sections.discard("AI Engineer vs Machine Learning Engineer vs Data Scientist (2026)")  # the intro, below
    covered = {p.section for p in suite.positions}
    assert "Introduction" in covered
    parents = {s for s in sections if any(other.startswith(f"{s} > ") for other in sections)}
    assert sections - parents - covered == set()


def test_every_quote_is_verbatim_from_the_article(suite, article: str) -> None:  # type: ignore[no-untyped-def]
    text = re.sub(r"\s+", " ", article)
    for pos in suite.positions:
        for quote in pos.quotes:
            assert re.sub(r"\s+", " ", quote) in text, f"{pos.id}: quote not in the article: {quote!r}"


def test_the_article_itself_passes_every_must_and_trips_no_must_not(suite, article: str) -> None:  # type: ignore[no-untyped-def]
    # A required fact the article can't supply, or a "contradiction" the article states, would be a wrong check.
    text = normalise(article)
    for case in suite.cases:
        if case.position is None:
            continue
        for pattern in (*case.position.must, *case.must):
            assert re.search(pattern, text), f"{case.id}: must {pattern!r} matches nothing in the article"
        for pattern in (*case.position.must_not, *case.must_not):
            assert not re.search(pattern, text), f"{case.id}: must_not {pattern!r} matches the article itself"


def test_every_position_has_a_direct_and_a_paraphrased_question(suite) -> None:  # type: ignore[no-untyped-def]
    kinds: dict[str, set[str]] = {}
    for case in suite.cases:
        if case.position:
            kinds.setdefault(case.position.id, set()).add(case.kind)
    assert all({"direct", "paraphrase"} <= k for k in kinds.values())
    assert len(kinds) == len(suite.positions)
    assert sum("trap" in k for k in kinds.values()) >= 10
    assert sum("follow_up" in k for k in kinds.values()) >= 5


def test_out_of_scope_and_adversarial_cases_cover_each_attack(suite) -> None:  # type: ignore[no-untyped-def]
    assert sum(c.category == "out_of_scope" for c in suite.cases) >= 10
    attacks = {c.kind for c in suite.cases if c.category == "adversarial"}
    assert {"injection", "prompt_extraction", "exfiltration"} <= attacks


def test_a_malformed_ledger_is_refused_with_the_entry_named(tmp_path: Path) -> None:
    (tmp_path / "positions.yaml").write_text("positions:\n  - id: x\n    section: s\n    position: p\n    quote: q\n")
    (tmp_path / "cases.yaml").write_text("out_of_scope: []\n")
    with pytest.raises(ConfigError, match=r"positions\[0\].*must"):
        load_suite(tmp_path)
    (tmp_path / "positions.yaml").write_text(
        "positions:\n  - {id: x, section: s, position: p, quote: q, must: ['(unclosed'], cases: {direct: 'q'}}\n"
    )
    with pytest.raises(ConfigError, match="bad regex"):
        load_suite(tmp_path)
