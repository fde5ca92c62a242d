"""A second career document added to the knowledge base: its roles are first-class in "Find my path" and the
job-posting check, the same way as the bundled article's (real models, real knowledge base).

The document (evals/documents/sre-vs-devops-engineer-vs-platform-engineer.md) was written for the tests and
the app's code was not tuned on it. It is added through the app's own Knowledge base page, as a user would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.app import job_check as jobs
from advisor.app import pathfinder
from advisor.app.entity_match import EntityProfiles
from advisor.core import Advisor
from advisor.providers.embeddings import Embedder
from advisor.settings import PROJECT_DIR
from tests.app_support import app, app_settings, texts
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

DOCUMENT = PROJECT_DIR / "evals" / "documents" / "sre-vs-devops-engineer-vs-platform-engineer.md"
ROLES = ["Site Reliability Engineer", "DevOps Engineer", "Platform Engineer"]

DEVOPS_POSTING_TITLED_PLATFORM = """Platform Engineer
You will maintain our CI/CD pipelines in GitHub Actions, write Terraform for our cloud accounts and run the
weekly release. You'll fix flaky build stages that block merges.
We offer a hybrid office and a learning budget."""

SRE_POSTING = """Site Reliability Engineer, Payments
You will own the SLOs of our payment services and run blameless postmortems after incidents.
You'll carry the pager one week in four and automate away toil."""


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Advisor:
    """An advisor whose knowledge base holds the article and the second document."""
    adv = Advisor(make_settings(tmp_path_factory.mktemp("two-documents")), embedder=embedder)
    adv.add_paths([DOCUMENT])
    return adv


def test_the_second_documents_roles_are_in_the_catalog_and_have_profiles(both: Advisor) -> None:
    catalog = both.catalog()
    assert set(ROLES) <= set(catalog.names) and "AI Engineer" in catalog.names
    profiles = EntityProfiles(both)
    assert all(profiles.passages[role] for role in ROLES), profiles.passages


def test_interests_match_the_role_whose_passages_describe_them(both: Advisor) -> None:
    profiles = EntityProfiles(both)
    best = {
        text: max(found, key=lambda role: (len(found[role]), found[role][0].similarity if found[role] else 0))
        for text in ("CI/CD pipelines, Terraform", "being on call, debugging production", "training models on GPUs")
        if (found := profiles.by_entity([p.strip() for p in text.split(",")]))
    }
    assert best == {
        "CI/CD pipelines, Terraform": "DevOps Engineer",
        "being on call, debugging production": "Site Reliability Engineer",
        "training models on GPUs": "ML Engineer",  # the article's roles still work beside the new ones
    }
    assert not any(profiles.by_entity(["gardening", "cooking"]).values())  # unrelated hobbies match nothing


def test_find_my_path_recommends_a_second_document_role_from_interests(both: Advisor) -> None:
    profile = pathfinder.Profile("Something else", years=0, skills="CI/CD pipelines, Terraform", enjoys="")
    rec = pathfinder.recommend(both, profile)
    assert rec.role == "DevOps Engineer", (rec.scores, rec.reasons)
    assert any("about DevOps Engineer" in r and "“" in r for r in rec.reasons)  # the passages behind it, quoted
    headings = [s.heading for s in rec.sections]
    assert "What a DevOps Engineer does day to day" in headings
    day = next(s.answer for s in rec.sections if s.heading == "What a DevOps Engineer does day to day")
    assert "CI/CD" in day.text and any(s.title.startswith("SRE vs DevOps") for s in day.sources)
    # "Something else" names the backgrounds the knowledge base does advise, from the catalog.
    assert any("says nothing about yours" in n and "software engineer" in n for n in rec.not_covered)


def test_the_job_check_tells_a_second_document_role_from_its_title(both: Advisor) -> None:
    verdict = jobs.assess(both, DEVOPS_POSTING_TITLED_PLATFORM)
    assert verdict.role == "DevOps Engineer" and verdict.title_roles == ["Platform Engineer"]
    assert verdict.title_mismatch
    assert any("CI/CD pipelines" in e.sentence for e in verdict.evidence if e.role == "DevOps Engineer")
    assert [s.heading for s in verdict.sections][1:] == [
        "What a DevOps Engineer does",
        "When the title says Platform Engineer",
    ]
    sre = jobs.assess(both, SRE_POSTING)
    assert sre.role == "Site Reliability Engineer" and not sre.title_mismatch


# -- the same through the app's pages -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_document_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The app with its own data dir; the second document is uploaded on the Knowledge base page."""
    data = tmp_path_factory.mktemp("app-two") / "data"
    with app_settings(data):
        at = app("knowledge_base")
        at.session_state["pending_uploads"] = [(DOCUMENT.name, DOCUMENT.read_bytes())]
        at.run()
        assert not at.exception and any("added" in s for s in texts(at, "success")), texts(at, "error")
        yield data


def submit(at, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label).click().run()


@pytest.mark.usefixtures("two_document_app")
def test_the_find_my_path_page_offers_the_knowledge_bases_roles_and_backgrounds() -> None:
    at = app("find_my_path").run()
    assert not at.exception
    assert list(at.selectbox[0].options) == [
        "Software engineer",
        "ML or research-track grad",
        "Data scientist or analyst",
        "Something else",
    ]
    assert all(role in "\n".join(texts(at, "caption")) for role in ROLES)
    at.selectbox[0].select("Something else")
    at.number_input[0].set_value(0)
    at.text_input[0].set_value("CI/CD pipelines, Terraform")
    submit(at, "Recommend a path")
    assert not at.exception
    assert texts(at, "success") == ["**Recommended: DevOps Engineer**"]
    assert "What a DevOps Engineer does day to day" in [h.value for h in at.subheader]


@pytest.mark.usefixtures("two_document_app")
def test_the_job_check_page_names_a_second_document_role() -> None:
    at = app("job_check").run()
    assert not at.exception
    assert at.text_input[0].placeholder == "e.g. AI Engineer"  # the first role the knowledge base compares
    at.text_area[0].set_value(DEVOPS_POSTING_TITLED_PLATFORM)
    submit(at, "Which role is it really?")
    assert not at.exception
    assert texts(at, "success") == ["**This is really a DevOps Engineer job**."]
    assert any("The title says Platform Engineer" in w for w in texts(at, "warning"))
    assert "CI/CD pipelines" in "\n".join(texts(at, "markdown"))
