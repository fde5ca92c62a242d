"""The answer-quality changes the eval suite drove: table rows as chunks, table-label synonyms, the asker's
background, and a lead sentence that must come from one passage."""

from __future__ import annotations

from advisor.answering.answer import role_clause
from advisor.answering.evidence import BACKGROUND, units_of
from advisor.kb.chunking import chunk_document, table_rows
from advisor.retrieval.lexical import tokenize
from advisor.settings import PROJECT_DIR

ROW = (
    "Primary job: AI Engineer Build systems on foundation models; ML Engineer Train and deploy custom models; "
    "Data Scientist Analyze data, run experiments."
)


def test_each_table_row_becomes_a_chunk_under_the_header() -> None:
    text = (PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md").read_text()
    rows = [c for c in chunk_document("a", text) if c.text.startswith("|")]
    assert len(rows) == 6
    assert all(c.text.startswith("| | AI Engineer | ML Engineer | Data Scientist |\n|---|") for c in rows)
    assert all(c.text.count("\n") == 2 and c.section == "The 30-second summary" for c in rows)
    assert units_of(rows[0].text) == [ROW]


def test_a_block_that_is_not_a_table_has_no_rows() -> None:
    assert table_rows("Just a paragraph.") == []
    assert table_rows("| a | b |\n|---|---|") == []  # a header alone


def test_questions_in_other_words_meet_the_table_labels() -> None:
    assert {"primary", "role"} <= set(tokenize("What is a data scientist's main responsibility?"))
    assert "gravity" in tokenize("What core discipline is AI engineering built around?")
    assert "ship" in tokenize("What does an AI engineer deliver?")
    assert tokenize("backend developer") == ["software", "engineer"]


def test_the_askers_background_is_read_from_the_question() -> None:
    found = [m["who"] for m in BACKGROUND.finditer("As a software engineer I should become a data scientist, right?")]
    assert found == ["software engineer"]
    assert [m["who"] for m in BACKGROUND.finditer("I'm a data analyst. Am I closer to AI?")] == ["data analyst"]
    assert list(BACKGROUND.finditer("What does an AI engineer ship?")) == []


def test_a_lead_about_one_role_is_checked_against_that_roles_cell_only() -> None:
    assert role_clause(ROW, ["AI Engineer"]) == "Primary job: AI Engineer Build systems on foundation models"
    assert "Train" not in role_clause(ROW, ["AI Engineer"])
    assert role_clause(ROW, []) == ROW
    assert role_clause("Go AI Engineer.", ["AI Engineer"]) == "Go AI Engineer."
