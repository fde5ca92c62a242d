"""The app's logic without Streamlit: safe rendering, prices, feedback files, the job and path rules."""

from __future__ import annotations

import json

import pytest

from advisor.app import feedback, pathfinder
from advisor.app import job_check as jobs
from advisor.app.display import SafeStream, safe_markdown
from advisor.app.pricing import cost_usd, price_for
from advisor.errors import InputError
from advisor.providers.chat_models import Usage
from tests.conftest import make_settings


@pytest.mark.parametrize(
    "text",
    [
        "See ![chart](https://evil.example/x.png) here",
        "See ![chart][ref] here\n\n[ref]: https://evil.example/x.png",
        'See <img src="https://evil.example/x.png"> here',
        "See [click](https://evil.example/) here",
        "See <https://evil.example/x> here",
        "See https://evil.example/x.png here",
    ],
)
def test_nothing_remote_survives_safe_markdown(text: str) -> None:
    out = safe_markdown(text)
    assert "![" not in out and "<img" not in out and "](http" not in out
    assert "evil.example" not in out
    assert "See" in out and "here" in out


def test_a_url_the_sources_hold_stays_as_inline_code_not_a_link() -> None:
    out = safe_markdown("Apply at https://jobs.example.com today.", sources="https://jobs.example.com")
    assert "`https://jobs.example.com`" in out


def test_a_stream_cannot_assemble_an_image_across_deltas() -> None:
    stream = SafeStream(["Look: !", "[x](https://evil.example/p.png) done", " and more!"])
    pieces = list(stream)
    assert "![" not in "".join(pieces)
    assert stream.text == "".join(pieces)
    assert stream.text.endswith("more!")


def test_cost_is_known_only_for_priced_openai_models_on_openai(tmp_path) -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    openai = make_settings(tmp_path, provider="openai", chat_model="gpt-4o-mini")
    assert cost_usd(openai, usage) == pytest.approx(0.75)
    assert price_for(openai.with_(chat_model="gpt-4o-mini-2024-07-18")) == (0.15, 0.60)
    assert price_for(openai.with_(chat_model="gpt-4o")) == (2.50, 10.00)
    assert price_for(openai.with_(chat_model="my-finetune")) is None
    assert cost_usd(openai.with_(openai_base_url="http://127.0.0.1:8080/v1"), usage) is None  # self-hosted: free
    assert cost_usd(make_settings(tmp_path), usage) is None  # local GGUF


def test_thumbs_up_is_logged_and_thumbs_down_also_writes_a_draft_case(tmp_path) -> None:
    settings = make_settings(tmp_path)
    answer = {"answer": "Go AI Engineer. [1]", "sources": [{"n": 1, "section": "x"}], "refused": False}
    up = feedback.record(settings, "up", "Which role?", answer)
    assert up.draft_path is None and not feedback.drafts(settings)
    down = feedback.record(settings, "down", "Which role?", answer, [{"role": "user", "content": "hi"}], "wrong")
    assert down.draft_path is not None and feedback.drafts(settings) == [down.draft_path]
    draft = json.loads(down.draft_path.read_text(encoding="utf-8"))
    assert (draft["status"], draft["question"], draft["answer"]) == ("draft", "Which role?", "Go AI Engineer. [1]")
    assert draft["sources"] == answer["sources"] and draft["history"][0]["content"] == "hi"
    assert [v["vote"] for v in feedback.votes(settings)] == ["up", "down"]
    with pytest.raises(InputError):
        feedback.record(settings, "sideways", "q", answer)  # type: ignore[arg-type]


def test_path_sentences_name_the_recommended_roles_not_the_compared_ones() -> None:
    assert pathfinder.recommended_roles("> Go AI Engineer. Your muscle is ... most ML grads lack. [1]") == [
        "AI Engineer"
    ]
    either = "> You can go either ML Engineer (deeper into model training) or AI Engineer (toward production). [1]"
    assert pathfinder.recommended_roles(either) == ["ML Engineer", "AI Engineer"]
    assert pathfinder.recommended_roles("> You're closer to AI Engineering than to ML Engineering. [2]") == [
        "AI Engineer"
    ]


def test_interests_move_the_score_toward_the_matching_role() -> None:
    profile = pathfinder.Profile("ML or research-track grad", enjoys="training models on GPUs, reading papers")
    scores, reasons = pathfinder.score(profile, ["ML Engineer", "AI Engineer"])
    assert scores["ML Engineer"] > scores["AI Engineer"] > scores["Data Scientist"] == 0
    assert any("training models" in r for r in reasons)


def test_a_profile_out_of_range_is_refused() -> None:
    with pytest.raises(InputError):
        pathfinder.Profile("Astronaut").validate()
    with pytest.raises(InputError):
        pathfinder.Profile("Software engineer", years=99).validate()


def test_a_posting_is_judged_by_its_sentences_not_its_title() -> None:
    posting = (
        "Machine Learning Engineer\n"
        "You will build production features on top of LLMs: retrieval pipelines, agents and evals. "
        "You'll own prompt changes end to end and ship every week."
    )
    verdict = jobs.classify(posting)
    assert verdict.role == "AI Engineer" and verdict.title_roles == ["ML Engineer"] and verdict.title_mismatch
    assert all(e.ships for e in verdict.evidence if e.role == "AI Engineer")
    assert {e.signal for e in verdict.evidence} >= {"LLMs / foundation models", "retrieval pipelines"}


def test_a_posting_without_role_signals_gets_no_verdict_and_says_why() -> None:
    verdict = jobs.classify("Great team, free snacks, flexible hours, and a friendly office in the city centre.")
    assert verdict.role is None and verdict.notes and "can't tell" in verdict.notes[0]


def test_an_evenly_split_posting_is_called_a_blend() -> None:
    posting = (
        "Data role\nYou will design A/B tests and analyze results with SQL. "
        "You will build retrieval pipelines on LLMs for the product."
    )
    verdict = jobs.classify(posting)
    assert verdict.blend_with is not None and {verdict.role, verdict.blend_with} == {"AI Engineer", "Data Scientist"}
