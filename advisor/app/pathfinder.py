""" "Find my path": a short profile -> which of the knowledge base's roles fits, with cited reasons and next steps.

The roles and backgrounds are whatever the knowledge base's documents compare and advise
(:meth:`Advisor.catalog`): add a document about other careers and its roles are candidates here too.
How it decides, in the open:
1. **Background** (weight 3): the knowledge base is asked which role fits the person's background; the
   roles the answer's opening sentence names get the weight ("Go X" names one; "either X ... or Y" names
   both; a role named after "than" is the one *not* recommended; the reader's own background, which may
   share a role's words, is not a recommendation).
2. **What they enjoy and their skills** (1 per matching passage, at most 3 per role): what the person
   wrote is compared with what the knowledge base says about each role (:mod:`advisor.app.entity_match`);
   the passages that match are shown as the reason.
The questions asked are in :mod:`advisor.app.questions`; the reasons and next steps shown are answers from
:class:`~advisor.core.Advisor` (quoted and cited). What the knowledge base does not cover (other backgrounds, years of experience) is said, never filled in.
It deliberately uses no chat model to decide: the choice must be explainable and the same every time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from advisor.answering.answer import Answer
from advisor.app.entity_match import EntityProfiles, Match, pieces
from advisor.app.questions import (
    BACKGROUND_QUESTION,
    CHOOSE_QUESTION,
    DAY_TO_DAY_QUESTION,
    DEGREE_QUESTION,
    DEGREE_QUESTION_ANY,
    INTERVIEW_QUESTION,
    indefinite,
    role_list,
)
from advisor.errors import InputError
from advisor.kb.entities import Background, EntityCatalog, name_pattern

OTHER_BACKGROUND = "Something else"
DEGREES = ("No degree", "Undergraduate degree", "Graduate degree (MSc/PhD)")

BACKGROUND_WEIGHT = 3.0  # the knowledge base's own advice for a background outweighs any one interest
MAX_INTEREST_PER_ROLE = 3.0  # a long list of hobbies must not outvote that advice on its own
REASON_PASSAGES = 2  # passages quoted per role in "why"
REASON_CHARS = 160  # each cut to this (the full text is in the cited answers below)
MAX_FIELD_CHARS = 1000
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def background_choices(catalog: EntityCatalog) -> list[str]:
    """The backgrounds the knowledge base advises, as the form offers them, then "Something else"."""
    return [_capitalised(b.label) for b in catalog.backgrounds] + [OTHER_BACKGROUND]


def _background(catalog: EntityCatalog, choice: str) -> Background | None:
    return next((b for b in catalog.backgrounds if b.label.lower() == choice.lower()), None)


@dataclass
class Profile:
    background: str
    years: int = 0
    skills: str = ""
    enjoys: str = ""
    degree: str = DEGREES[1]

    def validate(self, backgrounds: Sequence[str]) -> None:
        """``backgrounds``: the choices offered (:func:`background_choices`)."""
        if self.background.lower() not in (b.lower() for b in backgrounds):
            raise InputError(f"background must be one of: {', '.join(backgrounds)}")
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
    matches: dict[str, list[Match]] = field(default_factory=dict)


def _without_reader(line: str, catalog: EntityCatalog, reader: Sequence[str]) -> str:
    """``line`` without the mentions of the reader's background, longest phrase first; a phrase that is only
    part of a longer role name (a background "Ops" and a role "Ops Engineer") is that role, and stays."""
    for phrase in sorted(reader, key=len, reverse=True):
        spans = catalog.spans(line)
        for m in reversed(list(re.finditer(name_pattern(phrase), line, re.I))):
            part_of_role = any(s <= m.start() and m.end() <= e and e - s > m.end() - m.start() for s, e, _ in spans)
            if not part_of_role:
                line = f"{line[: m.start()]} {line[m.end() :]}"
    return line


def recommended_roles(text: str, catalog: EntityCatalog, reader: Sequence[str] = ()) -> list[str]:
    """The roles a background answer recommends: those its first role-naming sentence names, minus any
    named after "than". ``reader``: the background's own words, which say who the advice is for, not what it
    recommends (a background may share a role's name)."""
    for line in text.splitlines():
        line = _without_reader(line, catalog, reader)
        for sentence in SENTENCE_END.split(line):
            named = catalog.find(sentence)
            if not named:
                continue
            before_than = re.split(r"\bthan\b", sentence, maxsplit=1, flags=re.I)[0]
            return catalog.find(before_than) or named[:1]
    return []


def _quote(passage: str) -> str:
    text = " ".join(passage.split())
    return f"“{text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1].rsplit(' ', 1)[0] + '…'}”"


def score(
    profile: Profile, roles: Sequence[str], background_roles: list[str], matches: dict[str, list[Match]]
) -> tuple[dict[str, float], list[str]]:
    """Deterministic scores per role and the reasons behind them. ``matches``: each role's passages that
    what the person enjoys and their skills matched (:meth:`EntityProfiles.by_entity`)."""
    scores = dict.fromkeys(roles, 0.0)
    reasons: list[str] = []
    for role in background_roles:
        if role in scores:
            scores[role] += BACKGROUND_WEIGHT
    if background_roles:
        reasons.append(
            f"For your background ({profile.background}), the knowledge base points to {' or '.join(background_roles)}."
        )
    for role in roles:
        found = matches.get(role, [])
        if found:
            scores[role] += min(len(found), MAX_INTEREST_PER_ROLE)
            quoted = "; ".join(_quote(m.passage) for m in found[:REASON_PASSAGES])
            reasons.append(f"What you enjoy and your skills match what the knowledge base says about {role}: {quoted}")
    return scores, reasons


def recommend(advisor: Any, profile: Profile) -> Recommendation:
    """Profile -> recommendation; every reason from the knowledge base is an answer with its sources."""
    catalog: EntityCatalog = advisor.catalog()
    profile.validate(background_choices(catalog))
    roles = catalog.names
    sections: list[Section] = []
    not_covered: list[str] = []
    background_roles: list[str] = []
    background = _background(catalog, profile.background)
    if background is not None:
        path = advisor.ask(BACKGROUND_QUESTION.format(a=indefinite(background.label), background=background.label))
        if not path.refused:
            sections.append(Section(f"Your background: {background.label}", path))
            background_roles = recommended_roles(path.text, catalog, [background.label, *background.options])
    elif catalog.backgrounds:
        covered = role_list([b.label for b in catalog.backgrounds], "and", limit=None)
        not_covered.append(
            f"The knowledge base advises {len(catalog.backgrounds)} background(s) ({covered}). It says nothing "
            "about yours, so this rests on what you enjoy and your skills alone."
        )
    else:
        not_covered.append(
            "The knowledge base advises no particular background, and so says nothing about yours: this rests "
            "on what you enjoy and your skills alone."
        )
    texts = pieces(f"{profile.enjoys}\n{profile.skills}")
    matches = EntityProfiles(advisor, roles).by_entity(texts) if texts and roles else {}
    scores, reasons = score(profile, roles, background_roles, matches)
    ranked = sorted(roles, key=lambda r: (-scores[r], roles.index(r)))
    best = ranked[0] if ranked else None
    second = ranked[1] if len(ranked) > 1 else None
    role = best if best and scores[best] > 0 else None
    runner_up = second if role and second and scores[second] > 0 and scores[second] >= scores[role] - 1 else None
    if role is None:
        not_covered.append(
            f"Nothing you entered matches the work the knowledge base describes for any of its {len(roles)} "
            "role(s), so it can't point you to one. Read what each role does below and see which one you'd enjoy."
        )
    elif second and scores[second] == scores[role]:
        not_covered.append(
            f"The knowledge base doesn't separate {role} and {second} for this profile: both fit equally."
        )
    if profile.years:
        not_covered.append(
            "The knowledge base doesn't say how years of experience change which role fits, so your "
            f"{profile.years} years don't change this recommendation."
        )

    if role and runner_up:
        sections.append(
            Section(
                f"Choosing between {role} and {runner_up}",
                advisor.ask(CHOOSE_QUESTION.format(first=role, second=runner_up)),
            )
        )
    for candidate in [r for r in (role, runner_up) if r] or roles:
        a = indefinite(candidate)
        sections.append(
            Section(
                f"What {a} {candidate} does day to day", advisor.ask(DAY_TO_DAY_QUESTION.format(a=a, entity=candidate))
            )
        )
    if role:
        sections.append(
            Section(f"Next step: the {role} interview", advisor.ask(INTERVIEW_QUESTION.format(entity=role)))
        )
    if profile.degree != DEGREES[2]:
        question = DEGREE_QUESTION.format(a=indefinite(role), entity=role) if role else DEGREE_QUESTION_ANY
        sections.append(Section("Do you need a graduate degree?", advisor.ask(question)))
    sections = [s for s in sections if not s.answer.refused]
    return Recommendation(role, scores, reasons, sections, not_covered, runner_up, matches)
