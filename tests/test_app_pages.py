"""The "Find my path" and "Is this job really…?" pages under AppTest, on the real advisor."""

from __future__ import annotations

import pytest

from tests.app_support import app, app_env, app_settings, texts  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("app_env")]

DS_POSTING_TITLED_AI = """Senior AI Engineer
We're a 20-person startup. You will analyze product data with SQL and design A/B tests to improve conversion.
You'll present insights to leadership and build dashboards in Looker.
Some prompt engineering on top of GPT-4 for internal tools.
Strong statistics background (hypothesis testing, regression) required."""

ML_POSTING = """Machine Learning Engineer, Ranking
You will train custom ranking models in PyTorch on our GPU cluster and own the deployment pipeline that takes
each checkpoint to production. You'll profile GPU utilization, tune hyperparameters and iterate on the model
architecture of our recommendation system."""


def submit(at, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label).click().run()


def test_the_profile_form_returns_a_cited_recommendation() -> None:
    at = app("find_my_path").run()
    assert not at.exception
    # The backgrounds offered are the ones the knowledge base advises (the article's three), then "Something else".
    assert list(at.selectbox[0].options) == [
        "Software engineer",
        "ML or research-track grad",
        "Data scientist or analyst",
        "Something else",
    ]
    at.selectbox[0].select("Software engineer")
    at.number_input[0].set_value(4)
    at.text_input[0].set_value("Python, APIs")
    at.text_area[0].set_value("building products people use")
    submit(at, "Recommend a path")
    assert not at.exception
    assert texts(at, "success") == ["**Recommended: AI Engineer**"]
    shown = "\n".join(texts(at, "markdown"))
    assert "Go AI Engineer" in shown and "[1]" in shown
    assert "the knowledge base points to AI Engineer" in shown  # the background's advice is the reason
    assert any(e.label.startswith("Sources (") for e in at.expander)
    assert [h.value for h in at.subheader][:2] == [
        "Your background: software engineer",
        "What an AI Engineer does day to day",
    ]
    # Years of experience: the article says nothing, and the page says so instead of inventing advice.
    assert any("doesn't say how years of experience" in i for i in texts(at, "info"))


def test_a_background_the_article_does_not_cover_is_said_not_invented() -> None:
    at = app("find_my_path").run()
    at.selectbox[0].select("Something else")
    at.number_input[0].set_value(0)
    at.text_area[0].set_value("gardening and cooking")
    submit(at, "Recommend a path")
    assert not at.exception
    assert not texts(at, "success")
    infos = "\n".join(texts(at, "info"))
    assert "says nothing about yours" in infos
    assert "software engineer, ML or research-track grad and data scientist or analyst" in infos  # from the catalog
    assert "can't point you to one" in infos
    headings = [h.value for h in at.subheader]
    assert sum("day to day" in h for h in headings) == 3, headings


def test_interests_alone_point_to_the_role_whose_work_they_match() -> None:
    at = app("find_my_path").run()
    at.selectbox[0].select("Something else")
    at.number_input[0].set_value(0)
    at.text_area[0].set_value("training models on GPUs, reading papers")
    submit(at, "Recommend a path")
    assert not at.exception
    assert texts(at, "success") == ["**Recommended: ML Engineer**"]
    why = "\n".join(texts(at, "markdown"))
    assert "match what the knowledge base says about ML Engineer: “" in why and "training" in why  # quoted


def test_a_data_science_job_titled_ai_engineer_is_called_what_it_is() -> None:
    at = app("job_check").run()
    assert at.text_input[0].placeholder == "e.g. AI Engineer"  # the first role the knowledge base compares
    at.text_area[0].set_value(DS_POSTING_TITLED_AI)
    submit(at, "Which role is it really?")
    assert not at.exception
    assert texts(at, "success") == ["**This is really a Data Scientist job**."]
    assert any("The title says AI Engineer" in w for w in texts(at, "warning"))
    evidence = "\n".join(texts(at, "markdown"))
    assert "design A/B tests" in evidence  # the posting's own sentence is the evidence
    assert "read the job description, not the title" in evidence  # and the article is quoted for it
    assert "[1]" in evidence


def test_an_ml_posting_is_ml_engineering() -> None:
    at = app("job_check").run()
    at.text_area[0].set_value(ML_POSTING)
    submit(at, "Which role is it really?")
    assert not at.exception
    assert texts(at, "success") == ["**This is really an ML Engineer job**."]
    assert not texts(at, "warning")


def test_a_title_alone_is_refused_with_a_clear_message() -> None:
    at = app("job_check").run()
    at.text_area[0].set_value("AI Engineer")
    submit(at, "Which role is it really?")
    assert not at.exception
    assert any("paste the whole job description" in e for e in texts(at, "error"))
