"""The eval suites' data: each ledger covers its document, its quotes are verbatim, its checks are sound;
and the loader picks the suites of the documents asked for and refuses a malformed one."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from advisor import resources
from advisor.cli import build_parser
from advisor.cli.eval import _suites
from advisor.errors import ConfigError, InputError
from advisor.evals.metrics import normalise, word_pattern
from advisor.evals.suite import POSITION_KINDS, Suite, load_suite, load_suites
from advisor.kb.chunking import split_sections
from advisor.kb.loaders import doc_id_for

ARTICLE = "ai-engineer-vs-ml-engineer-vs-data-scientist"
DATA_ROLES = "data-engineer-vs-analytics-engineer-vs-data-analyst"
OPS_ROLES = "sre-vs-devops-engineer-vs-platform-engineer"


@pytest.fixture(scope="module")
def suites() -> Suite:
    return load_suites()


@pytest.fixture(scope="module")
def documents(suites: Suite) -> dict[str, str]:
    """Each suite's document, front matter left out."""
    return {name: path.read_text(encoding="utf-8").split("---", 2)[2] for name, path in suites.documents.items()}


def test_there_is_a_suite_for_the_article_and_for_each_test_document(suites: Suite) -> None:
    assert suites.article == ARTICLE
    assert suites.suites == [ARTICLE, DATA_ROLES, OPS_ROLES]
    assert suites.documents[ARTICLE] == resources.knowledge_dir() / f"{ARTICLE}.md"
    assert suites.documents[OPS_ROLES] == resources.evals_dir() / "documents" / f"{OPS_ROLES}.md"
    assert all(c.suite == (c.position.suite if c.position else c.suite) for c in suites.cases)


def test_the_test_documents_stay_out_of_the_knowledge_the_advisor_starts_from(suites: Suite) -> None:
    # They are eval data: a user's knowledge base gets them only with `advisor kb add`.
    shipped = {doc_id_for(p.name) for p in resources.knowledge_dir().iterdir()}
    assert ARTICLE in shipped
    for name in (DATA_ROLES, OPS_ROLES):
        assert name not in shipped
        assert resources.knowledge_dir() not in suites.documents[name].parents


def test_the_article_ledger_holds_forty_or_more_positions_with_unique_ids(suites: Suite) -> None:
    ids = [p.id for p in suites.positions]
    assert sum(p.suite == ARTICLE for p in suites.positions) >= 40
    assert len(ids) == len(set(ids))


def test_every_section_of_every_document_has_a_position(suites: Suite, documents: dict[str, str]) -> None:
    for name, text in documents.items():
        sections = {path for path, _ in split_sections(text)}
        title = re.search(r"^# (.+)$", text, re.M)
        assert title is not None
        sections.discard(title.group(1).strip())  # the text under the title is the "Introduction"
        covered = {p.section for p in suites.positions if p.suite == name}
        assert "Introduction" in covered, name
        parents = {s for s in sections if any(other.startswith(f"{s} > ") for other in sections)}
        assert sections - parents - covered == set(), name


def test_every_quote_is_verbatim_from_its_own_document(suites: Suite, documents: dict[str, str]) -> None:
    texts = {name: re.sub(r"\s+", " ", text) for name, text in documents.items()}
    for pos in suites.positions:
        for quote in pos.quotes:
            assert re.sub(r"\s+", " ", quote) in texts[pos.suite], f"{pos.id}: quote not in {pos.suite}: {quote!r}"


def test_each_document_passes_every_must_and_trips_no_must_not(suites: Suite, documents: dict[str, str]) -> None:
    # A required fact the document can't supply, or a "contradiction" it states, would be a wrong check.
    texts = {name: normalise(text) for name, text in documents.items()}
    for case in suites.cases:
        if case.position is None:
            continue
        text = texts[case.suite]
        for pattern in (*case.position.must, *case.must):
            assert re.search(pattern, text), f"{case.id}: must {pattern!r} matches nothing in {case.suite}"
        for pattern in (*case.position.must_not, *case.must_not):
            assert not re.search(pattern, text), f"{case.id}: must_not {pattern!r} matches {case.suite} itself"


