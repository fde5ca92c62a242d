"""HTML pages become Markdown: tables as pipe tables with their header, h1–h6 as headings, no live links.

The end-to-end tests add pages to a real knowledge base (embedded models, no mocks) and ask about one row
of a table; the answer must quote that row with its header words and cite the page. Two pages with
different shapes (a ``<thead>`` of ``<th>`` cells, and a table with no ``<th>`` at all) keep the check
from passing on one layout only.
"""

from __future__ import annotations

import pytest

from advisor.answering.answer import Answer
from advisor.answering.guard import has_active_content
from advisor.core import Advisor
from advisor.errors import DocumentError
from advisor.kb.chunking import chunk_document, split_sections
from advisor.kb.loaders import load_bytes
from advisor.text import CITATION
from tests.conftest import make_settings

LIMIT = 100_000

TRADES = """<!DOCTYPE html><html><head><title>Outdoor trades at a glance</title></head><body>
<h1>Outdoor trades at a glance</h1>
<p>Three trades that keep you outside most of the year, with what they pay and the paper you need.</p>
<table>
<thead><tr><th>Role</th><th>Typical salary</th><th>Certification</th></tr></thead>
<tbody>
<tr><td>Beekeeper</td><td>$41,000</td><td>Master Beekeeper diploma</td></tr>
<tr><td>Arborist</td><td>$52,000</td><td>ISA Certified Arborist</td></tr>
<tr><td>Falconer</td><td>$38,000</td><td>General Falconry Permit</td></tr>
</tbody></table>
</body></html>"""

TRADES_MARKDOWN = """# Outdoor trades at a glance

Three trades that keep you outside most of the year, with what they pay and the paper you need.

| Role | Typical salary | Certification |
| --- | --- | --- |
| Beekeeper | $41,000 | Master Beekeeper diploma |
| Arborist | $52,000 | ISA Certified Arborist |
| Falconer | $38,000 | General Falconry Permit |"""

# No <thead>, no <th>: the first row is the header.
CRAFTS = """<html><head><title>Harbour crafts</title></head><body>
<h2>Old harbour crafts</h2>
<p>Coastal towns still train people in a few old crafts; this page lists how long training takes and who certifies it.</p>
<table>
<tr><td>Craft</td><td>Apprenticeship length</td><td>Certifying guild</td></tr>
<tr><td>Lighthouse keeper</td><td>two years</td><td>Northern Lights Board</td></tr>
<tr><td>Glassblower</td><td>four years</td><td>Worshipful Company of Glass Sellers</td></tr>
<tr><td>Cooper</td><td>three years</td><td>Guild of Barrel Makers</td></tr>
</table></body></html>"""


def html_text(html: str) -> str:
    return load_bytes(html.encode(), "page.html", LIMIT).text


# -- conversion ----------------------------------------------------------------------------------
def test_an_html_table_becomes_a_markdown_table_with_its_header_row() -> None:
    doc = load_bytes(TRADES.encode(), "trades.html", LIMIT)
    assert doc.title == "Outdoor trades at a glance"
    assert doc.text == TRADES_MARKDOWN


def test_a_table_without_th_cells_gets_its_first_row_as_header() -> None:
    table = html_text(CRAFTS).split("\n\n")[-1]
    assert table.split("\n")[:3] == [
        "| Craft | Apprenticeship length | Certifying guild |",
        "| --- | --- | --- |",
        "| Lighthouse keeper | two years | Northern Lights Board |",
    ]
    assert len(table.split("\n")) == 5


def test_h5_and_h6_headings_are_kept_as_headings() -> None:
    text = html_text(
        "<h4>Hive care</h4><h5>Spring inspection</h5><p>Check every frame for queen cells before the swarm season.</p>"
        "<h6>Tools</h6><p>A smoker, a hive tool and a veil are the minimum kit for an inspection.</p>"
    )
    assert "##### Spring inspection" in text and "###### Tools" in text
    assert [path for path, _ in split_sections(text)] == [
        "Hive care > Spring inspection",
        "Hive care > Spring inspection > Tools",
    ]


def test_pipes_line_breaks_and_lists_in_cells_do_not_break_the_table() -> None:
    text = html_text(
        "<table><tr><th>Role</th><th>Tools</th></tr>"
        "<tr><td>Beekeeper</td><td>smoker | veil<br>hive tool</td></tr>"
        "<tr><td>Arborist</td><td><p>saw</p><p>rope</p></td></tr>"
        "<tr><td>Falconer</td><td><ul><li>glove</li><li>hood</li></ul></td></tr></table>"
    )
    assert text.split("\n") == [
        "| Role | Tools |",
        "| --- | --- |",
        "| Beekeeper | smoker \\| veil hive tool |",
        "| Arborist | saw rope |",
        "| Falconer | glove hood |",
    ]


