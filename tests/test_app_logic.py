"""The app's logic without Streamlit: safe rendering, prices, feedback files, the job and path rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.app import feedback, pathfinder, questions
from advisor.app import job_check as jobs
from advisor.app.display import SafeStream, safe_markdown
from advisor.app.entity_match import MIN_SIMILARITY, Match, blank_names, pieces
from advisor.app.pricing import cost_usd, price_for
from advisor.errors import InputError
from advisor.kb.entities import EntityCatalog, learn
from advisor.providers.chat_models import Usage
from advisor.settings import PROJECT_DIR
from tests.conftest import make_settings

ARTICLE = PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md"
OPS = PROJECT_DIR / "evals" / "documents" / "sre-vs-devops-engineer-vs-platform-engineer.md"
DATA = PROJECT_DIR / "evals" / "documents" / "data-engineer-vs-analytics-engineer-vs-data-analyst.md"


def catalog_of(*documents: Path) -> EntityCatalog:
    """The catalog a knowledge base holding ``documents`` has (what ingest learns from each)."""
    return EntityCatalog.merged(learn(d.read_text(encoding="utf-8")) for d in documents)


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


def test_the_backgrounds_offered_are_the_knowledge_bases_and_something_else() -> None:
    article = pathfinder.background_choices(catalog_of(ARTICLE))
    assert article == [
        "Software engineer",
        "ML or research-track grad",
        "Data scientist or analyst",
        "Something else",
    ]
    both = pathfinder.background_choices(catalog_of(ARTICLE, DATA))
    assert both[:3] == article[:3] and both[-1] == "Something else"
    assert {"Software", "Business analyst or live in Excel"} <= set(both[3:])  # the second document's
    assert pathfinder.background_choices(catalog_of(OPS)) == ["Something else"]  # it advises no background


def test_path_sentences_name_the_recommended_roles_not_the_compared_ones() -> None:
    catalog = catalog_of(ARTICLE, OPS)

    def recommended(text: str, background: str) -> list[str]:
        found = next(b for b in catalog.backgrounds if b.label == background)
        return pathfinder.recommended_roles(text, catalog, [found.label, *found.options])

    assert recommended("For a software engineer: Go AI Engineer. Your muscle is ... [1]", "software engineer") == [
        "AI Engineer"
    ]
    either = "For an ML or research-track grad: You can go either ML Engineer (deeper) or AI Engineer (toward production). [1]"
    assert recommended(either, "ML or research-track grad") == ["ML Engineer", "AI Engineer"]
    # The reader's own background names a role ("data scientist") but is who the advice is for.
    closer = "For a data scientist or analyst: You're closer to AI Engineering than to ML Engineering. [2]"
    assert recommended(closer, "data scientist or analyst") == ["AI Engineer"]
    # The second document's roles, the same way.
    assert pathfinder.recommended_roles("Look first at DevOps Engineer or Platform Engineer jobs. [1]", catalog) == [
        "DevOps Engineer",
        "Platform Engineer",
    ]
    assert pathfinder.recommended_roles("A Platform Engineer job suits you better than SRE. [1]", catalog) == [
        "Platform Engineer"
    ]


def match(entity: str, passage: str, similarity: float = 0.5) -> Match:
    return Match(entity, passage, "what I wrote", similarity)


def test_interests_move_the_score_toward_the_matching_role_and_quote_why() -> None:
    profile = pathfinder.Profile("Something else", enjoys="owning the release pipeline")
    roles = ["Site Reliability Engineer", "DevOps Engineer", "Platform Engineer"]
    matches = {
        "DevOps Engineer": [match("DevOps Engineer", f"Owns pipeline step {i}.") for i in range(5)],
        "Platform Engineer": [match("Platform Engineer", "Builds self-service tooling.")],
    }
    scores, reasons = pathfinder.score(profile, roles, ["Platform Engineer"], matches)
    assert scores == {
        "Site Reliability Engineer": 0.0,
        "DevOps Engineer": pathfinder.MAX_INTEREST_PER_ROLE,  # five matches, capped
        "Platform Engineer": pathfinder.BACKGROUND_WEIGHT + 1,
    }
    assert reasons[0] == "For your background (Something else), the knowledge base points to Platform Engineer."
    devops = next(r for r in reasons if "about DevOps Engineer" in r)
    assert "“Owns pipeline step 0.”; “Owns pipeline step 1.”" in devops and "step 2" not in devops


def test_a_profile_out_of_range_is_refused() -> None:
    choices = pathfinder.background_choices(catalog_of(ARTICLE))
    pathfinder.Profile("software engineer", years=4).validate(choices)  # any case
    with pytest.raises(InputError, match="background must be one of"):
        pathfinder.Profile("Astronaut").validate(choices)
    with pytest.raises(InputError):
        pathfinder.Profile("Software engineer", years=99).validate(choices)
    with pytest.raises(InputError):
        pathfinder.Profile("Software engineer", degree="Wizard").validate(choices)


def test_questions_are_built_from_the_names_with_the_right_article() -> None:
    assert [questions.indefinite(n) for n in ("AI Engineer", "ML Engineer", "SRE", "Data Scientist")] == [
        "an",
        "an",
        "an",
        "a",
    ]
    assert [questions.indefinite(n) for n in ("Site Reliability Engineer", "DevOps Engineer", "Platform Engineer")] == [
        "a",
        "a",
        "a",
    ]
    assert questions.role_list(["A", "B", "C"]) == "A, B or C"
    assert questions.role_list(["A", "B", "C", "D", "E"]) == "A, B, C, D or another role"
    assert questions.role_list(["x", "y"], "and", limit=None) == "x and y"


def test_starter_questions_come_from_the_knowledge_base() -> None:
    article = questions.starter_questions(catalog_of(ARTICLE))
    assert article[:2] == [
        "I'm a software engineer, which role should I go for?",
        "What does an AI Engineer do day to day?",
    ]
    ops = questions.starter_questions(catalog_of(OPS))
    assert ops[0] == "What does a Site Reliability Engineer do day to day?" and len(ops) >= 3  # no background to ask
    assert questions.starter_questions(EntityCatalog()) == []


def test_free_text_is_split_into_the_phrases_it_lists_and_names_are_blanked() -> None:
    assert pieces("Python, APIs and SQL\n- on-call work; Terraform") == [
        "Python",
        "APIs",
        "SQL",
        "on-call work",
        "Terraform",
    ]
    assert blank_names("SREs own the SLOs; a DevOps engineer owns the pipeline.", catalog_of(OPS)) == (
        "this role own the SLOs; a this role owns the pipeline."
    )


class FakeProfiles:
    """Profiles whose matches are given per sentence (classify's own rules are what is tested here)."""

    def __init__(self, catalog: EntityCatalog, by_sentence: dict[str, list[Match]]) -> None:
        self.catalog = catalog
        self.entities = catalog.names
        self.by_sentence = by_sentence
        self.asked: list[str] = []

    def matches(self, texts: list[str]) -> list[list[Match]]:
        self.asked += texts
        return [self.by_sentence.get(t, []) for t in texts]


def test_a_posting_is_judged_by_its_sentences_not_its_title() -> None:
    posting = (
        "Platform Engineer\n"
        "You will own our CI/CD pipelines and\n  the release process.\n"
        "Our office has a great view.\n"
        "Experience with Terraform is a plus."
    )
    profiles = FakeProfiles(
        catalog_of(OPS),
        {
            "You will own our CI/CD pipelines and the release process.": [match("DevOps Engineer", "Owns CI/CD.", 0.6)],
            "Experience with Terraform is a plus.": [match("DevOps Engineer", "Terraform.", 0.4)],
            "Our office has a great view.": [match("Platform Engineer", "Builds portals.", MIN_SIMILARITY - 0.01)],
        },
    )
    verdict = jobs.classify(posting, profiles)
    assert "Platform Engineer" not in profiles.asked  # the title is not evidence
    assert "You will own our CI/CD pipelines and the release process." in profiles.asked  # a wrapped line joined
    assert verdict.role == "DevOps Engineer" and verdict.title_roles == ["Platform Engineer"] and verdict.title_mismatch
    assert verdict.scores["DevOps Engineer"] == jobs.DUTY_WEIGHT + 1  # "You will ..." counts double
    assert verdict.scores["Platform Engineer"] == 0  # a weak match is no evidence
    assert [e.duty for e in verdict.evidence] == [True, False]


def test_a_posting_without_role_signals_gets_no_verdict_and_says_why() -> None:
    posting = "Great team, free snacks, flexible hours, and a friendly office in the city centre."
    verdict = jobs.classify(posting, FakeProfiles(catalog_of(OPS), {}))
    assert verdict.role is None and verdict.notes and "can't tell" in verdict.notes[0]
    assert "Platform Engineer" in verdict.notes[0]  # it says which roles it knows


def test_an_evenly_split_posting_is_called_a_blend() -> None:
    posting = "Ops role\nYou will run the release pipeline every week. You will carry the pager for our services."
    profiles = FakeProfiles(
        catalog_of(OPS),
        {
            "You will run the release pipeline every week.": [match("DevOps Engineer", "Releases.")],
            "You will carry the pager for our services.": [match("Site Reliability Engineer", "Pager.")],
        },
    )
    verdict = jobs.classify(posting, profiles)
    assert {verdict.role, verdict.blend_with} == {"DevOps Engineer", "Site Reliability Engineer"}
    assert "blend" in verdict.notes[0]


def test_a_title_alone_or_a_huge_paste_is_refused() -> None:
    with pytest.raises(InputError, match="paste the whole job description"):
        jobs.clean("Site Reliability Engineer")
    with pytest.raises(InputError, match="too long"):
        jobs.clean("word " * (jobs.MAX_POSTING_CHARS // 4))
