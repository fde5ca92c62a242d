"""Section-aware, token-sized chunking with stable IDs, on the real article."""

from __future__ import annotations

from advisor.kb.chunking import chunk_document, count_tokens, split_sections
from advisor.kb.loaders import load_path
from advisor.settings import PROJECT_DIR

ARTICLE = PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md"


def article_text() -> str:
    return load_path(ARTICLE, 10_000_000).text


def test_token_counting_works_offline_with_cl100k() -> None:
    assert count_tokens("Go AI Engineer.") == 4


def test_every_chunk_carries_its_section_path() -> None:
    chunks = chunk_document("article", article_text(), max_tokens=220, overlap=30)
    sections = {c.section for c in chunks}
    assert "Which path fits which background > You're a software engineer" in sections
    assert "Frequently asked questions > I'm an AI engineer. Should I also learn to fine-tune?" in sections
    assert "The 30-second summary" in sections
    software = next(c for c in chunks if c.section.endswith("You're a software engineer"))
    assert software.text.startswith("Go AI Engineer.")


def test_chunks_respect_the_token_budget_and_the_table_stays_whole() -> None:
    chunks = chunk_document("article", article_text(), max_tokens=120, overlap=20)
    assert all(c.tokens <= 120 or c.text.lstrip().startswith("|") for c in chunks)
    table = [c for c in chunks if "| Typical mid-level TC |" in c.text]
    assert len(table) == 1 and "| | AI Engineer | ML Engineer | Data Scientist |" in table[0].text


def test_chunk_ids_are_stable_and_change_with_content() -> None:
    text = article_text()
    first = [c.chunk_id for c in chunk_document("article", text)]
    again = [c.chunk_id for c in chunk_document("article", text)]
    assert first == again and len(set(first)) == len(first)
    edited = [c.chunk_id for c in chunk_document("article", text.replace("Go AI Engineer.", "Go ML Engineer."))]
    assert len(set(first) - set(edited)) == 1
    assert all(cid.startswith("article:") for cid in first)


def test_a_long_paragraph_is_split_at_sentences() -> None:
    body = "# T\n\n## S\n\n" + " ".join(f"Sentence number {i} says something useful." for i in range(200))
    chunks = chunk_document("doc", body, max_tokens=100, overlap=0)
    assert len(chunks) > 5
    assert all(c.tokens <= 100 for c in chunks)
    assert all(c.section == "S" for c in chunks)


def test_headings_nest_into_paths() -> None:
    text = "# Title\n\nIntro.\n\n## A\n\nText a.\n\n### A1\n\nText a1.\n\n## B\n\nText b."
    assert [p for p, _ in split_sections(text)] == ["Title", "A", "A > A1", "B"]
