"""The answer-quality changes the eval suite drove: table rows as chunks, table-label synonyms, the asker's
background, and an answer about one role that quotes that role's cell only."""

from __future__ import annotations

from advisor.answering.evidence import Unit, unit_parts, units_of
from advisor.answering.plan import BACKGROUND
from advisor.answering.scoping import narrow
from advisor.kb.chunking import chunk_document, table_rows
from advisor.kb.entities import EntityCatalog, learn
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


def test_an_answer_about_one_role_quotes_that_roles_cell_only() -> None:
    text = (PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md").read_text()
    catalog = EntityCatalog.merged([learn(text)])
    row_chunk = next(c for c in chunk_document("a", text) if c.text.startswith("|"))
    (unit_text, row), *_ = unit_parts(row_chunk.text)
    unit = Unit(0, 0, unit_text, row=row, section="The 30-second summary")
    narrowed = narrow(unit, ["AI Engineer"], catalog)
    assert narrowed is not None and narrowed.text == "Primary job: AI Engineer Build systems on foundation models."
    assert narrowed.row is not None and narrowed.row.cells == (("AI Engineer", "Build systems on foundation models"),)
    assert narrow(unit, [], catalog) == unit
    sentence = Unit(0, 1, "Go AI Engineer.", section="You're a software engineer")
    assert narrow(sentence, ["AI Engineer"], catalog) == sentence
    assert narrow(sentence, ["Data Scientist"], catalog) is None  # only about another role
