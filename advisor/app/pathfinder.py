""" "Find my path": a short profile -> which of the three roles fits, with cited reasons and next steps.

How it decides, in the open:
1. **Background** (weight 3): the knowledge base is asked which path fits the person's background; the
   roles its first role-naming sentence recommends get the weight ("Go AI Engineer"; "either ML Engineer
   ... or AI Engineer" names both; a role after "than" is the one *not* recommended).
2. **What they enjoy and their skills** (1 per matching signal, at most 3 per role): words that the
   article's day-to-day and summary use for each role's work (shipping features on LLMs; training and
   deploying models; SQL, experiments and statistics).
The reasons and next steps shown are answers from :class:`~advisor.core.Advisor` (quoted and cited).
What the article does not cover (other backgrounds, years of experience) is said, never filled in.
It deliberately uses no model to decide: the choice must be explainable and the same every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from advisor.answering.answer import Answer
from advisor.answering.conversation import roles_in
from advisor.errors import InputError

ROLES = ("AI Engineer", "ML Engineer", "Data Scientist")
ARTICLE_NAMES = {"AI Engineer": "an AI Engineer", "ML Engineer": "an ML Engineer", "Data Scientist": "a Data Scientist"}

# The backgrounds the article's "Which path fits which background" section covers, and how to ask about each.
BACKGROUNDS: dict[str, str | None] = {
    "Software engineer": "Which path fits a software engineer?",
    "ML or research-track grad": "Which path fits an ML or research-track grad?",
    "Data scientist or analyst": "Which path fits a data scientist or analyst?",
    "Something else": None,
}
DEGREES = ("No degree", "Undergraduate degree", "Graduate degree (MSc/PhD)")

# Vocabulary the article uses for each role's work (day-to-day sections and the summary table).
INTEREST_SIGNALS: dict[str, dict[str, str]] = {
    "AI Engineer": {
        r"\bproducts?\b|\bfeatures?\b|\bship(ping)?\b": "shipping product features",
        r"\bbuild(ing)?\b|\bsoftware\b|\bcod(e|ing)\b|\bsystems? design\b": "building software systems",
        r"\bllms?\b|\blanguage models?\b|\bfoundation models?\b|\bprompt": "working with LLMs and foundation models",
        r"\bagents?\b|\bretrieval\b|\brag\b|\bevals?\b": "retrieval, agents and evals",
        r"\bapis?\b|\bbackend\b|\bproduction\b": "production engineering",
    },
    "ML Engineer": {
        r"\btrain(ing)?\b|\bmodels? training\b": "training models",
        r"\bgpus?\b|\bcuda\b|\bdistributed\b": "GPUs and training infrastructure",
        r"\bdeep learning\b|\bneural\b|\barchitectures?\b|\bpytorch\b|\btensorflow\b|\bjax\b": "model architectures",
        r"\bresearch\b|\bpapers?\b|\bmath(s|ematics)?\b|\bml theory\b": "research and ML theory",
        r"\boptimi[sz](e|ing|ation)\b|\bdeploy(ing|ment)? models?\b|\bmlops\b": "optimizing and deploying models",
    },
    "Data Scientist": {
        r"\bsql\b|\bqueries\b": "SQL",
        r"\bstat(s|istics|istical)?\b|\bprobability\b|\binference\b": "statistical reasoning",
        r"\bexperiments?\b|\ba/b\b|\bab tests?\b|\bhypothes[ie]s\b": "experiments and A/B tests",
        r"\banaly[sz](e|is|ing|ses|tics)\b|\bdata\b|\bdashboards?\b|\bvisuali[sz]": "analyzing data",
        r"\binsights?\b|\bbusiness\b|\bdecisions?\b|\bpresent(ing|ations?)?\b|\bstakeholders?\b|\bchurn\b": "insights that drive decisions",
    },
}
_COMPILED = {role: [(re.compile(p, re.I), label) for p, label in sig.items()] for role, sig in INTEREST_SIGNALS.items()}
BACKGROUND_WEIGHT = 3.0
MAX_INTEREST_PER_ROLE = 3.0
MAX_FIELD_CHARS = 1000


@dataclass
class Profile:
    background: str
    years: int = 0
    skills: str = ""
    enjoys: str = ""
    degree: str = DEGREES[1]

    def validate(self) -> None:
        if self.background not in BACKGROUNDS:
            raise InputError(f"background must be one of: {', '.join(BACKGROUNDS)}")
        if not 0 <= self.years <= 60:
            raise InputError("years of experience must be between 0 and 60")
        if self.degree not in DEGREES:
            raise InputError(f"degree must be one of: {', '.join(DEGREES)}")
        if len(self.skills) > MAX_FIELD_CHARS or len(self.enjoys) > MAX_FIELD_CHARS:
            raise InputError(f"keep skills and interests under {MAX_FIELD_CHARS} characters each")


@dataclass
class Section:
    heading: str
    answer: Answer


@dataclass
class Recommendation:
    role: str | None
    scores: dict[str, float]
    reasons: list[str]
    sections: list[Section] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)
    runner_up: str | None = None


def recommended_roles(sentence_text: str) -> list[str]:
    """Roles a path sentence recommends: those it names, minus any named after 'than'."""
    for line in sentence_text.splitlines():
        named = roles_in(line)
        if not named:
            continue
        before_than = re.split(r"\bthan\b", line, maxsplit=1, flags=re.I)[0]
        return roles_in(before_than) or named[:1]
    return []


def interest_matches(text: str) -> dict[str, list[str]]:
    """For each role, the work signals found in ``text`` (labels, each once)."""
    found: dict[str, list[str]] = {role: [] for role in ROLES}
    for role, signals in _COMPILED.items():
        for pattern, label in signals:
            if pattern.search(text) and label not in found[role]:
                found[role].append(label)
    return found


def score(profile: Profile, background_roles: list[str]) -> tuple[dict[str, float], list[str]]:
    """Deterministic scores per role and the reasons behind them."""
    scores = dict.fromkeys(ROLES, 0.0)
    reasons: list[str] = []
    for role in background_roles:
        scores[role] += BACKGROUND_WEIGHT
    if background_roles:
        reasons.append(
            f"For your background ({profile.background.lower()}), the article points to "
            f"{' or '.join(background_roles)}."
        )
    matches = interest_matches(f"{profile.enjoys}\n{profile.skills}")
    for role in ROLES:
        if matches[role]:
            scores[role] += min(len(matches[role]), MAX_INTEREST_PER_ROLE)
            reasons.append(f"What you enjoy and your skills match the {role}'s work: {', '.join(matches[role])}.")
    return scores, reasons


def recommend(advisor: Any, profile: Profile) -> Recommendation:
    """Profile -> recommendation; every reason from the article is an answer with its sources."""
    profile.validate()
    sections: list[Section] = []
    not_covered: list[str] = []
    background_roles: list[str] = []
    question = BACKGROUNDS[profile.background]
    if question:
        path = advisor.ask(question)
        if not path.refused:
            sections.append(Section(f"Your background: {profile.background.lower()}", path))
            background_roles = recommended_roles(path.text)
    else:
        not_covered.append(
            "The article only covers three backgrounds (software engineers, ML or research-track grads, "
            "data scientists or analysts). It says nothing about yours, so this rests on what you enjoy and your "
            "skills alone."
        )
    scores, reasons = score(profile, background_roles)
    ranked = sorted(ROLES, key=lambda r: (-scores[r], ROLES.index(r)))
    best, second = ranked[0], ranked[1]
    role: str | None = best if scores[best] > 0 else None
    runner_up = second if role and scores[second] > 0 and scores[second] >= scores[best] - 1 else None
    if role is None:
        not_covered.append(
            "Nothing you entered matches the work the article describes for any of the three roles, so it can't "
            "point you to one. Read each role's day-to-day below and pick the one that sounds appealing."
        )
    elif scores[second] == scores[best]:
        not_covered.append(
            f"The article doesn't separate {best} and {second} for this profile: both fit equally. "
            "Its advice: pick the role whose day-to-day genuinely sounds appealing to you."
        )
    if profile.years:
        not_covered.append(
            "The article doesn't say how years of experience change which role fits, so your "
            f"{profile.years} years don't change this recommendation."
        )

    for candidate in [r for r in (role, runner_up) if r] or list(ROLES):
        name = ARTICLE_NAMES[candidate]
        sections.append(Section(f"What {name} does day to day", advisor.ask(f"What does {name} do day-to-day?")))
    if role:
        sections.append(
            Section(f"Next step: the {role} interview", advisor.ask(f"What do {role} interviews emphasize?"))
        )
    if profile.degree != DEGREES[2]:
        sections.append(
            Section("Do you need a graduate degree?", advisor.ask("Do all three roles require a graduate degree?"))
        )
    sections = [s for s in sections if not s.answer.refused]
    return Recommendation(role, scores, reasons, sections, not_covered, runner_up)