def test_uncovered_words_appear_in_no_document_of_any_suite(suites: Suite) -> None:
    # Whole files, front matter too: a word any document holds could be answered, not declared uncovered.
    everything = " ".join(normalise(path.read_text(encoding="utf-8")) for path in suites.documents.values())
    uncovered = [(c.id, w) for c in suites.cases for w in c.uncovered]
    assert len(uncovered) >= 3 * 9
    for cid, word in uncovered:
        assert not re.search(word_pattern(word), everything), f"{cid}: {word!r} is in a document"


def test_every_position_has_a_direct_question_and_every_suite_every_kind(suites: Suite) -> None:
    kinds: dict[str, set[str]] = {}
    for case in suites.cases:
        if case.position:
            kinds.setdefault(case.position.id, set()).add(case.kind)
    assert len(kinds) == len(suites.positions)
    assert all("direct" in k for k in kinds.values())
    article = {p.id for p in suites.positions if p.suite == ARTICLE}
    assert all({"direct", "paraphrase"} <= k for pid, k in kinds.items() if pid in article)
    assert sum("trap" in k for pid, k in kinds.items() if pid in article) >= 10
    assert sum("follow_up" in k for pid, k in kinds.items() if pid in article) >= 5
    for name in suites.suites:
        assert {c.kind for c in suites.cases if c.suite == name and c.position} == set(POSITION_KINDS), name
        assert sum(c.category == "out_of_scope" and c.suite == name for c in suites.cases) >= 5, name


def test_new_kinds_carry_what_their_metric_needs(suites: Suite) -> None:
    for case in suites.cases:
        assert bool(case.uncovered) == (case.kind == "uncovered"), case.id
        if case.kind in ("comparison", "decision"):
            assert case.must, case.id


def test_out_of_scope_and_adversarial_cases_cover_each_attack(suites: Suite) -> None:
    assert sum(c.category == "out_of_scope" and c.suite == ARTICLE for c in suites.cases) >= 10
    attacks = {c.kind for c in suites.cases if c.category == "adversarial"}
    assert {"injection", "prompt_extraction", "exfiltration"} <= attacks


# -- loading ------------------------------------------------------------------------------------------------
def test_load_suites_picks_the_article_and_the_suites_of_the_documents_asked_for() -> None:
    assert load_suites(doc_ids=[OPS_ROLES]).suites == [ARTICLE, OPS_ROLES]
    assert load_suites(doc_ids=[DATA_ROLES, "tomatoes"]).suites == [ARTICLE, DATA_ROLES]
    assert load_suites(doc_ids=[]).suites == [ARTICLE]
    assert load_suite().suites == [ARTICLE]


def test_the_digest_covers_every_suite_file_loaded() -> None:
    alone, both = load_suites(doc_ids=[]), load_suites(doc_ids=[OPS_ROLES])
    assert len(alone.files) == 2 and len(both.files) == 3 and both.files[2].endswith(f"{OPS_ROLES}.yaml")
    assert alone.digest != both.digest
    assert load_suites(doc_ids=[OPS_ROLES]).digest == both.digest


def test_selecting_by_suite_keeps_only_that_documents_cases(suites: Suite) -> None:
    picked = suites.select(suites=[DATA_ROLES], kinds=["uncovered"])
    assert picked.cases and {c.suite for c in picked.cases} == {DATA_ROLES}
    assert {c.kind for c in picked.cases} == {"uncovered"} and picked.documents == suites.documents
    assert picked.positions and {p.suite for p in picked.positions} == {DATA_ROLES}


class KnowledgeBaseOf:
    """Stands in for an Advisor where only the documents in its knowledge base matter."""

    def __init__(self, *doc_ids: str) -> None:
        self.doc_ids = doc_ids

    def documents(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(doc_id=doc_id) for doc_id in self.doc_ids]


