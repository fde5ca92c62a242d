"""The entities a document compares and the backgrounds it advises are learned from the document itself.

Tested on the bundled article and on both test documents in evals/documents/, which the code was not
tuned on: one table with the roles as columns, one transposed (a row per role, "Name (ACRONYM)"), day
sections with different heading shapes, backgrounds as "You're a ..." headings or as sub-headings of a
background section in varied phrasing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from advisor import vocabulary
from advisor.kb.chunking import chunk_document
from advisor.kb.entities import (
    Background,
    EntityCatalog,
    Learned,
    catalog_for,
    field_name,
    from_chunks,
    learn,
    plural,
    record_meta,
)
from advisor.settings import PROJECT_DIR

ARTICLE = (PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md").read_text(encoding="utf-8")
DATA = (PROJECT_DIR / "evals" / "documents" / "data-engineer-vs-analytics-engineer-vs-data-analyst.md").read_text(
    encoding="utf-8"
)
OPS = (PROJECT_DIR / "evals" / "documents" / "sre-vs-devops-engineer-vs-platform-engineer.md").read_text(
    encoding="utf-8"
)


@pytest.fixture(scope="module")
def catalog() -> EntityCatalog:
    return EntityCatalog.merged([learn(ARTICLE), learn(DATA), learn(OPS)])


# -- learning from one document ------------------------------------------------------------------------------
def test_the_articles_roles_are_its_tables_columns_with_the_vocabularys_aliases() -> None:
    learned = learn(ARTICLE)
    assert list(learned.entities) == ["AI Engineer", "ML Engineer", "Data Scientist"]
    assert {"machine learning engineer", "MLE", "ML engineering"} <= set(learned.entities["ML Engineer"])
    assert "data science" in learned.entities["Data Scientist"]  # from knowledge/vocabulary.yaml


def test_a_table_with_a_named_corner_cell_still_gives_its_columns() -> None:
    learned = learn(DATA)  # the corner cell is "Dimension", the rows are "Main work", "Core tools", ...
    assert list(learned.entities) == ["Data Engineer", "Analytics Engineer", "Data Analyst"]
    assert "Main work" not in learned.entities and "Core tools" not in learned.entities


def test_a_transposed_table_gives_its_row_labels_and_their_acronyms() -> None:
    learned = learn(OPS)  # "| Site Reliability Engineer (SRE) | Reliability of production services | ..."
    assert list(learned.entities) == ["Site Reliability Engineer", "DevOps Engineer", "Platform Engineer"]
    assert learned.entities["Site Reliability Engineer"][0] == "SRE"
    assert "Focus" not in learned.entities and "On-call load" not in learned.entities  # the columns are figures


def test_each_entity_gets_the_name_of_its_discipline() -> None:
    assert learn(DATA).entities == {
        "Data Engineer": ["Data engineering"],
        "Analytics Engineer": ["Analytics engineering"],
        "Data Analyst": ["Data analysis"],
    }
    assert "Platform engineering" in learn(OPS).entities["Platform Engineer"]
    assert field_name("Data Scientist") == "Data science" and field_name("Product Manager") == "Product management"
    assert field_name("Engineer") is None and field_name("Data Wrangler") is None


def test_a_camelcase_modifier_names_its_role_but_a_plain_one_does_not() -> None:
    assert "DevOps" in learn(OPS).entities["DevOps Engineer"]  # "DevOps is a culture" is about the role
    assert "Platform" not in learn(OPS).entities["Platform Engineer"]
    assert "Data" not in learn(DATA).entities["Data Engineer"] and "AI" not in learn(ARTICLE).entities["AI Engineer"]


def test_youre_a_headings_are_the_articles_backgrounds() -> None:
    assert learn(ARTICLE).backgrounds == ["software engineer", "ML or research-track grad", "data scientist or analyst"]


def test_sub_headings_of_a_background_section_are_backgrounds_in_any_phrasing() -> None:
    # "## Matching your background to a role" > "### Coming from software", "### If you're a business analyst
    # or live in Excel", "### Already an analyst who enjoys SQL", "### Changing careers with no data experience"
    assert learn(DATA).backgrounds == ["software", "business analyst or live in Excel", "analyst", "no data experience"]


def test_background_advice_in_prose_paragraphs_is_not_a_heading_and_gives_no_background() -> None:
    assert learn(OPS).backgrounds == []  # "If you come from operations ..." is a paragraph, not a heading


def test_a_document_without_a_table_learns_entities_from_headings_it_names_again() -> None:
    text = (
        "# Two careers\n\n## What a Nurse Practitioner does\n\nA nurse practitioner diagnoses patients. "
        "Nurse practitioners prescribe. Many nurse practitioners work in clinics.\n\n"
        "## What a Radiographer does\n\nA radiographer takes images.\n\n## The Pay\n\nIt varies.\n"
    )
    learned = learn(text)
    assert list(learned.entities) == ["Nurse Practitioner"]  # named once more in the text is a one-off title
    assert learn("Just a paragraph about nothing in particular.") == Learned()


def test_a_table_of_figures_the_prose_never_names_gives_no_entity() -> None:
    text = "# Rates\n\n| Year | Q1 | Q2 | Q3 |\n|---|---|---|---|\n| 2024 | 1 | 2 | 3 |\n| 2025 | 4 | 5 | 6 |\n"
    assert learn(text).entities == {}


def test_what_was_learned_survives_the_manifest_round_trip() -> None:
    learned = learn(OPS)
    assert Learned.from_meta(learned.to_meta()) == learned
    assert Learned.from_meta({"entities": "SRE"}) is None  # not ours: learned again from the chunks
    meta = record_meta(DATA)
    assert meta["vocabulary"] == vocabulary.active().digest and meta["entities"] == learn(DATA).entities


@dataclass
class Record:
    content_hash: str
    chunk_ids: list[str]
    meta: dict[str, Any] = field(default_factory=dict)


def test_a_catalog_comes_from_stored_records_or_from_the_chunks_of_an_older_store() -> None:
    stored = Record("h-ops", [], {"learned": record_meta(OPS)})
    fetched: list[list[str]] = []

    def fetch(ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        fetched.append(ids)
        table = DATA.split("## At a glance")[1].split("## A day")[0]
        return {"c1": (table, {"section": "Field Guide > At a glance"}), "c2": ("Data engineers move data.", {})}

    older = Record("h-data-old", ["c1", "c2"])
    catalog = catalog_for([stored, older], fetch)
    ops, data = ["Site Reliability Engineer", "DevOps Engineer", "Platform Engineer"], list(learn(DATA).entities)
    assert catalog.names == [*ops, *data]
    assert fetched == [["c1", "c2"]]  # only the record without what ingest learned is read
    catalog_for([older], fetch)
    assert len(fetched) == 1  # ... and only once per content and vocabulary


@pytest.mark.parametrize("text", [ARTICLE, DATA, OPS], ids=["article", "data", "ops"])
def test_what_is_learned_from_a_documents_chunks_is_what_is_learned_from_the_document(text: str) -> None:
    """An older store (or one whose vocabulary changed) is learned again from its chunks: the backgrounds that
    are sub-headings of a background section must come back with their parent heading."""
    chunks = chunk_document("doc", text)
    again = learn(from_chunks((c.text, {"section": c.section}) for c in chunks))
    assert again.to_meta() == learn(text).to_meta()


# -- finding entities in text ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("machine learning engineers and data science", ["ML Engineer", "Data Scientist"]),
        ("an AI engineer", ["AI Engineer"]),
        ("MLEs, then DS", ["ML Engineer", "Data Scientist"]),
        ("SREs and DevOps folks", ["Site Reliability Engineer", "DevOps Engineer"]),
        ("site reliability engineers", ["Site Reliability Engineer"]),
        ("Is DevOps a job or a culture?", ["DevOps Engineer"]),
        ("the platform-engineering team", ["Platform Engineer"]),
        ("analytics-engineers", ["Analytics Engineer"]),
        ("Data analysts vs data engineers", ["Data Analyst", "Data Engineer"]),
        ("an analyst's week in data analysis", ["Data Analyst"]),
        ("the ML engineer's pay and the ML engineers' pay", ["ML Engineer"]),
        ("data-scientist", ["Data Scientist"]),
        ("a coding round in site reliability interviews", ["Site Reliability Engineer"]),  # what it does, 2+ words
        ("the platform team", []),  # ... but one everyday word is not a name
        ("a nurse", []),
        ("data", []),
    ],
)
def test_the_catalog_finds_entities_in_order_in_any_spelling(
    catalog: EntityCatalog, text: str, found: list[str]
) -> None:
    assert catalog.find(text) == found


def test_the_longest_name_wins_where_names_overlap(catalog: EntityCatalog) -> None:
    # "Data Scientist" must not find "data science" inside "data scientists"; "SRE" must not hide "SREs".
    assert catalog.spans("data scientists and SREs") == [
        (0, 15, "Data Scientist"),
        (20, 24, "Site Reliability Engineer"),
    ]
    assert catalog.find("predata engineers") == []  # a name inside a word is not a mention


def test_an_empty_catalog_finds_nothing() -> None:
    empty = EntityCatalog()
    assert empty.find("AI engineers") == [] and empty.spans("AI engineers") == [] and len(empty) == 0
    assert empty.background_of("software engineer") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AI Engineer", "AI engineers"),
        ("Data Scientist", "data scientists"),
        ("SRE", "SREs"),
        ("DevOps Engineer", "DevOps engineers"),
        ("Site Reliability Engineer", "site reliability engineers"),
        ("Data Analyst", "data analysts"),
        ("Actuary", "actuaries"),
        ("Boss", "bosses"),
        ("Attorney", "attorneys"),
    ],
)
def test_plural_lowers_common_words_and_keeps_acronyms_and_inner_capitals(name: str, expected: str) -> None:
    assert plural(name) == expected


# -- backgrounds ----------------------------------------------------------------------------------------------
def test_a_background_label_splits_into_its_options() -> None:
    catalog = EntityCatalog.merged([learn(ARTICLE)])
    assert [b.options for b in catalog.backgrounds] == [
        ("software engineer",),
        ("ML grad", "research-track grad"),  # "ML or research-track grad": the lone modifier shares "grad"
        ("data scientist", "analyst"),
    ]


@pytest.mark.parametrize(
    ("document", "phrase", "label"),
    [
        (ARTICLE, "a backend developer", "software engineer"),  # the vocabulary's phrases: developer -> engineer
        (ARTICLE, "SWE", "software engineer"),
        (ARTICLE, "research grad", "ML or research-track grad"),
        (ARTICLE, "data analyst", "data scientist or analyst"),
        (DATA, "a business analyst", "business analyst or live in Excel"),
        (DATA, "analyst", "analyst"),
        (DATA, "someone with no data experience", "no data experience"),
        (DATA, "software", "software"),
        (ARTICLE, "nurse", None),
        (DATA, "marketing manager", None),
    ],
)
def test_background_of_matches_a_phrase_to_the_knowledge_bases_background(
    document: str, phrase: str, label: str | None
) -> None:
    found = EntityCatalog.merged([learn(document)]).background_of(phrase)
    assert (found.label if found else None) == label


def test_a_background_advises_the_section_it_was_learned_from_not_a_heading_that_has_its_word() -> None:
    analyst = Background("analyst", ("analyst",), "data")
    assert analyst.advises("Matching your background to a role > Already an analyst who enjoys SQL", "data")
    assert not analyst.advises("Data Engineer, Analytics Engineer or Data Analyst? A Field Guide", "data")
    assert not analyst.advises("Matching your background to a role > Already an analyst who enjoys SQL", "ops")
    engineer = Background("software engineer", ("software engineer",), "article")
    assert engineer.advises("Which path fits which background > You're a software engineer", "article")
    assert engineer.advises("You're a software engineer")  # a top-level heading of that shape, any document