def test_each_html_table_row_is_chunked_with_its_header_like_a_markdown_table() -> None:
    from_html = chunk_document("trades", html_text(TRADES))
    from_markdown = chunk_document("trades", load_bytes(TRADES_MARKDOWN.encode(), "trades.md", LIMIT).text)
    assert [(c.section, c.text) for c in from_html] == [(c.section, c.text) for c in from_markdown]
    rows = [c.text for c in from_html if c.text.startswith("|")]
    assert rows == [
        "| Role | Typical salary | Certification |\n| --- | --- | --- |\n" + row
        for row in TRADES_MARKDOWN.split("\n")[-3:]
    ]


def test_links_and_images_keep_no_active_markdown_anywhere_on_the_page() -> None:
    text = html_text(
        '<h3><a href="https://example.com/falcons">Falconry</a> basics</h3>'
        '<p>Read the <a href="javascript:alert(1)">permit guide</a> first. <img src="https://x.test/p.png" alt="hawk">'
        '<video src="https://x.test/v.mp4" poster="https://x.test/p.jpg">A falcon in flight.</video></p>'
        '<table><tr><th>Bird</th><th>Guide</th></tr><tr><td>Harris hawk</td><td><a href="https://x.test/h">hawk notes</a>'
        '<img src="https://x.test/h.png" alt="photo"></td></tr></table>'
    )
    assert "### Falconry basics" in text and "permit guide" in text and "| Harris hawk | hawk notes |" in text
    assert "](" not in text and "hawk]" not in text and "photo" not in text
    assert not has_active_content(text)


def test_comments_scripts_processing_instructions_and_icon_titles_are_not_page_text() -> None:
    doc = load_bytes(
        b"<html><head><title>Herons</title><script>var secret = 1;</script></head><body>"
        b"<svg><title>menu icon</title></svg><!-- hidden note --><?php echo 'pi'; ?><![CDATA[raw cdata]]>"
        b"<noscript>enable scripts</noscript><p>The heron survey team counts nesting pairs every spring.</p></body></html>",
        "herons.html",
        LIMIT,
    )
    assert doc.title == "Herons"
    assert doc.text == "The heron survey team counts nesting pairs every spring."


def test_a_table_that_lays_out_the_page_keeps_its_headings_and_paragraphs() -> None:
    text = html_text(
        "<table><tr><td><h2>Hive care</h2><p>Inspect the hive every nine days in spring.</p></td>"
        "<td><table><tr><th>Tool</th><th>Use</th></tr><tr><td>Smoker</td><td>calms the bees</td></tr></table>"
        "</td></tr></table>"
    )
    assert text == (
        "## Hive care\n\nInspect the hive every nine days in spring.\n\n"
        "| Tool | Use |\n| --- | --- |\n| Smoker | calms the bees |"
    )


def test_deeply_nested_html_is_refused_with_a_clear_error() -> None:
    html = "<div>" * 5000 + "The heron survey team counts nesting pairs." + "</div>" * 5000
    with pytest.raises(DocumentError, match="nested too deeply") as err:
        load_bytes(html.encode(), "deep.html", LIMIT)
    assert "\n" not in str(err.value)


# -- end to end: a row answered with its header ------------------------------------------------------
@pytest.fixture(scope="module")
def pages_advisor(tmp_path_factory: pytest.TempPathFactory) -> Advisor:
    advisor = Advisor(make_settings(tmp_path_factory.mktemp("html-tables")))
    advisor.add_upload(TRADES.encode(), "page.html")
    advisor.add_upload(CRAFTS.encode(), "crafts.html")
    return advisor


def quote_of(answer: Answer, cell: str) -> str:
    """The answer line that quotes ``cell`` ("" when none does)."""
    return next((line for line in answer.text.split("\n") if cell in line), "")


def cited_doc_ids(answer: Answer, line: str) -> set[str]:
    cited = {int(n) for n in CITATION.findall(line)}
    return {s.doc_id for s in answer.sources if s.n in cited}


ROW_QUESTIONS = [  # question, the row asked about, the cell that answers it, its column's header, the page
    ("What certification does a falconer need?", "Falconer", "General Falconry Permit", "Certification", "page"),
    ("What is the typical salary of an arborist?", "Arborist", "$52,000", "Typical salary", "page"),
    (
        "Which guild certifies glassblowers?",
        "Glassblower",
        "Worshipful Company of Glass Sellers",
        "Certifying guild",
        "crafts",
    ),
    ("How long is a cooper's apprenticeship?", "Cooper", "three years", "Apprenticeship length", "crafts"),
]
ROWS = {"page": ["Beekeeper", "Arborist", "Falconer"], "crafts": ["Lighthouse keeper", "Glassblower", "Cooper"]}


@pytest.mark.slow
@pytest.mark.parametrize(("question", "row", "cell", "header", "doc_id"), ROW_QUESTIONS)
def test_a_question_about_one_html_table_row_is_answered_from_that_row_with_its_header(
    pages_advisor: Advisor, question: str, row: str, cell: str, header: str, doc_id: str
) -> None:
    answer = pages_advisor.ask(question)
    assert not answer.refused
    line = quote_of(answer, cell)
    assert row in line and header in line, answer.text
    assert cited_doc_ids(answer, line) == {doc_id}, answer.text
    assert [other for other in ROWS[doc_id] if other != row and other in answer.text] == [], answer.text
