"""The verdict on a yes/no or leading question: each named check reaches the right verdict on passages of the
test documents (evals/documents/), which the checks were not tuned on, and a premise no passage touches
gets no verdict at all.

The units are built by hand from the documents' own sections, the way the evidence selector hands them on
(a table row keeps its cells), so each check is tried on exactly the passages it should decide from.
"""

from __future__ import annotations

import re

import pytest

from advisor.answering.evidence import Unit, unit_parts
from advisor.answering.plan import make_plan
from advisor.answering.verdict import CHECKS, Verdict, affirmative, claimed_entity, verdict
from advisor.kb.entities import EntityCatalog, learn
from advisor.settings import PROJECT_DIR

TEXTS = {
    "article": (PROJECT_DIR / "knowledge" / "ai-engineer-vs-ml-engineer-vs-data-scientist.md").read_text("utf-8"),
    "data": (PROJECT_DIR / "evals/documents/data-engineer-vs-analytics-engineer-vs-data-analyst.md").read_text("utf-8"),
    "ops": (PROJECT_DIR / "evals/documents/sre-vs-devops-engineer-vs-platform-engineer.md").read_text("utf-8"),
}
CATALOG = EntityCatalog.merged([learn(text) for text in TEXTS.values()])  # all three, as in a shared KB


def section_units(document: str, *headings: str) -> list[Unit]:
    """The units of the sections under ``headings`` (their own text, not their sub-sections), best first:
    one hit per section, ranked in the order given."""
    text = TEXTS[document]
    units = []
    for rank, heading in enumerate(headings):
        match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.M)
        assert match, heading
        body = re.split(r"^#+ ", text[match.end() :], maxsplit=1, flags=re.M)[0]
        parts = unit_parts(body)
        assert parts, heading
        for position, (unit_text, row) in enumerate(parts):
            score = 1.0 - rank / 10 - position / 100
            units.append(Unit(rank, position, unit_text, score=score, row=row, section=f"Guide > {heading}"))
    return units


def decide(question: str, document: str, *headings: str) -> Verdict | None:
    plan = make_plan(question, CATALOG, lambda term: True)
    return verdict(question, plan, section_units(document, *headings), CATALOG)