def test_advisor_eval_runs_the_suites_of_the_documents_in_the_knowledge_base() -> None:
    args = build_parser().parse_args(["eval"])
    assert _suites(args, KnowledgeBaseOf(ARTICLE, OPS_ROLES)).suites == [ARTICLE, OPS_ROLES]
    assert _suites(args, KnowledgeBaseOf("tomatoes")).suites == [ARTICLE]  # the article's always runs


def test_advisor_eval_suite_picks_suites_by_name_or_file_and_says_when_a_document_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(["eval", "--suite", OPS_ROLES, "--suite", f"evals/documents/{DATA_ROLES}.md"])
    picked = _suites(args, KnowledgeBaseOf(ARTICLE, OPS_ROLES))
    assert picked.suites == [DATA_ROLES, OPS_ROLES]
    assert f"note: {DATA_ROLES}'s document is not in the knowledge base" in capsys.readouterr().err
    with pytest.raises(InputError, match=f"no eval suite 'nope'; the suites are: {ARTICLE}, "):
        _suites(build_parser().parse_args(["eval", "--suite", "nope"]), KnowledgeBaseOf(ARTICLE))


LEDGER = "positions:\n  - {id: x, section: s, position: p, quote: q, must: ['q'], cases: {direct: 'q?'}}\n"


def write_suite(folder: Path, body: str, name: str = "other.yaml") -> Path:
    (folder / "evals" / "suites").mkdir(parents=True, exist_ok=True)
    (folder / "evals" / "positions.yaml").write_text(LEDGER)
    (folder / "evals" / "cases.yaml").write_text("out_of_scope: []\n")
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "other.md").write_text("# Other\n\nQ.\n")
    path = folder / "evals" / "suites" / name
    path.write_text(body)
    return folder / "evals"


SUITE = """document: docs/other.md
positions:
  - id: o-1
    section: s
    position: p
    quote: q
    must: ['q']
    cases:
      direct: "q?"
"""


def test_a_suite_file_loads_under_its_documents_id(tmp_path: Path) -> None:
    suite = load_suites(write_suite(tmp_path, SUITE))
    assert suite.suites == ["positions", "other"] and suite.article == "positions"
    assert [c.id for c in suite.cases if c.suite == "other"] == ["o-1/direct"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (SUITE.replace("document: docs/other.md\n", ""), r"other\.yaml: 'document:' must name"),
        (SUITE.replace("docs/other.md", "docs/missing.md"), r"other\.yaml: document 'docs/missing\.md' not found"),
        (SUITE + "extra: 1\n", r"other\.yaml: unknown key\(s\) 'extra'"),
        (SUITE + "      uncovered: {question: 'q in Paris?'}\n", r"other\.yaml: positions\[0\] \(o-1\)\.uncovered"),
        (SUITE + "      comparison: {question: 'q or r?'}\n", r"positions\[0\] \(o-1\)\.comparison: .*'must'"),
        (SUITE + "      trap: {question: 'q, right?', uncovered: [x]}\n", r"\(o-1\)\.trap: 'uncovered: \[words\]'"),
        (SUITE + "      confirm: {question: 'q, right?', must: ['(']}\n", r"\(o-1\)\.confirm\.must: bad regex"),
        (SUITE.replace("o-1", "x"), r"other\.yaml: positions\[0\]: duplicate id 'x'"),
        (SUITE + "out_of_scope:\n  - {id: oos}\n", r"other\.yaml: out_of_scope\[0\]: a question"),
    ],
)
def test_a_malformed_suite_is_refused_with_the_file_and_entry_named(tmp_path: Path, body: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load_suites(write_suite(tmp_path, body))


def test_a_suite_for_a_document_not_asked_for_is_not_loaded(tmp_path: Path) -> None:
    folder = write_suite(tmp_path, SUITE + "      confirm: {question: 'q, right?', must: ['(']}\n")
    assert load_suites(folder, doc_ids=["another"]).suites == ["positions"]


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