@pytest.mark.parametrize(
    ("question", "document", "heading", "answer", "check", "backed_by"),
    [
        # source_says: an FAQ answer that opens with Yes/No under a heading asking the same thing
        (
            "I can switch to another of these roles later, right?",
            "data",
            "Can I switch to another of these roles later?",
            "yes",
            "source_says",
            "Yes. Analyst to analytics engineer",
        ),
        # ... and under a heading that asks the reverse ("stuck with it" against "Can I switch"), the other way
        (
            "Once you take one of these roles you're stuck with it, right?",
            "data",
            "Can I switch to another of these roles later?",
            "no",
            "source_says",
            "Yes. Analyst to analytics engineer",
        ),
        (
            "Am I locked into the role I start in?",
            "data",
            "Can I switch to another of these roles later?",
            "no",
            "source_says",
            "Yes. Analyst to analytics engineer",
        ),
        (
            "I need to code as an SRE, right?",
            "ops",
            "Do I need to code?",
            "yes",
            "source_says",
            "Yes for SRE and platform engineering",
        ),
        (
            "All three require a graduate degree, right?",
            "article",
            "Do all three require a graduate degree?",
            "no",
            "source_says",
            "No. AI Engineer and ML Engineer",
        ),
        # background_choice: the asker's background section recommends one entity first
        (
            "Coming from software, I should become a data analyst, right?",
            "data",
            "Coming from software",
            "no",
            "background_choice",
            "Head for data engineering.",
        ),
        (
            "Coming from software, I should head for data engineering, right?",
            "data",
            "Coming from software",
            "yes",
            "background_choice",
            "Head for data engineering.",
        ),
        # figure_claim: money against the entity's own cell, percent, duration, year
        (
            "Data analysts earn $80K–$115K, right?",
            "data",
            "At a glance",
            "yes",
            "figure_claim",
            "Data Analyst $80K–$115K",
        ),
        (
            "Data analysts earn about $150K, right?",
            "data",
            "At a glance",
            "no",
            "figure_claim",
            "Data Analyst $80K–$115K",
        ),
        (
            "Platform engineers earn a median of $200K, don't they?",
            "ops",
            "Side by side",
            "no",
            "figure_claim",
            "Median US base pay $160K",
        ),
        (
            "Toil is capped at 80% of an SRE's time, right?",
            "ops",
            "Site Reliability Engineer (SRE)",
            "no",
            "figure_claim",
            "at 50% of an SRE's time",
        ),
        (
            "Toil is capped at 50% of an SRE's time, right?",
            "ops",
            "Site Reliability Engineer (SRE)",
            "yes",
            "figure_claim",
            "at 50% of an SRE's time",
        ),
        (
            "Software engineers make the switch after about two years, right?",
            "data",
            "Coming from software",
            "no",
            "figure_claim",
            "after about six months",
        ),
        (
            "Software engineers make the switch after about six months, right?",
            "data",
            "Coming from software",
            "yes",
            "figure_claim",
            "after about six months",
        ),
        (
            "Google coined the term SRE in 2010, right?",
            "ops",
            "Site Reliability Engineer (SRE)",
            "no",
            "figure_claim",
            "coined the term in 2003",
        ),
        # table_cell: the premise is in another entity's cell, or in the entity's own
        (
            "Data analysts mostly build and run data pipelines, right?",
            "data",
            "At a glance",
            "no",
            "table_cell",
            "Answer business questions with data",
        ),
        (
            "Analytics engineers mostly turn raw tables into clean, tested data models, right?",
            "data",
            "At a glance",
            "yes",
            "table_cell",
            "Turn raw tables into clean, tested data models",
        ),
        # same_ranking: the premise's own ranking word, and whom the passage ranks with it
        (
            "DevOps engineers are the best paid of the three, right?",
            "ops",
            "Pay",
            "no",
            "same_ranking",
            "SREs are the best paid of the three",
        ),
        (
            "SREs are the best paid of the three, right?",
            "ops",
            "Pay",
            "yes",
            "same_ranking",
            "SREs are the best paid of the three",
        ),
        (
            "SRE is the fastest-growing of the three, right?",
            "ops",
            "Outlook",
            "no",
            "same_ranking",
            "Platform engineering is the fastest-growing",
        ),
        # negated: a passage about the entity, on the premise's words, that negates it
        (
            "DevOps engineers own the SLOs, right?",
            "ops",
            "DevOps Engineer",
            "no",
            "negated",
            "They rarely own reliability targets.",
        ),
        (
            "Data engineers usually see the dashboards their tables end up in, right?",
            "data",
            "A day as a data engineer",
            "no",
            "negated",
            "rarely see the dashboards",
        ),
        # denied_premise: a negative premise against a passage that affirms it
        (
            "SRE interviews don't involve coding, right?",
            "ops",
            "Which one should you pick?",
            "no",
            "denied_premise",
            "SRE interviews usually include a coding round",
        ),
        # other_entity: the premise's words are said of another entity, not of this one
        (
            "SREs own the pipeline that ships changes, right?",
            "ops",
            "DevOps Engineer",
            "no",
            "other_entity",
            "the DevOps engineer owns the pipeline",
        ),
        # opposite: a passage on the premise's topic that says the reverse of one of its words
        ("The DevOps engineer title is growing, right?", "ops", "Outlook", "no", "opposite", "slowly shrinking"),
        (
            "Analysts who move into analytics engineering usually lose money, don't they?",
            "data",
            "What the paychecks look like",
            "no",
            "opposite",
            "usually gains 25% to 35%",
        ),
        (  # a passage that names no entity speaks of all of them
            "ML engineering will be obsolete within five years, won't it?",
            "article",
            "Which is most secure in five years?",
            "no",
            "opposite",
            "will continue to be needed",
        ),
        # comparative: a comparative against the passage that ranks the other way
        ("Platform engineers earn more than SREs, right?", "ops", "Pay", "no", "comparative", "SREs are the best paid"),
        (
            "Analysts who only pull numbers are the least exposed to automation, right?",
            "data",
            "Looking ahead",
            "no",
            "comparative",
            "the most exposed to automation",
        ),
        # supported: a passage about the entity, without a negation, holding most of the premise's words
        (
            "As an analyst who enjoys SQL, I should become an analytics engineer, right?",
            "data",
            "Already an analyst who enjoys SQL",
            "yes",
            "supported",
            "Analytics engineering is your next step.",
        ),
        ("The SRE owns the SLOs, right?", "ops", "DevOps Engineer", "yes", "supported", "the SRE owns the SLOs"),
    ],
)
def test_each_named_check_reaches_the_right_verdict(
    question: str, document: str, heading: str, answer: str, check: str, backed_by: str
) -> None:
    found = decide(question, document, heading)
    assert found is not None, question
    assert (found.answer, found.check) == (answer, check), found
    assert backed_by in found.unit.text  # and the passage that backs it is the one that says so


def test_every_check_in_the_list_is_exercised_above() -> None:
    names = {check.__name__.lstrip("_") for check in CHECKS}
    assert names == {
        "source_says",
        "opposite",
        "background_choice",
        "figure_claim",
        "table_cell",
        "same_ranking",
        "negated",
        "denied_premise",
        "other_entity",
        "comparative",
        "supported",
    }


@pytest.mark.parametrize(
    ("question", "document", "headings"),
    [
        ("Quantum chemists earn the most, right?", "ops", ("Side by side",)),
        ("Platform engineers mostly work remotely, right?", "ops", ("Pay", "The platform engineer")),
        ("Data analysts are on call one week in two, right?", "data", ("Shadowing a data analyst",)),
        ("Analytics engineers prefer tea to coffee, don't they?", "data", ("Inside the analytics engineer's week",)),
    ],
)
def test_a_premise_the_evidence_does_not_touch_gets_no_verdict(
    question: str, document: str, headings: tuple[str, ...]
) -> None:
    assert decide(question, document, *headings) is None


def test_cant_without_claims_a_requirement_that_a_negated_passage_refutes() -> None:
    question = "You can't land any of these roles without a degree, can you?"
    found = decide(question, "data", "Do I need a degree for these jobs?")
    assert found is not None and (found.answer, found.check) == ("no", "negated"), found
    assert affirmative("You can't land these roles without a degree") == "You land these roles requires a degree"


def test_a_year_a_premise_dates_a_beginning_by_meets_the_year_a_passage_dates_it_by() -> None:
    found = decide("DevOps was invented in the 1990s, wasn't it?", "ops", "DevOps Engineer")
    assert found is not None and (found.answer, found.check) == ("no", "figure_claim"), found
    assert "2009" in found.text


@pytest.mark.parametrize(("how_often", "answer"), [("every other week", "no"), ("one week in four", "yes")])
def test_how_often_is_a_share_checked_against_the_passages(how_often: str, answer: str) -> None:
    found = decide(f"An SRE carries the pager {how_often}, right?", "ops", "Site Reliability Engineer (SRE)")
    assert found is not None and (found.answer, found.check) == (answer, "figure_claim"), found


def test_the_ones_who_is_not_a_word_of_the_premise() -> None:
    """ "X are the ones that own Y" claims "X own Y": the cleft's "ones" must not dilute the premise's words."""
    found = decide("DevOps engineers are the ones that own the SLOs, right?", "ops", "DevOps Engineer")
    assert found is not None and found.answer == "no", found


def test_a_universal_the_passage_does_not_make_is_not_confirmed() -> None:
    """ "As much time on the question as on SQL" holds most of the words of "all their time on SQL", not its claim."""
    found = decide("Analysts spend all of their time writing SQL, right?", "data", "Shadowing a data analyst")
    assert found is None or found.answer == "no", found


def test_a_duration_for_an_askers_background_is_checked_against_that_backgrounds_section() -> None:
    question = "Coming from software, it takes about three years to get into data engineering, right?"
    found = decide(question, "data", "Coming from software")
    assert found is not None and (found.answer, found.check) == ("no", "figure_claim"), found


def test_the_claimed_entity_is_not_the_askers_background_nor_what_follows_than() -> None:
    question = "As a data analyst, analytics engineers earn more than data engineers, right?"
    plan = make_plan(question, CATALOG, lambda term: True)
    assert claimed_entity(question, plan, CATALOG) == "Analytics Engineer"
    question = "Platform engineers earn less than SREs, right?"
    assert claimed_entity(question, make_plan(question, CATALOG, lambda term: True), CATALOG) == "Platform Engineer"


def test_a_wrong_on_call_ratio_is_not_confirmed() -> None:
    found = decide("An SRE carries the pager one week in two, right?", "ops", "Closing thoughts")
    assert found is None or found.answer == "no"


def test_a_ranking_of_other_entities_does_not_confirm_a_claim_about_an_unknown_one() -> None:
    found = decide("Product managers earn the most, right?", "ops", "Pay")
    assert found is None or found.answer == "no"


def test_an_faq_whose_heading_is_the_premise_answers_it() -> None:
    found = decide("A DevOps engineer can become an SRE, right?", "ops", "Can a DevOps engineer become an SRE?")
    assert found is not None and (found.answer, found.check) == ("yes", "source_says")


CLINIC = """# Nurse or Paramedic?

| | Nurse | Paramedic |
|---|---|---|
| Median pay | $90K | $60K |
| Setting | Hospital wards | Ambulances |

## Which pays more?

Nurses earn more on paper. At most employers, though, the pay gap between the two is within 15%.

## Which is safest in ten years?

Honestly: both, if you're good. The tools will change, but people who do this work will continue to be needed.

## Can I move between them?

Yes. Many paramedics retrain as nurses. The moves are common; the skills carry over.

## Is a paramedic a medic or a driver?

Both. Paramedics treat patients on scene, and on most crews they also drive the ambulance.
"""
CLINIC_CATALOG = EntityCatalog.merged([learn(CLINIC)])


def clinic_verdict(question: str, *headings: str) -> Verdict | None:
    units = []
    for rank, heading in enumerate(headings):
        body = CLINIC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0] if heading else CLINIC.split("\n## ", 1)[0]
        for position, (text, row) in enumerate(unit_parts(body)):
            units.append(
                Unit(rank, position, text, score=1 - rank / 10, row=row, section=f"Nurse or Paramedic? > {heading}")
            )
    return verdict(question, make_plan(question, CLINIC_CATALOG, lambda term: True), units, CLINIC_CATALOG)


def test_a_passage_that_bounds_the_gap_answers_a_multiple_before_the_table_does() -> None:
    """ "X earn double what Y make": a passage saying the gap is within 15% is the answer, not a ratio of table cells."""
    assert set(CLINIC_CATALOG.names) == {"Nurse", "Paramedic"}
    found = clinic_verdict("At most employers nurses earn double what paramedics make, right?", "", "Which pays more?")
    assert found is not None and found.answer == "no" and "within 15%" in found.text, found


def test_still_is_a_hedge_not_a_word_the_passage_must_hold() -> None:
    """ "Will both still be needed?" is confirmed by "will continue to be needed", which has no "still"."""
    found = clinic_verdict(
        "Both jobs will still be needed in ten years if you're good at them, right?", "Which is safest in ten years?"
    )
    assert found is not None and found.answer == "yes" and found.check == "supported", found
    assert "continue to be needed" in found.text or found.text.startswith("Honestly"), found


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("A paramedic is just a driver, not a real medic, right?", "no"),
        ("A paramedic is only a driver, isn't it?", "no"),
        ("A paramedic is both a medic and a driver, right?", "yes"),
    ],
)
def test_both_answers_an_either_or_faq_against_a_premise_of_one_side(question: str, answer: str) -> None:
    found = clinic_verdict(question, "Is a paramedic a medic or a driver?")
    assert found is not None and found.answer == answer and found.check == "source_says", found
